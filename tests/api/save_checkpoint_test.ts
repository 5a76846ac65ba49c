/**
 * The save-stream decoder and the trailer check, without a runtime: messages
 * shaped as grpc-js hands them over are fed in, and what comes out (the
 * header, the bytes and chunk names in order, the trailer) or the error is
 * checked.
 */
import assert from "node:assert/strict";
import type {
  SaveCheckpointRequest__Output,
  SaveCheckpointTrailer__Output,
} from "@pulsecheckpoint/proto/types";
import { openSaveStream, trailerProblem } from "../../src/api/save_checkpoint.ts";
import { PulseError } from "../../src/errors.ts";

const HEADER: SaveCheckpointRequest__Output = {
  payload: "header",
  header: {
    worker_id: "w1",
    metadata: { fields: {} },
    idempotency_key: "k",
    expect_trailer: true,
    base_checkpoint_id: "",
  },
};
const TRAILER: SaveCheckpointTrailer__Output = { size_bytes: 3, sha256: "", chunks_sha256: "" };

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
  const stream = await openSaveStream(messages([
    HEADER,
    data([1, 2]),
    { payload: "chunk_sha256", chunk_sha256: "ab".repeat(32) },
    data([3]),
    { payload: "trailer", trailer: TRAILER },
  ]));
  assert.equal(stream.header.worker_id, "w1");
  assert.equal(stream.trailer(), undefined, "no trailer before the data ended");
  const pieces = await drain(stream.data);
  assert.deepEqual(pieces.map((p) => p instanceof Uint8Array ? [...p] : p), [
    [1, 2],
    { sha256: "ab".repeat(32) },
    [3],
  ]);
  assert.equal(stream.receivedBytes(), 3);
  assert.deepEqual(stream.trailer(), TRAILER);
});

Deno.test("openSaveStream() refuses a stream whose first message is not a header", async () => {
  await rejectsWith(openSaveStream(messages([data([1])])), "INVALID_ARGUMENT", /first message/);
  await rejectsWith(openSaveStream(messages([])), "INVALID_ARGUMENT", /first message/);
});

Deno.test("a stream that ends without the trailer its header promised is ABORTED", async () => {
  const stream = await openSaveStream(messages([HEADER, data([1, 2])]));
  await rejectsWith(drain(stream.data), "ABORTED", /ended after 2 bytes without a trailer/);
});

Deno.test("without expect_trailer, the end of the stream ends the data", async () => {
  const header = { ...HEADER, header: { ...HEADER.header!, expect_trailer: false } };
  const stream = await openSaveStream(messages([header, data([7])]));
  assert.equal((await drain(stream.data)).length, 1);
  assert.equal(stream.trailer(), undefined);
});

Deno.test("a message after the trailer, or a second header, is INVALID_ARGUMENT naming it", async () => {
  const late = await openSaveStream(
    messages([HEADER, { payload: "trailer", trailer: TRAILER }, data([1])]),
  );
  await rejectsWith(drain(late.data), "INVALID_ARGUMENT", /message 2 follows the trailer/);
  const twice = await openSaveStream(messages([HEADER, data([1]), HEADER]));
  await rejectsWith(drain(twice.data), "INVALID_ARGUMENT", /message 2 carries a header/);
});

Deno.test("a call that fails mid-stream is ABORTED with grpc-js's reason", async () => {
  const stream = await openSaveStream(messages([HEADER, data([1])], new Error("Cancelled")));
  await rejectsWith(drain(stream.data), "ABORTED", /ended before its last message \(Cancelled\)/);
});

Deno.test("trailerProblem() passes matching content and names each mismatch", () => {
  const saved = { sizeBytes: 3, sha256: "aa", chunksSha256: "bb" };
  assert.equal(trailerProblem(undefined, saved), undefined);
  assert.equal(
    trailerProblem({ size_bytes: 3, sha256: "aa", chunks_sha256: "bb" }, saved),
    undefined,
  );
  assert.equal(trailerProblem(TRAILER, saved), undefined, "empty hashes are not checked");
  const size = trailerProblem({ ...TRAILER, size_bytes: 4 }, saved);
  assert.equal(size?.code, "INVALID_ARGUMENT");
  assert.match(size!.message, /trailer.size_bytes is 4 but 3 bytes arrived/);
  const sha = trailerProblem({ ...TRAILER, sha256: "cc" }, saved);
  assert.equal(sha?.code, "DATA_LOSS");
  assert.match(sha!.message, /hash to aa, not to trailer.sha256 cc/);
  const chunks = trailerProblem({ ...TRAILER, chunks_sha256: "dd" }, saved);
  assert.equal(chunks?.code, "DATA_LOSS");
  assert.match(chunks!.message, /chunks that arrived hash to bb, not to trailer.chunks_sha256 dd/);
});
