/**
 * Loads on the direct path: `PlanLoad` describes the checkpoint and answers
 * a presigned GET per chunk, a page of up to 1024 chunks at a time; the
 * chunks come straight from the bucket, several at once, and each is checked
 * against its size and SHA-256 before any byte of it is passed on, in order
 * (the last one only once the whole matched the checkpoint's SHA-256). At
 * most `parallelism + 1` chunks are held. A request that fails is retried
 * with backoff, an expired URL (403) or a bucket that stopped answering gets
 * fresh URLs from the runtime; when the bucket cannot be reached from here at
 * all, the load goes the stream path instead.
 *
 * The twin of the Python SDK's direct load.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { CHUNK_BYTES } from "@pulsecheckpoint/proto/protocol";
import type {
  Checkpoint__Output,
  ChunkDownload__Output,
  PlanLoadResponse__Output,
} from "@pulsecheckpoint/proto/types";
import type { Channel } from "./_channel.ts";
import { bucketRequest, BucketUnreachable, notOffered } from "./_direct.ts";
import type { CheckpointStream } from "./checkpoint_load.ts";
import { PulseError, restated } from "./pulse_error.ts";
import { present, toCheckpoint } from "./resources.ts";

const ACTION = "load checkpoint";
/** Fresh URLs for one chunk (expired, or the bucket stopped answering) before the load fails. */
const RENEWALS_MAX = 2;
/** Chunks in a page of PlanLoad. */
const PLAN_CHUNKS_MAX = 1024;

/**
 * Opens a load through the direct path.
 *
 * @param channel the channel (its `direct` state says what is known)
 * @param request the worker, the checkpoint (empty for the latest), the job
 * @param parallelism chunk requests at once
 * @param streamed opens the same checkpoint on the stream path, for a
 * bucket that cannot be reached
 * @returns the checkpoint and its checked bytes; undefined when the runtime
 * offers no direct path
 * @throws {PulseError} NOT_FOUND if there is no such checkpoint; the stream
 * throws DATA_LOSS naming the checkpoint and the chunk whose bytes are wrong
 */
export async function directLoadStream(
  channel: Channel,
  request: { workerId: string; checkpointId: string; jobId: string },
  parallelism: number,
  streamed: (checkpointId: string) => Promise<CheckpointStream>,
): Promise<CheckpointStream | undefined> {
  let first: PlanLoadResponse__Output;
  try {
    first = await channel.unary(ACTION, "PlanLoad", {
      worker_id: request.workerId,
      job_id: request.jobId,
      checkpoint_id: request.checkpointId,
      first_chunk: 0,
    });
  } catch (error) {
    if (!notOffered(error)) throw restated(error, ACTION);
    channel.direct.offered = false;
    return undefined;
  }
  channel.direct.offered = true;
  const described = present(first.checkpoint, "the checkpoint", ACTION);
  const load = new DirectLoad(channel, described, first, parallelism);
  return { checkpoint: toCheckpoint(described), stream: load.bytes(streamed) };
}

class DirectLoad {
  readonly #channel: Channel;
  readonly #checkpoint: Checkpoint__Output;
  readonly #parallelism: number;
  readonly #count: number;
  // The presigned GET of each chunk, by index, as pages arrive.
  readonly #downloads: ChunkDownload__Output[] = [];
  readonly #pages = new Map<number, Promise<void>>();

  constructor(
    channel: Channel,
    checkpoint: Checkpoint__Output,
    first: PlanLoadResponse__Output,
    parallelism: number,
  ) {
    this.#channel = channel;
    this.#checkpoint = checkpoint;
    this.#parallelism = parallelism;
    this.#count = Math.ceil(checkpoint.size_bytes / CHUNK_BYTES);
    this.#store(0, first);
  }

  // The checked chunks in order; the stream path when the bucket cannot be reached.
  async *bytes(
    streamed: (checkpointId: string) => Promise<CheckpointStream>,
  ): AsyncGenerator<Uint8Array> {
    const whole = createHash("sha256");
    const window: Promise<Uint8Array>[] = [];
    let next = 0;
    const fill = () => {
      while (next < this.#count && window.length < this.#parallelism) {
        const task = this.#chunk(next++);
        task.catch(() => {}); // reported when its turn comes; ignored if the reader left
        window.push(task);
      }
    };
    for (let index = 0; index < this.#count; index++) {
      fill();
      let bytes: Uint8Array;
      try {
        bytes = await window.shift()!;
      } catch (error) {
        if (!(error instanceof BucketUnreachable) || index > 0) throw error;
        this.#channel.direct.unreachable({ operation: "load", reason: error.reason });
        yield* (await streamed(this.#checkpoint.checkpoint_id)).stream;
        return;
      }
      whole.update(bytes);
      if (index === this.#count - 1) this.#checkWhole(whole.digest("hex"));
      yield bytes;
    }
    if (this.#count === 0) this.#checkWhole(whole.digest("hex"));
  }

  #checkWhole(sha256: string): void {
    if (sha256 !== this.#checkpoint.sha256) {
      throw this.#dataLoss(`its bytes hash to ${sha256}, not to ${this.#checkpoint.sha256}`);
    }
  }

  // One chunk, fetched and checked; fresh URLs when the bucket refuses an
  // expired one or stops answering.
  async #chunk(index: number): Promise<Uint8Array> {
    for (let renewals = 0;; renewals++) {
      const download = await this.#download(index);
      let answer;
      try {
        answer = await bucketRequest(
          this.#channel.direct,
          this.#channel.retry,
          () => Promise.resolve({ url: download.url, init: { method: "GET" } }),
          true,
        );
      } catch (error) {
        if (!(error instanceof PulseError) || renewals >= RENEWALS_MAX) throw error;
        await this.#renew(index);
        continue;
      }
      if (answer.status === 200) return this.#checked(index, download, answer.body!);
      if (answer.status === 403 && renewals < RENEWALS_MAX) {
        await this.#renew(index);
        continue;
      }
      if (answer.status === 404) {
        throw this.#dataLoss(`chunk ${index} (${download.sha256}) is not in the bucket`);
      }
      throw new PulseError(
        answer.status === 403
          ? "PERMISSION_DENIED"
          : answer.status >= 500
          ? "UNAVAILABLE"
          : "INTERNAL",
        `Cannot load checkpoint ${this.#checkpoint.checkpoint_id}: the bucket answered HTTP ${answer.status} to the download of chunk ${index} (${download.sha256})`,
      );
    }
  }

  #checked(index: number, download: ChunkDownload__Output, bytes: Uint8Array): Uint8Array {
    const size = Math.min(CHUNK_BYTES, this.#checkpoint.size_bytes - index * CHUNK_BYTES);
    if (download.size !== size || bytes.length !== size) {
      throw this.#dataLoss(
        `chunk ${index} (${download.sha256}) arrived with ${bytes.length} bytes, expected ${size}`,
      );
    }
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (sha256 !== download.sha256) {
      throw this.#dataLoss(`chunk ${index} hashes to ${sha256}, not to ${download.sha256}`);
    }
    return bytes;
  }

  async #download(index: number): Promise<ChunkDownload__Output> {
    if (this.#downloads[index] === undefined) {
      await this.#page(Math.floor(index / PLAN_CHUNKS_MAX) * PLAN_CHUNKS_MAX);
    }
    const download = this.#downloads[index];
    if (download === undefined) {
      throw this.#dataLoss(`the runtime's plan names no chunk ${index} of ${this.#count}`);
    }
    return download;
  }

  // Fresh URLs from chunk `index` on.
  async #renew(index: number): Promise<void> {
    this.#pages.delete(index);
    await this.#page(index);
  }

  // A page from chunk `index` on, asked for once however many chunks wait for it.
  #page(index: number): Promise<void> {
    let page = this.#pages.get(index);
    if (page === undefined) {
      page = this.#channel.unary(ACTION, "PlanLoad", {
        worker_id: this.#checkpoint.worker_id,
        job_id: this.#checkpoint.shard?.job_id ?? "",
        checkpoint_id: this.#checkpoint.checkpoint_id,
        first_chunk: index,
      }).then((plan) => this.#store(index, plan), (error) => {
        this.#pages.delete(index);
        throw restated(error, ACTION);
      });
      this.#pages.set(index, page);
    }
    return page;
  }

  #store(first: number, plan: PlanLoadResponse__Output): void {
    const checkpoint = plan.checkpoint;
    if (checkpoint && checkpoint.checkpoint_id !== this.#checkpoint.checkpoint_id) {
      throw this.#dataLoss(`a later plan described checkpoint ${checkpoint.checkpoint_id}`);
    }
    plan.chunks.forEach((chunk, offset) => this.#downloads[first + offset] = chunk);
  }

  #dataLoss(reason: string): PulseError {
    return new PulseError(
      "DATA_LOSS",
      `Cannot load checkpoint ${this.#checkpoint.checkpoint_id}: ${reason}`,
    );
  }
}
