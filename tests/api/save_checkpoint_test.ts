/**
 * The save-stream decoder, without a runtime: messages shaped as grpc-js
 * hands them over are fed in, and what comes out (the header, the bytes and
 * chunk names in order, what the trailer says) or the error is checked.
 */
import assert from "node:assert/strict";
import type {
  SaveCheckpointRequest__Output,
  SaveCheckpointTrailer__Output,
} from "@pulsecheckpoint/proto/types";
import { openSaveStream } from "../../src/api/save_checkpoint.ts";
import { PulseError } from "../../src/errors.ts";

const HEADER: SaveCheckpointRequest__Output = {
  payload: "header",
  header: {
    worker_id: "w1",
    metadata: { fields: {} },
    idempotency_key: "k",
    expect_trailer: true,
    base_checkpoint_id: "",
    plan_id: "",
    shard: null,
  },
};
const TRAILER: SaveCheckpointTrailer__Output = { size_bytes: 3, sha256: "", chunks_sha256: "" };
const IDLE_MS = 60_000;

function data(bytes: number[]): SaveCheckpointRequest__Output {
  return { payload: "data", data: Buffer.from(bytes) };
}

async function* messages(
  list: SaveCheckpointRequest__Output[],
  failure?: Error,
): AsyncGenerator<SaveCheckpointRequest__Output> {
  yield* list;
  if (failure) throw failure;
}

async function drain(iterable: AsyncIterable<unknown>): Promise<unknown[]> {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof PulseError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("openSaveStream() yields data and chunk names in order and keeps the trailer", async () => {
  const stream = await openSaveStream(
    messages([
      HEADER,
      data([1, 2]),
      { payload: "chunk_sha256", chunk_sha256: "ab".repeat(32) },
      data([3]),
      { payload: "trailer", trailer: TRAILER },
    ]),
    IDLE_MS,
  );
  assert.equal(stream.header.worker_id, "w1");
  let settled = false;
  stream.expected.then(() => settled = true);
  await Promise.resolve();
  assert.equal(settled, false, "what the trailer says is known only once the data ended");
  const pieces = await drain(stream.data);
  assert.deepEqual(pieces.map((p) => p instanceof Uint8Array ? [...p] : p), [
    [1, 2],
    { sha256: "ab".repeat(32) },
    [3],
  ]);
  assert.equal(stream.receivedBytes(), 3);
  assert.deepEqual(await stream.expected, { sizeBytes: 3, sha256: "", chunksSha256: "" });
});

Deno.test("openSaveStream() refuses a stream whose first message is not a header", async () => {
  await rejectsWith(
    openSaveStream(messages([data([1])]), IDLE_MS),
    "INVALID_ARGUMENT",
    /first message/,
  );
  await rejectsWith(openSaveStream(messages([]), IDLE_MS), "INVALID_ARGUMENT", /first message/);
});

Deno.test("a stream that ends without the trailer its header promised is ABORTED", async () => {
  const stream = await openSaveStream(messages([HEADER, data([1, 2])]), IDLE_MS);
  await rejectsWith(drain(stream.data), "ABORTED", /ended after 2 bytes without a trailer/);
});

Deno.test("without expect_trailer, the end of the stream ends the data", async () => {
  const header = { ...HEADER, header: { ...HEADER.header!, expect_trailer: false } };
  const stream = await openSaveStream(messages([header, data([7])]), IDLE_MS);
  assert.equal((await drain(stream.data)).length, 1);
  assert.equal(await stream.expected, undefined);
});

Deno.test("a message after the trailer, or a second header, is INVALID_ARGUMENT naming it", async () => {
  const late = await openSaveStream(
    messages([HEADER, { payload: "trailer", trailer: TRAILER }, data([1])]),
    IDLE_MS,
  );
  await rejectsWith(drain(late.data), "INVALID_ARGUMENT", /message 2 follows the trailer/);
  const twice = await openSaveStream(messages([HEADER, data([1]), HEADER]), IDLE_MS);
  await rejectsWith(drain(twice.data), "INVALID_ARGUMENT", /message 2 carries a header/);
});

Deno.test("a call that fails mid-stream is ABORTED with grpc-js's reason", async () => {
  const stream = await openSaveStream(
    messages([HEADER, data([1])], new Error("Cancelled")),
    IDLE_MS,
  );
  await rejectsWith(drain(stream.data), "ABORTED", /ended before its last message \(Cancelled\)/);
});

Deno.test("a save silent for longer than the idle timeout is ABORTED naming the setting", async () => {
  async function* stalled(): AsyncGenerator<SaveCheckpointRequest__Output> {
    yield HEADER;
    yield data([1]);
    await new Promise(() => {}); // never another message
  }
  const stream = await openSaveStream(stalled(), 50);
  await rejectsWith(
    drain(stream.data),
    "ABORTED",
    /no message for 50 ms after 1 bytes \(server\.save_idle_timeout_ms\); nothing was committed/,
  );
});
