/** Manifests round-trip, and a damaged manifest is DATA_LOSS, never a crash. */
import assert from "node:assert/strict";
import { MANIFEST, type Manifest } from "../../src/checkpoints/manifest.ts";
import { PulseError } from "../../src/errors.ts";
import { decodeRecord, encodeRecord } from "../../src/storage/records.ts";

const manifest: Manifest = {
  format: 1,
  checkpoint_id: "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV",
  worker_id: "w1",
  size_bytes: 10,
  sha256: "a".repeat(64),
  metadata: { epoch: 3 },
  idempotency_key: "",
  created_at: "2026-01-01T00:00:00.000Z",
  chunks: [{ sha256: "b".repeat(64), size: 8 }, {
    sha256: "c".repeat(64),
    size: 2,
  }],
};

Deno.test("a manifest record reads back as it was written", () => {
  assert.deepEqual(decodeRecord("k", encodeRecord(manifest), MANIFEST), manifest);
});

Deno.test("a damaged manifest record is data_loss naming the problem", async (t) => {
  const damaged: [string, unknown][] = [
    ["not JSON", "{"],
    ["wrong format", { ...manifest, format: 2 }],
    ["sizes disagree", { ...manifest, size_bytes: 11 }],
    ["bad chunk hash", { ...manifest, chunks: [{ sha256: "xyz", size: 10 }] }],
    ["empty chunk", {
      ...manifest,
      size_bytes: 0,
      chunks: [{ sha256: "b".repeat(64), size: 0 }],
    }],
    ["missing field", { ...manifest, worker_id: undefined }],
  ];
  for (const [name, value] of damaged) {
    await t.step(name, () => {
      const bytes = new TextEncoder().encode(
        typeof value === "string" ? value : JSON.stringify(value),
      );
      assert.throws(
        () => decodeRecord("checkpoints/w1/K.json", bytes, MANIFEST),
        (error: unknown) =>
          error instanceof PulseError && error.code === "DATA_LOSS" &&
          error.message.startsWith(
            "Cannot read manifest checkpoints/w1/K.json: ",
          ),
      );
    });
  }
});
