/**
 * Saves on the direct path: the bytes are cut into the stream path's 8 MiB
 * chunks and hashed; the runtime plans them (`PlanSave`, in parts, under one
 * plan id) and answers a presigned PUT for each chunk it needs; the chunks
 * go straight to the bucket, several at once; then `SaveCheckpoint` commits
 * with the plan id, one `chunk` message per chunk and the trailer. At most
 * `parallelism + 1` chunks are held: a streamed source is read as uploads
 * finish. When the runtime offers no direct path, or the bucket cannot be
 * reached from here, the save goes the stream path, with the bytes read so
 * far sent again when the source cannot be read twice.
 *
 * The twin of the Python SDK's direct save.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { toStruct } from "@pulsecheckpoint/proto";
import { chunksSha256 } from "@pulsecheckpoint/proto/protocol";
import type {
  ChunkUpload__Output,
  PlanSaveResponse__Output,
  SaveCheckpointRequest,
} from "@pulsecheckpoint/proto/types";
import type { Attempts, Channel } from "./_channel.ts";
import { bucketRequest, BucketUnreachable, type DirectState, notOffered } from "./_direct.ts";
import {
  type CheckpointData,
  type HashedChunk,
  hashedChunks,
  type SaveBase,
  type SaveHeader,
  writeSave,
} from "./checkpoint_save.ts";
import { PulseError, restated } from "./pulse_error.ts";
import { type Checkpoint, present, toCheckpoint } from "./resources.ts";

const ACTION = "save checkpoint";
/** Most chunks one PlanSave names. */
const PLAN_CHUNKS_MAX = 1024;
/**
 * Chunks held when the bytes are a Uint8Array: views of it, no copies, so
 * that plans cover 32 chunks at a time instead of one.
 */
const IN_MEMORY_CHUNKS = 64;
/** Renewals of one chunk's URL (an expired URL answers 403) before the save fails. */
const RENEWALS_MAX = 2;

/** How a direct save ended: a checkpoint, or the stream path to take instead. */
export type DirectSaveOutcome =
  | { checkpoint: Checkpoint }
  // `replay` holds the bytes read so far and the rest of the source, for a
  // source that cannot be read twice; undefined: read the source anew.
  | { fallback: true; replay?: AsyncIterable<Uint8Array> };

/**
 * Saves through the direct path.
 *
 * @param channel the channel (its `direct` state says what is known)
 * @param header the worker, metadata, idempotency key, shard
 * @param data the bytes
 * @param base the checkpoint whose chunks need no upload, if any
 * @param options chunk uploads at once, and whether `data` can be read again
 * @returns the checkpoint, or that the stream path is to be taken
 * @throws {PulseError} the plan's or the commit's status, a chunk's upload's failure
 */
export async function directSave(
  channel: Channel,
  header: SaveHeader,
  data: CheckpointData,
  base: SaveBase | undefined,
  options: { parallelism: number; reopenable: boolean },
): Promise<DirectSaveOutcome> {
  return await new DirectSave(channel, header, base, options).run(data);
}

interface Held {
  chunk: HashedChunk;
  // Planned: the plan answered whether it needs an upload.
  planned: boolean;
  uploading: boolean;
}

class DirectSave {
  readonly #channel: Channel;
  readonly #state: DirectState;
  readonly #header: SaveHeader;
  readonly #base: SaveBase | undefined;
  readonly #parallelism: number;
  // Chunks held at most: parallelism + 1 copies, or more views of bytes the
  // caller holds anyway (a Uint8Array), so that one plan covers more chunks.
  #heldMax: number;
  // Reading goes on once fewer are held: a window of views is refilled by
  // halves, so that each plan covers many chunks.
  #readBelow: number;
  readonly #reopenable: boolean;
  #planId = "";
  readonly #refs: { sha256: string; size: number }[] = [];
  readonly #whole = createHash("sha256");
  // The chunks whose bytes are held, by index, in order.
  readonly #held = new Map<number, Held>();
  // Whether bytes were let go before the bucket was known to answer: then
  // a source that cannot be read twice cannot go the stream path.
  #released = false;
  readonly #uploads = new Set<Promise<void>>();
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  #failure: { error: unknown } | undefined;

  constructor(
    channel: Channel,
    header: SaveHeader,
    base: SaveBase | undefined,
    options: { parallelism: number; reopenable: boolean },
  ) {
    this.#channel = channel;
    this.#state = channel.direct;
    this.#header = header;
    this.#base = base;
    this.#parallelism = options.parallelism;
    this.#heldMax = options.parallelism + 1;
    this.#readBelow = this.#heldMax;
    this.#reopenable = options.reopenable;
  }

  async run(data: CheckpointData): Promise<DirectSaveOutcome> {
    if (data instanceof Uint8Array && this.#heldMax < IN_MEMORY_CHUNKS) {
      this.#heldMax = IN_MEMORY_CHUNKS;
      this.#readBelow = IN_MEMORY_CHUNKS / 2;
    }
    const source = hashedChunks(data)[Symbol.asyncIterator]();
    let fallback = false;
    try {
      const existing = await this.#planAll(source);
      if (existing === "not offered") return (fallback = true, this.#fallback(source));
      if (existing !== undefined) return { checkpoint: existing };
      return { checkpoint: await this.#commit() };
    } catch (error) {
      if (!(error instanceof BucketUnreachable)) throw error;
      this.#state.unreachable({ operation: "save", reason: error.reason });
      await Promise.allSettled(this.#uploads);
      fallback = true;
      return this.#fallback(source);
    } finally {
      // Uploads under way end before the save reports; the source closes
      // unless the stream path goes on reading it.
      await Promise.allSettled(this.#uploads);
      if (!fallback || this.#reopenable) await source.return?.(undefined);
    }
  }

  // Reads, plans and uploads every chunk; the checkpoint when the
  // idempotency key already made one, "not offered" when the runtime offers
  // no direct path.
  async #planAll(
    source: AsyncIterator<HashedChunk>,
  ): Promise<Checkpoint | "not offered" | undefined> {
    for (let done = false; !done;) {
      const batch: number[] = [];
      // Until the runtime is known to offer the path, plan one chunk first:
      // a runtime that does not costs one chunk read ahead, not a window.
      const most = this.#state.offered === true ? PLAN_CHUNKS_MAX : 1;
      while (this.#held.size < this.#heldMax && batch.length < most) {
        const next = await source.next();
        if (next.done) {
          done = true;
          break;
        }
        batch.push(this.#take(next.value));
      }
      if (batch.length > 0) {
        const plan = await this.#plan(batch);
        if (plan === undefined) return "not offered";
        if (plan.existing) return toCheckpoint(plan.existing);
        this.#start(batch, plan.uploads);
      }
      await this.#roomForOne(done);
    }
    return undefined;
  }

  #take(chunk: HashedChunk): number {
    const index = this.#refs.length;
    this.#refs.push({ sha256: chunk.sha256, size: chunk.bytes.length });
    this.#whole.update(chunk.bytes);
    this.#held.set(index, { chunk, planned: false, uploading: false });
    return index;
  }

  // One PlanSave for chunks of the save; undefined when the runtime offers no direct path.
  async #plan(indexes: number[]): Promise<PlanSaveResponse__Output | undefined> {
    try {
      const plan = await this.#channel.unary(ACTION, "PlanSave", {
        worker_id: this.#header.workerId,
        job_id: this.#header.shard?.jobId ?? "",
        plan_id: this.#planId,
        idempotency_key: this.#header.idempotencyKey,
        base_checkpoint_id: this.#base?.checkpointId ?? "",
        chunks: indexes.map((index) => this.#refs[index]!),
      });
      this.#state.offered = true;
      this.#planId = plan.plan_id;
      return plan;
    } catch (error) {
      if (this.#planId === "" && notOffered(error)) {
        this.#state.offered = false;
        return undefined;
      }
      throw restated(error, ACTION);
    }
  }

  // Starts the uploads of a planned batch; lets go of the chunks the store has.
  #start(batch: number[], uploads: ChunkUpload__Output[]): void {
    const byIndex = new Map(uploads.map((upload) => [batch[upload.index]!, upload]));
    for (const index of batch) {
      const held = this.#held.get(index)!;
      held.planned = true;
      const upload = byIndex.get(index);
      if (upload === undefined) continue;
      held.uploading = true;
      const task = this.#upload(index, upload).catch((error) => {
        this.#failure ??= { error };
      }).finally(() => this.#uploads.delete(task));
      this.#uploads.add(task);
    }
    this.#releaseStored();
  }

  // Lets go of chunks that need no upload once the bucket is known to answer
  // (or when nothing else would make room).
  #releaseStored(force = false): void {
    if (this.#state.reachable !== true && !force) return;
    for (const [index, held] of this.#held) {
      if (held.uploading || !held.planned) continue;
      this.#held.delete(index);
      if (this.#state.reachable !== true) this.#released = true;
    }
  }

  // Waits until another chunk may be read (or, at the end, every upload is done).
  async #roomForOne(done: boolean): Promise<void> {
    for (;;) {
      this.#throwFailure();
      if (!done && this.#held.size < this.#readBelow) return;
      if (this.#uploads.size === 0) {
        if (done) return;
        this.#releaseStored(true);
        continue;
      }
      await Promise.race(this.#uploads);
    }
  }

  #throwFailure(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  // PUTs one chunk, at most `parallelism` at once; a URL refused (expired) is renewed.
  async #upload(index: number, first: ChunkUpload__Output): Promise<void> {
    await this.#turn();
    try {
      const { bytes } = this.#held.get(index)!.chunk;
      let upload: ChunkUpload__Output | undefined = first;
      for (let renewals = 0; upload !== undefined; renewals++) {
        const current: ChunkUpload__Output = upload;
        const answer = await bucketRequest(this.#state, this.#channel.retry, () =>
          Promise.resolve({
            url: current.url,
            init: {
              method: "PUT",
              body: bytes as Uint8Array<ArrayBuffer>,
              headers: current.headers,
            },
          }), false);
        // 412: the chunk is stored already (If-None-Match); 409: it is being
        // written by another save. Either way the commit checks it.
        if (answer.status < 300 || answer.status === 412 || answer.status === 409) break;
        if (answer.status !== 403 || renewals >= RENEWALS_MAX) {
          throw this.#refused(index, answer.status);
        }
        upload = await this.#renew(index);
      }
    } finally {
      this.#endTurn();
    }
    this.#held.delete(index);
    this.#releaseStored();
  }

  // A fresh URL for one chunk (PlanSave again under the plan id); undefined
  // when the store needs it no longer.
  async #renew(index: number): Promise<ChunkUpload__Output | undefined> {
    const plan = await this.#plan([index]);
    return plan?.uploads[0];
  }

  #refused(index: number, status: number): PulseError {
    const { sha256 } = this.#refs[index]!;
    if (status === 400) {
      // BadDigest: the bytes sent do not hash to the name they were hashed to.
      return new PulseError(
        "DATA_LOSS",
        `Cannot save checkpoint: the bucket refused chunk ${index} (${sha256}) as not matching its SHA-256 (HTTP 400); did the data change during the save?`,
      );
    }
    return new PulseError(
      status === 403 ? "PERMISSION_DENIED" : status >= 500 ? "UNAVAILABLE" : "INTERNAL",
      `Cannot save checkpoint: the bucket answered HTTP ${status} to the upload of chunk ${index} (${sha256})`,
    );
  }

  #turn(): Promise<void> {
    if (this.#running < this.#parallelism) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #endTurn(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#running--;
  }

  // The stream path instead: read anew, or the bytes held and the rest.
  #fallback(source: AsyncIterator<HashedChunk>): DirectSaveOutcome {
    if (this.#reopenable) return { fallback: true };
    if (this.#released || this.#held.size !== this.#refs.length) {
      throw new PulseError(
        "UNAVAILABLE",
        "Cannot save checkpoint: the bucket stopped answering, and the streamed data it already took cannot be read again for the stream path",
      );
    }
    return { fallback: true, replay: replay([...this.#held.values()], source) };
  }

  async #commit(): Promise<Checkpoint> {
    const sha256 = this.#whole.digest("hex");
    return await this.#channel.retrying((attempts) => this.#commitOnce(attempts, sha256));
  }

  #commitOnce(attempts: Attempts, sha256: string): Promise<Checkpoint> {
    return new Promise<Checkpoint>((resolve, reject) => {
      const ended = new AbortController();
      const call = this.#channel.saveCall(ACTION, attempts, (error, response) => {
        ended.abort();
        if (error) reject(error);
        else {
          try {
            resolve(toCheckpoint(present(response?.checkpoint, "the checkpoint", ACTION)));
          } catch (missing) {
            reject(missing);
          }
        }
      });
      writeSave(call, this.#commitMessages(sha256), ended.signal).catch((error) => {
        reject(error);
        call.cancel();
      });
    });
  }

  async *#commitMessages(sha256: string): AsyncGenerator<SaveCheckpointRequest> {
    const shard = this.#header.shard;
    yield {
      header: {
        worker_id: this.#header.workerId,
        metadata: toStruct(this.#header.metadata),
        idempotency_key: this.#header.idempotencyKey,
        expect_trailer: true,
        plan_id: this.#planId,
        shard: shard && {
          job_id: shard.jobId,
          step: shard.step,
          rank: shard.rank,
          world_size: shard.worldSize,
          step_metadata: shard.stepMetadata,
        },
      },
    };
    for (const ref of this.#refs) yield { chunk: ref };
    yield {
      trailer: {
        size_bytes: this.#refs.reduce((sum, ref) => sum + ref.size, 0),
        sha256,
        chunks_sha256: chunksSha256(this.#refs.map((ref) => ref.sha256)),
      },
    };
  }
}

// The chunks held, then the rest of the source.
async function* replay(
  held: Held[],
  source: AsyncIterator<HashedChunk>,
): AsyncGenerator<Uint8Array> {
  try {
    for (const { chunk } of held) yield chunk.bytes;
    for (let next = await source.next(); !next.done; next = await source.next()) {
      yield next.value.bytes;
    }
  } finally {
    await source.return?.(undefined);
  }
}
