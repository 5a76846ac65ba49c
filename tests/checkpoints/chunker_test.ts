/**
 * The chunker cuts any stream into fixed-size chunks, pulls only on demand,
 * and takes its buffers from a pool that bounds all saves together.
 */
import assert from "node:assert/strict";
import { PulseError } from "../../src/errors.ts";
import { ChunkBuffers } from "../../src/checkpoints/chunk_buffers.ts";
import { chunks, type NamedChunk } from "../../src/checkpoints/chunker.ts";

// Longest wait for a buffer: longer than any case here waits.
const WAIT_MS = 30_000;

// Pieces of the given sizes with consecutive byte values; a string is a named chunk.
async function* pieces(sizes: (number | string)[]): AsyncGenerator<Uint8Array | NamedChunk> {
  let value = 0;
  for (const size of sizes) {
    if (typeof size === "string") {
      yield { sha256: size };
      continue;
    }
    const piece = new Uint8Array(size);
    for (let i = 0; i < size; i++) piece[i] = value++ & 0xff;
    yield piece;
  }
}

// Copies each chunk out and gives its buffer back, as a save does once
// written; a named chunk comes out as its name.
async function collect(source: AsyncIterable<Uint8Array | NamedChunk>, chunkBytes: number) {
  const buffers = new ChunkBuffers(2, chunkBytes, WAIT_MS);
  const out: Uint8Array[] = [];
  const named: string[] = [];
  for await (const chunk of chunks(source, buffers)) {
    if (!(chunk instanceof Uint8Array)) {
      named.push(`${out.length}:${chunk.sha256}`);
      continue;
    }
    out.push(chunk.slice());
    buffers.release(chunk);
  }
  return { out, named };
}

Deno.test("chunks() yields full chunks then the rest, preserving every byte", async () => {
  const { out } = await collect(pieces([3, 10, 1, 0, 7]), 8); // 21 bytes
  assert.deepEqual(out.map((c) => c.length), [8, 8, 5]);
  const joined = new Uint8Array(out.flatMap((c) => [...c]));
  assert.deepEqual([...joined], Array.from({ length: 21 }, (_, i) => i));
});

Deno.test("chunks() yields nothing for an empty stream and one chunk for exactly one", async () => {
  const lengths = async (sizes: number[]) =>
    (await collect(pieces(sizes), 8)).out.map((c) => c.length);
  assert.deepEqual(await lengths([]), []);
  assert.deepEqual(await lengths([0, 0]), []);
  assert.deepEqual(await lengths([8]), [8]);
  assert.deepEqual(await lengths([4, 5]), [8, 1]);
});

Deno.test("chunks() passes named chunks through where they come, at chunk boundaries", async () => {
  const { out, named } = await collect(pieces(["a", 5, 3, "b", "c", 8, 2]), 8);
  assert.deepEqual(out.map((c) => c.length), [8, 8, 2]);
  assert.deepEqual(named, ["0:a", "1:b", "1:c"]);
});

Deno.test("chunks() refuses a named chunk within a chunk of bytes, and gives its buffer back", async () => {
  const buffers = new ChunkBuffers(1, 8, WAIT_MS);
  const iterator = chunks(pieces([8, 3, "b"]), buffers);
  const first = (await iterator.next()).value as Uint8Array;
  buffers.release(first);
  await assert.rejects(
    iterator.next(),
    (error) =>
      error instanceof PulseError && error.code === "INVALID_ARGUMENT" &&
      error.message ===
        "Cannot save checkpoint: chunk_sha256 b follows 3 bytes of a chunk; a named chunk must start at a chunk boundary (every 8 bytes of data)",
  );
  assert.equal(((await chunks(pieces([8]), buffers).next()).value as Uint8Array).length, 8);
});

Deno.test("chunks() reads its source only as its consumer asks", async () => {
  let pulled = 0;
  async function* counting(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 100; i++) {
      pulled++;
      yield new Uint8Array(4);
    }
  }
  const iterator = chunks(counting(), new ChunkBuffers(4, 8, WAIT_MS));
  await iterator.next();
  assert.equal(pulled, 2); // two pieces of 4 fill the first chunk; nothing more is read
  await iterator.return(undefined);
});

Deno.test("chunks of several saves never take more buffers than the pool has; a save waits for one", async () => {
  const buffers = new ChunkBuffers(2, 8, WAIT_MS);
  const a = chunks(pieces([16, 16]), buffers);
  const b = chunks(pieces([16]), buffers);
  const first = (await a.next()).value as Uint8Array;
  const second = (await a.next()).value as Uint8Array;
  let bGot = false;
  const bNext = b.next().then((result) => {
    bGot = true;
    return result;
  });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(bGot, false, "a third buffer was handed out");
  assert.equal(buffers.waiting, 1);
  buffers.release(first);
  const third = (await bNext).value as Uint8Array;
  assert.equal(third.buffer, first.buffer, "the released buffer is reused");
  assert.deepEqual([...third], [0, 1, 2, 3, 4, 5, 6, 7]);
  buffers.release(second);
  buffers.release(third);
  await a.return(undefined);
  await b.return(undefined);
});

Deno.test("a buffer half filled when the source fails is given back to the pool", async () => {
  const buffers = new ChunkBuffers(1, 8, WAIT_MS);
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(3);
    throw new Error("the client went away");
  }
  await assert.rejects(collect(failing(), 8), /went away/);
  const iterator = chunks(failing(), buffers);
  await assert.rejects(iterator.next(), /went away/);
  // The one buffer is free again: another save gets it at once.
  const next = await chunks(pieces([8]), buffers).next();
  assert.equal((next.value as Uint8Array).length, 8);
});
