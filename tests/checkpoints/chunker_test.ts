/** The chunker cuts any stream into fixed-size chunks and pulls only on demand. */
import assert from "node:assert/strict";
import { chunks } from "../../src/checkpoints/chunker.ts";

async function* pieces(sizes: number[]): AsyncGenerator<Uint8Array> {
  let value = 0;
  for (const size of sizes) {
    const piece = new Uint8Array(size);
    for (let i = 0; i < size; i++) piece[i] = value++ & 0xff;
    yield piece;
  }
}

async function collect(source: AsyncIterable<Uint8Array>, chunkBytes: number) {
  const out: Uint8Array[] = [];
  for await (const chunk of chunks(source, chunkBytes)) out.push(chunk);
  return out;
}

Deno.test("chunks() yields full chunks then the rest, preserving every byte", async () => {
  const out = await collect(pieces([3, 10, 1, 0, 7]), 8); // 21 bytes
  assert.deepEqual(out.map((c) => c.length), [8, 8, 5]);
  const joined = new Uint8Array(out.flatMap((c) => [...c]));
  assert.deepEqual([...joined], Array.from({ length: 21 }, (_, i) => i));
});

Deno.test("chunks() yields nothing for an empty stream and one chunk for exactly one", async () => {
  assert.deepEqual(await collect(pieces([]), 8), []);
  assert.deepEqual(await collect(pieces([0, 0]), 8), []);
  assert.deepEqual((await collect(pieces([8]), 8)).map((c) => c.length), [8]);
  assert.deepEqual((await collect(pieces([4, 5]), 8)).map((c) => c.length), [
    8,
    1,
  ]);
});

Deno.test("chunks() gives each chunk its own buffer", async () => {
  const [first, second] = await collect(pieces([16]), 8);
  assert.notEqual(first!.buffer, second!.buffer);
  assert.equal(first![0], 0);
  assert.equal(second![0], 8);
});

Deno.test("chunks() reads its source only as its consumer asks", async () => {
  let pulled = 0;
  async function* counting(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 100; i++) {
      pulled++;
      yield new Uint8Array(4);
    }
  }
  const iterator = chunks(counting(), 8);
  await iterator.next();
  assert.equal(pulled, 2); // two pieces of 4 fill the first chunk; nothing more is read
  await iterator.return(undefined);
});
