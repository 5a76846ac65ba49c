/**
 * SHA-256 of chunks without stalling the runtime: in a pool of Web Workers
 * (`WorkerHasher`, what the runtime uses, `storage.hash_workers`), so that
 * hashing the bytes of saves and loads takes no time from the event loop
 * that answers heartbeats; or on this thread a slice at a time
 * (`INLINE_HASHER`, for tools and tests that start no workers), letting
 * other calls run between slices.
 */
import { createHash, type Hash } from "node:crypto";
import { setImmediate } from "node:timers/promises";
import { CHUNK_BYTES, HASH_SLICE_BYTES } from "../limits.ts";

/** Hashes chunks, and whole streams fed in order. */
export interface Hasher {
  /** The hex SHA-256 of `bytes`, which must not change until it settles. */
  sha256(bytes: Uint8Array): Promise<string>;
  /** A running SHA-256, fed in order. */
  stream(): StreamHash;
}

/** A running SHA-256: each `update` is taken in call order. */
export interface StreamHash {
  /** Adds `bytes` (which must not change until it settles). */
  update(bytes: Uint8Array): Promise<void>;
  /** The hex SHA-256 of everything added; the hash is then done. */
  digest(): Promise<string>;
}

/** Hashes on this thread, {@linkcode HASH_SLICE_BYTES} at a time. */
export const INLINE_HASHER: Hasher = {
  async sha256(bytes) {
    return (await hashInSlices(createHash("sha256"), bytes)).digest("hex");
  },
  stream() {
    const hash = createHash("sha256");
    let fed: Promise<unknown> = Promise.resolve();
    return {
      update: (bytes) => {
        const update = fed.then(() => hashInSlices(hash, bytes));
        fed = update;
        return update.then(() => {});
      },
      digest: async () => {
        await fed;
        return hash.digest("hex");
      },
    };
  },
};

async function hashInSlices(hash: Hash, bytes: Uint8Array): Promise<Hash> {
  for (let offset = 0; offset < bytes.length; offset += HASH_SLICE_BYTES) {
    if (offset > 0) await setImmediate();
    hash.update(bytes.subarray(offset, offset + HASH_SLICE_BYTES));
  }
  return hash;
}

/**
 * A request to a hash worker. Bytes travel in shared slots: `length` bytes at
 * the start of slot `slot`, lent to the request until it is answered.
 */
export type HashRequest =
  | { id: number; op: "sha256"; slot: number; length: number }
  | { id: number; op: "update"; session: number; slot: number; length: number }
  | { id: number; op: "digest"; session: number };

/** A hash worker's answer: the hex digest ("" for an update), or what failed. */
export type HashReply = { id: number; hex: string } | { id: number; error: string };

type WorkerMessage = HashRequest | { op: "slots"; slots: SharedArrayBuffer[] };
type Pending = { resolve: (hex: string) => void; reject: (error: Error) => void };
type Bytes = { slot: number; length: number };

// The body of each hash worker: SHA-256 of the bytes it is sent, one-shot or
// as running hashes (sessions) fed in order. Its source becomes the worker's
// module (a blob URL, which needs no read permission and no file beside the
// compiled executable), with node:crypto's createHash imported for it.
function hashWorkerMain(create: typeof createHash): void {
  const scope = globalThis as unknown as {
    onmessage: (event: MessageEvent<WorkerMessage>) => void;
    postMessage: (reply: HashReply) => void;
  };
  let slots: SharedArrayBuffer[] = [];
  const sessions = new Map<number, Hash>();
  const bytesOf = ({ slot, length }: Bytes) => new Uint8Array(slots[slot]!, 0, length);
  const answer = (request: HashRequest): string => {
    switch (request.op) {
      case "sha256":
        return create("sha256").update(bytesOf(request)).digest("hex");
      case "update": {
        let hash = sessions.get(request.session);
        if (hash === undefined) sessions.set(request.session, hash = create("sha256"));
        hash.update(bytesOf(request));
        return "";
      }
      case "digest": {
        const hash = sessions.get(request.session) ?? create("sha256");
        sessions.delete(request.session);
        return hash.digest("hex");
      }
    }
  };
  scope.onmessage = (event) => {
    const message = event.data;
    if (message.op === "slots") {
      slots = message.slots;
      return;
    }
    try {
      scope.postMessage({ id: message.id, hex: answer(message) });
    } catch (error) {
      scope.postMessage({ id: message.id, error: String(error) });
    }
  };
}

const WORKER_URL = URL.createObjectURL(
  new Blob([`import { createHash } from "node:crypto";\n(${hashWorkerMain})(createHash);\n`], {
    type: "application/javascript",
  }),
);

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** One Web Worker and the requests it has not answered yet. */
class HashWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  // Why the worker stopped, once it has: later requests fail at once.
  #failed: Error | undefined;

  constructor(slots: SharedArrayBuffer[]) {
    this.#worker = new Worker(WORKER_URL, { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<HashReply>) => {
      const reply = event.data;
      const pending = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if ("error" in reply) pending?.reject(new Error(`Hash worker failed: ${reply.error}`));
      else pending?.resolve(reply.hex);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#failAll(new Error(`Hash worker failed: ${event.message}`));
    };
    this.#worker.postMessage({ op: "slots", slots } satisfies WorkerMessage);
  }

  /** Requests not answered yet: how busy the worker is. */
  get load(): number {
    return this.#pending.size;
  }

  request(request: DistributiveOmit<HashRequest, "id">): Promise<string> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...request, id } as HashRequest);
    });
  }

  terminate(): void {
    this.#worker.terminate();
    this.#failAll(new Error("Hash worker terminated: the runtime is shutting down"));
  }

  #failAll(error: Error): void {
    this.#failed = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

/**
 * Hashes in a pool of Web Workers: each chunk to the least busy, each stream
 * to one. Bytes are copied into a few shared buffers of a chunk each (two per
 * worker), lent to one request at a time, so the pool's memory is fixed: a
 * buffer moved to a worker per chunk would be freed only when that worker's
 * garbage collector ran, which let 2 GiB of saves grow the runtime to 1.4 GiB.
 */
export class WorkerHasher implements Hasher {
  readonly #workers: HashWorker[];
  readonly #slots: SharedArrayBuffer[];
  readonly #free: number[];
  readonly #waiting: ((slot: number) => void)[] = [];
  #nextSession = 0;

  /** @param workers how many Web Workers (`storage.hash_workers`) */
  constructor(workers: number) {
    this.#slots = Array.from({ length: 2 * workers }, () => new SharedArrayBuffer(CHUNK_BYTES));
    this.#free = this.#slots.map((_, slot) => slot);
    this.#workers = Array.from({ length: workers }, () => new HashWorker(this.#slots));
  }

  sha256(bytes: Uint8Array): Promise<string> {
    const worker = this.#leastBusy();
    return this.#lent(bytes, (lent) => worker.request({ op: "sha256", ...lent }));
  }

  stream(): StreamHash {
    // A session stays on one worker, which takes its updates in order.
    const worker = this.#leastBusy();
    const session = this.#nextSession++;
    let fed: Promise<unknown> = Promise.resolve();
    return {
      update: (bytes) => {
        const update = fed.then(() =>
          this.#lent(bytes, (lent) => worker.request({ op: "update", session, ...lent }))
        );
        fed = update.catch(() => {});
        return update.then(() => {});
      },
      digest: async () => {
        await fed;
        return await worker.request({ op: "digest", session });
      },
    };
  }

  /** Stops the workers; requests not answered fail. */
  close(): void {
    for (const worker of this.#workers) worker.terminate();
  }

  // Copies `bytes` into a free slot for as long as `use` runs.
  async #lent(bytes: Uint8Array, use: (lent: Bytes) => Promise<string>): Promise<string> {
    if (bytes.length > CHUNK_BYTES) {
      throw new Error(
        `Cannot hash ${bytes.length} bytes at once: a chunk is at most ${CHUNK_BYTES}`,
      );
    }
    const slot = this.#free.pop() ??
      await new Promise<number>((resolve) => this.#waiting.push(resolve));
    try {
      new Uint8Array(this.#slots[slot]!, 0, bytes.length).set(bytes);
      return await use({ slot, length: bytes.length });
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next(slot);
      else this.#free.push(slot);
    }
  }

  #leastBusy(): HashWorker {
    return this.#workers.reduce((best, worker) => worker.load < best.load ? worker : best);
  }
}
