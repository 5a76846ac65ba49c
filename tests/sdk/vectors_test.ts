/**
 * The shared chunking vectors (proto/testdata/chunking.json, which the Python
 * SDK's suite reads too) through the SDK's own chunker and save messages:
 * every case's input, made as the file's `about` says and handed over in the
 * case's pieces, must cut into exactly the listed chunks with their hashes,
 * and a save of it (with the listed chunks of a base) must send exactly the
 * listed messages after its header, then the listed trailer. The bytes the
 * messages carry, with the named chunks put back, are the input again. The
 * same holds with the input handed over as views or as copies, and in pieces
 * of a chunk less one byte (pieces the listed ones never end a chunk with).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CHUNK_BYTES, DATA_MESSAGE_BYTES } from "@pulsecheckpoint/proto/protocol";
import type { SaveCheckpointRequest } from "@pulsecheckpoint/proto/types";
import {
  type CheckpointData,
  hashedChunks,
  type SaveBase,
  saveMessages,
} from "../../sdk/checkpoint_save.ts";

const VECTORS = new URL("../../proto/testdata/chunking.json", import.meta.url);
const BASE_ID = "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV";

interface Chunk {
  offset: number;
  size: number;
  sha256: string;
}

type Message = { data_bytes: number } | { chunk_sha256: string };

interface Case {
  name: string;
  seed: string;
  size: number;
  pieces: number[];
  sha256: string;
  chunks: Chunk[];
  chunks_sha256: string;
  base_chunks: number[];
  messages: Message[];
  trailer: { size_bytes: number; chunks_sha256: string };
}

interface Vectors {
  chunk_bytes: number;
  data_message_bytes: number;
  cases: Case[];
}

const vectors: Vectors = JSON.parse(await Deno.readTextFile(VECTORS));

// The input of a case, as `about` says: the SHA-256 of `${seed}:${k}` (UTF-8)
// for k = 0, 1, 2, ..., concatenated and cut to size.
function inputOf(testCase: Case): Uint8Array {
  const bytes = new Uint8Array(testCase.size);
  for (let k = 0, offset = 0; offset < bytes.length; k++, offset += 32) {
    const block = createHash("sha256").update(`${testCase.seed}:${k}`).digest();
    bytes.set(block.subarray(0, Math.min(32, bytes.length - offset)), offset);
  }
  return bytes;
}

// Pieces of `size` bytes, the last one shorter: what the vectors list must not
// depend on how the input is handed over.
function evenPieces(total: number, size: number): number[] {
  const sizes: number[] = [];
  for (let offset = 0; offset < total; offset += size) sizes.push(Math.min(size, total - offset));
  return sizes;
}

// The input cut into pieces of these sizes: views of it, or a stream of copies.
function piecesOf(input: Uint8Array, sizes: number[], copies: boolean): CheckpointData {
  const pieces: Uint8Array[] = [];
  let offset = 0;
  for (const size of sizes) {
    pieces.push(input.subarray(offset, offset + size));
    offset += size;
  }
  assert.equal(offset, input.length, "the pieces add up to the input");
  return copies ? ReadableStream.from(pieces.map((piece) => piece.slice())) : pieces;
}

function baseOf(testCase: Case): SaveBase | undefined {
  if (testCase.base_chunks.length === 0) return undefined;
  const sha256s = testCase.base_chunks.map((index) => testCase.chunks[index]!.sha256);
  return { checkpointId: BASE_ID, chunkSha256s: new Set(sha256s) };
}

const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function chunksOf(data: CheckpointData): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  let offset = 0;
  for await (const chunk of hashedChunks(data)) {
    // The hash is the SDK's; check it against the bytes it came with too.
    assert.equal(chunk.sha256, sha256Hex(chunk.bytes));
    chunks.push({ offset, size: chunk.bytes.length, sha256: chunk.sha256 });
    offset += chunk.bytes.length;
  }
  return chunks;
}

// The save's messages after the header and before the trailer, as the vectors
// list them, and the bytes they stand for (named chunks taken from the input).
function describe(
  body: SaveCheckpointRequest[],
  testCase: Case,
  input: Uint8Array,
): { messages: Message[]; rebuilt: Uint8Array } {
  const rebuilt = new Uint8Array(testCase.size);
  let offset = 0;
  const messages = body.map((message): Message => {
    if (message.data !== undefined) {
      const data = message.data as Uint8Array;
      rebuilt.set(data, offset);
      offset += data.length;
      return { data_bytes: data.length };
    }
    const named = testCase.chunks.find((chunk) => chunk.sha256 === message.chunk_sha256);
    assert.ok(named, `a name of no chunk of the input: ${JSON.stringify(message)}`);
    rebuilt.set(input.subarray(named.offset, named.offset + named.size), offset);
    offset += named.size;
    return { chunk_sha256: message.chunk_sha256! };
  });
  assert.equal(offset, testCase.size, "the messages stand for every byte");
  return { messages, rebuilt };
}

async function checkSave(testCase: Case, input: Uint8Array, data: CheckpointData): Promise<void> {
  const header = { workerId: "w1", metadata: { case: testCase.name }, idempotencyKey: "k" };
  const sent = await Array.fromAsync(saveMessages(header, data, baseOf(testCase)));
  const [first, ...rest] = sent;
  const last = rest.pop();
  assert.equal(first?.header?.worker_id, "w1");
  assert.equal(first?.header?.expect_trailer, true);
  assert.equal(first?.header?.base_checkpoint_id, baseOf(testCase) ? BASE_ID : "");
  const { messages, rebuilt } = describe(rest, testCase, input);
  assert.deepEqual(messages, testCase.messages);
  assert.deepEqual(last, { trailer: testCase.trailer });
  assert.equal(sha256Hex(rebuilt), testCase.sha256);
}

Deno.test("the SDK's chunker and save messages give exactly what proto/testdata/chunking.json lists", async (t) => {
  // The vectors were made with the contract's sizes: they must still be these.
  assert.equal(vectors.chunk_bytes, CHUNK_BYTES);
  assert.equal(vectors.data_message_bytes, DATA_MESSAGE_BYTES);
  assert.ok(vectors.cases.length >= 8, `only ${vectors.cases.length} cases`);
  for (const testCase of vectors.cases) {
    await t.step(testCase.name, async () => {
      const input = inputOf(testCase);
      assert.equal(sha256Hex(input), testCase.sha256, "the input is made as the vectors say");
      const handovers: [number[], boolean][] = [
        [testCase.pieces, false],
        [testCase.pieces, true],
        [evenPieces(testCase.size, CHUNK_BYTES - 1), false],
      ];
      for (const [sizes, copies] of handovers) {
        assert.deepEqual(await chunksOf(piecesOf(input, sizes, copies)), testCase.chunks);
        await checkSave(testCase, input, piecesOf(input, sizes, copies));
      }
    });
  }
});
