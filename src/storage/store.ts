/**
 * The one storage abstraction: a flat namespace of keys holding immutable
 * byte strings, as S3 has it. Every backend (fs, S3) implements it and passes
 * the same contract suite (`tests/storage/store_contract.ts`).
 *
 * Keys are `/`-separated paths of `[A-Za-z0-9._-]` segments, built by the
 * domain modules from validated ids. Storage knows nothing of what they mean.
 */

/** What a listing or a head tells about one object. */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

/** A byte range of an object: `length` bytes from `offset`. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Options of `ObjectStore.list`. */
export interface ListOptions {
  /** Only keys that sort after this one. */
  startAfter?: string;
  /** At most this many keys (default and maximum: `LIST_KEYS_MAX`). */
  limit?: number;
}

/** Most keys one `list` call returns, as S3's ListObjectsV2 does. */
export const LIST_KEYS_MAX = 1000;

/** A presigned request: the URL, and the headers a client must send with it. */
export interface PresignedRequest {
  url: string;
  headers: Record<string, string>;
}

/**
 * Transfers straight between clients and the store, for stores that can sign
 * requests (S3): what the direct path of saves and loads needs.
 */
export interface DirectTransfer {
  /**
   * A PUT of `key` that only bytes hashing to `sha256` (hex) can complete
   * where the store checks checksums, and that overwrites nothing where it
   * enforces conditional writes.
   */
  presignPut(key: string, sha256: string, expiresInSeconds: number): Promise<PresignedRequest>;
  /** A GET of `key`. */
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  /**
   * The object's size and, where the store keeps one, the SHA-256 (hex) it
   * checked on upload; undefined when the key is absent.
   */
  describe(key: string): Promise<{ size: number; sha256?: string } | undefined>;
}

/**
 * A store of objects. Failures that retrying cannot mend are thrown as
 * `PulseError`s with code `unavailable`; an absent object is not a failure.
 */
export interface ObjectStore {
  /** Describes the store for logs, e.g. `fs:/var/lib/pulse`. */
  readonly description: string;
  /** The direct path, where the store has one (S3). */
  readonly direct?: DirectTransfer;
  /** Writes an object, replacing any object under the key, atomically. */
  put(key: string, data: Uint8Array): Promise<void>;
  /**
   * Writes an object only if the key is absent, atomically.
   * @returns true if this call wrote it, false if an object was already there
   */
  putIfAbsent(key: string, data: Uint8Array): Promise<boolean>;
  /** Reads an object, or a range of it; undefined if the key is absent. */
  get(key: string, range?: ByteRange): Promise<Uint8Array | undefined>;
  /** Describes an object; undefined if the key is absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Lists objects whose keys start with `prefix`, in ascending key order. */
  list(prefix: string, options?: ListOptions): Promise<ObjectInfo[]>;
  /** Deletes an object; deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Releases connections and handles. */
  close(): Promise<void>;
}

/** Lists every object under `prefix`, page by page. */
export async function* listAll(
  store: ObjectStore,
  prefix: string,
): AsyncGenerator<ObjectInfo> {
  let startAfter: string | undefined;
  while (true) {
    const page = await store.list(prefix, { startAfter, limit: LIST_KEYS_MAX });
    yield* page;
    if (page.length < LIST_KEYS_MAX) return;
    startAfter = page[page.length - 1]!.key;
  }
}
