/** Input checks: ids, metadata, page sizes and page tokens. */
import assert from "node:assert/strict";
import { PulseError } from "../src/errors.ts";
import { ID_LENGTH_MAX, METADATA_BYTES_MAX, PAGE_SIZE_MAX } from "../src/limits.ts";
import {
  decodePageToken,
  encodePageToken,
  pageSize,
  validateId,
  validateMetadata,
} from "../src/validation.ts";

function invalid(message: RegExp) {
  return (error: unknown) =>
    error instanceof PulseError && error.code === "INVALID_ARGUMENT" &&
    message.test(error.message);
}

Deno.test("validateId() accepts ids of [A-Za-z0-9._-] starting with a letter or digit", () => {
  for (
    const id of ["w", "worker-1", "Rank_07.a", "9", "a".repeat(ID_LENGTH_MAX)]
  ) {
    validateId("register worker", "worker_id", id);
  }
});

Deno.test("validateId() rejects what could escape an object key, naming field and limit", () => {
  for (
    const id of ["../x", "a/b", ".hidden", "-x", "_x", "a b", "é", "a\u0000"]
  ) {
    assert.throws(
      () => validateId("register worker", "worker_id", id),
      invalid(
        /^Cannot register worker: worker_id ".*" must be characters of \[A-Za-z0-9._-\]/,
      ),
    );
  }
  assert.throws(
    () => validateId("register worker", "worker_id", ""),
    invalid(/^Cannot register worker: worker_id is empty$/),
  );
  assert.throws(
    () => validateId("register worker", "worker_id", "a".repeat(ID_LENGTH_MAX + 1)),
    invalid(
      new RegExp(
        `worker_id is ${ID_LENGTH_MAX + 1} characters, limit is ${ID_LENGTH_MAX}$`,
      ),
    ),
  );
});

Deno.test("validateMetadata() limits the JSON size of metadata", () => {
  validateMetadata("save checkpoint", "metadata", {
    blob: "x".repeat(METADATA_BYTES_MAX - 20),
  });
  assert.throws(
    () =>
      validateMetadata("save checkpoint", "metadata", {
        blob: "x".repeat(METADATA_BYTES_MAX),
      }),
    invalid(
      new RegExp(
        `^Cannot save checkpoint: metadata is \\d+ bytes, limit is ${METADATA_BYTES_MAX}$`,
      ),
    ),
  );
});

Deno.test("validateMetadata() rejects NaN and infinite numbers, naming where they are", () => {
  validateMetadata("register worker", "metadata", { loss: 0.5, tags: [1, { x: -2e300 }] });
  for (
    const [metadata, where] of [
      [{ loss: Number.NaN }, "metadata.loss is NaN"],
      [{ a: { b: [1, Infinity] } }, "metadata.a.b\\[1\\] is Infinity"],
      [{ low: -Infinity }, "metadata.low is -Infinity"],
    ] as const
  ) {
    assert.throws(
      () => validateMetadata("register worker", "metadata", metadata),
      invalid(
        new RegExp(`^Cannot register worker: ${where}; metadata numbers must be finite$`),
      ),
    );
  }
});

Deno.test("pageSize() defaults 0 and rejects sizes above the maximum", () => {
  assert.equal(pageSize("list workers", 0), 100);
  assert.equal(pageSize("list workers", 7), 7);
  assert.throws(
    () => pageSize("list workers", PAGE_SIZE_MAX + 1),
    invalid(
      new RegExp(
        `page_size is ${PAGE_SIZE_MAX + 1}, limit is ${PAGE_SIZE_MAX}$`,
      ),
    ),
  );
});

Deno.test("page tokens round-trip and are refused outside their listing", () => {
  const token = encodePageToken("checkpoints/w1/ABC.json");
  assert.match(token, /^[A-Za-z0-9_-]+$/);
  assert.equal(
    decodePageToken("list", token, "checkpoints/w1/"),
    "checkpoints/w1/ABC.json",
  );
  assert.equal(decodePageToken("list", "", "checkpoints/w1/"), undefined);
  assert.throws(
    () => decodePageToken("list", token, "checkpoints/w2/"),
    invalid(/page_token/),
  );
  assert.throws(
    () => decodePageToken("list", "%%%", "x/"),
    invalid(/page_token/),
  );
});
