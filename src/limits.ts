/**
 * Every fixed limit of the runtime, in one place.
 *
 * Limits an operator may want to change live in the configuration instead
 * (`src/config.ts`); these are the ones that shape the wire format, the
 * storage layout and memory use.
 */

const KIB = 1024;
const MIB = 1024 * KIB;

/** Longest worker id or dataset name. */
export const ID_LENGTH_MAX = 128;
/** Worker ids and dataset names: they become parts of object keys. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Longest idempotency key. */
export const IDEMPOTENCY_KEY_LENGTH_MAX = 256;
/**
 * How often a save waits between two looks at the claim of its idempotency
 * key that a save on another replica holds: for that save's manifest, or for
 * its lease to lapse.
 */
export const IDEMPOTENCY_CLAIM_POLL_MS = 200;
/** Longest dataset path (a URI). */
export const DATASET_PATH_LENGTH_MAX = 2048;

/** Size of every chunk but the last one of a checkpoint: part of the wire contract. */
export { CHUNK_BYTES, METADATA_BYTES_MAX } from "@pulsecheckpoint/proto/protocol";
/**
 * Bytes hashed at a time before other calls get a turn: a chunk is hashed in
 * slices, so a save or load never holds a heartbeat back for more than one.
 */
export const HASH_SLICE_BYTES = 1 * MIB;
/**
 * Bytes of a stored chunk read at a time when a save compares it with the
 * bytes it sent before reusing it: the memory of one verification.
 */
export const CHUNK_VERIFY_SLICE_BYTES = 1 * MIB;
/** Most chunk writes in flight per save (`storage.writes_in_flight`). */
export const CHUNK_WRITES_IN_FLIGHT_MAX = 32;
/** Most chunk buffers all saves share (`storage.chunk_buffers`): 32 GiB. */
export const CHUNK_BUFFERS_MAX = 4096;
/** Most chunks fetched ahead per load (`storage.reads_ahead`). */
export const CHUNK_READS_AHEAD_MAX = 32;
/** Largest gRPC message the runtime accepts or sends. */
export const GRPC_MESSAGE_BYTES_MAX = 16 * MIB;
/** Smallest HTTP/2 receive window (`server.receive_window_bytes`): the protocol's default. */
export const RECEIVE_WINDOW_BYTES_MIN = 65_535;
/** Largest HTTP/2 receive window: 64 MiB of unread bytes per call. */
export const RECEIVE_WINDOW_BYTES_MAX = 64 * MIB;
/** A connection's receive window, in stream windows: room for several calls at full speed. */
export const CONNECTION_WINDOW_STREAMS = 4;

/** Page size when a list request gives none. */
export const PAGE_SIZE_DEFAULT = 100;
/** Largest page a list request may ask for. */
export const PAGE_SIZE_MAX = 500;

/** Most bytes of request metadata (gRPC headers, names plus values) a call may carry. */
export const REQUEST_METADATA_BYTES_MAX = 8 * KIB;
/** Most entries of request metadata a call may carry. */
export const REQUEST_METADATA_ENTRIES_MAX = 64;

/** Manifests the garbage collector reads at once while it marks. */
export const GC_MANIFEST_READS_IN_FLIGHT = 16;
/** Chunk deletions the garbage collector runs at once while it sweeps. */
export const GC_DELETES_IN_FLIGHT = 16;

/** Most worker records a runtime keeps in its read-through cache. */
export const REGISTRY_CACHE_ENTRIES_MAX = 10_000;
/** Worker records the background count of ACTIVE workers reads per tick. */
export const REGISTRY_SCAN_RECORDS_PER_TICK = 500;

/** Most ranks of a job step (world_size). */
export const JOB_WORLD_SIZE_MAX = 65_536;
/** Longest wait between two looks of a step commit at its shards. */
export const JOB_COMMIT_POLL_MS_MAX = 1000;
/** Chunks a scrub reads and verifies at once (each up to a chunk in memory), and manifests it reads at once. */
export const SCRUB_READS_IN_FLIGHT = 4;
/** Checkpoints a scrub lists per bad chunk; it counts them all. */
export const SCRUB_CHECKPOINTS_PER_CHUNK_MAX = 1000;
