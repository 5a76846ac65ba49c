/** contentProblem() refuses bytes that are not what the client says it sent, with the codes of the contract. */
import assert from "node:assert/strict";
import { chunksSha256 } from "@pulsecheckpoint/proto/protocol";
import { contentProblem } from "../../src/checkpoints/content_problem.ts";

const saved = {
  sizeBytes: 15,
  sha256: "a".repeat(64),
  chunks: [{ sha256: "b".repeat(64), size: 10 }, { sha256: "c".repeat(64), size: 5 }],
};
const chunkList = chunksSha256(["b".repeat(64), "c".repeat(64)]);

Deno.test("contentProblem() finds none when size and the hashes given agree", () => {
  assert.equal(
    contentProblem({ sizeBytes: 15, sha256: saved.sha256, chunksSha256: chunkList }, saved),
    undefined,
  );
  // A hash the client does not give is not checked.
  assert.equal(contentProblem({ sizeBytes: 15, sha256: "", chunksSha256: "" }, saved), undefined);
});

Deno.test("contentProblem() reports another size as INVALID_ARGUMENT", () => {
  const problem = contentProblem({ sizeBytes: 16, sha256: "", chunksSha256: "" }, saved);
  assert.equal(problem?.code, "INVALID_ARGUMENT");
  assert.equal(
    problem?.message,
    "Cannot save checkpoint: trailer.size_bytes is 16 but 15 bytes arrived; nothing was committed",
  );
});

Deno.test("contentProblem() reports another SHA-256 of the bytes as DATA_LOSS", () => {
  const problem = contentProblem(
    { sizeBytes: 15, sha256: "d".repeat(64), chunksSha256: chunkList },
    saved,
  );
  assert.equal(problem?.code, "DATA_LOSS");
  assert.equal(
    problem?.message,
    `Cannot save checkpoint: the bytes that arrived hash to ${saved.sha256}, not to trailer.sha256 ${
      "d".repeat(64)
    }; nothing was committed`,
  );
});

Deno.test("contentProblem() reports another SHA-256 of the chunk list as DATA_LOSS", () => {
  const other = chunksSha256(["c".repeat(64), "b".repeat(64)]);
  const problem = contentProblem({ sizeBytes: 15, sha256: "", chunksSha256: other }, saved);
  assert.equal(problem?.code, "DATA_LOSS");
  assert.equal(
    problem?.message,
    `Cannot save checkpoint: the chunks that arrived hash to ${chunkList}, not to trailer.chunks_sha256 ${other}; nothing was committed`,
  );
});
