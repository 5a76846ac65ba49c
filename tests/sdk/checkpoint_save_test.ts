/**
 * Saves through a real runtime in every shape of bytes a save accepts
 * (Uint8Array, ReadableStream, async and sync iterables, a Node Readable,
 * files), a file that cannot be saved, and a source that fails or is
 * abandoned mid-save.
 */
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { PulseError, type Runtime } from "@pulsecheckpoint/sdk";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { grpcRequests, waitFor, withWorker } from "./_helpers.ts";
import { tempFileSync } from "../support/temp_dirs.ts";

const MIB = 1024 * 1024;

Deno.test("saveCheckpointFile() of a missing file or a directory fails before any call", async () => {
  await withWorker(async (rt, runtime) => {
    const dir = await Deno.makeTempDir();
    try {
      await assert.rejects(
        rt.saveCheckpointFile(`${dir}/missing.bin`, { workerId: "w1" }),
        (error) => (error as { code?: string }).code === "ENOENT",
      );
      await assert.rejects(
        rt.saveCheckpointFile(dir, { workerId: "w1" }),
        (error) =>
          error instanceof PulseError && error.code === "INVALID_ARGUMENT" &&
          error.message === `Cannot save checkpoint: ${dir} is not a file`,
      );
      assert.equal(await grpcRequests(runtime, "SaveCheckpoint"), 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("saveCheckpoint() takes a ReadableStream, an async iterable and an iterable", async (t) => {
  await withWorker(async (rt) => {
    const bytes = randomBytes(10 * MIB + 3);
    const pieces = [
      bytes.subarray(0, 1),
      bytes.subarray(1, 5 * MIB),
      bytes.subarray(5 * MIB),
    ];
    const shapes: [string, () => Parameters<Runtime["saveCheckpoint"]>[0]["data"]][] = [
      ["a ReadableStream pulled a piece at a time", () => {
        let next = 0;
        return new ReadableStream<Uint8Array>({
          pull(controller) {
            if (next < pieces.length) controller.enqueue(pieces[next++]!);
            else controller.close();
          },
        }, { highWaterMark: 0 });
      }],
      ["an async generator", () =>
        (async function* () {
          for (const piece of pieces) yield piece;
        })()],
      ["an array of pieces", () => pieces],
      ["a Node Readable of a file's Buffers", () => {
        const path = tempFileSync("pulse-save-shape-");
        Deno.writeFileSync(path, bytes);
        return createReadStream(path);
      }],
    ];
    for (const [name, data] of shapes) {
      await t.step(name, async () => {
        const saved = await rt.saveCheckpoint({ workerId: "w1", data: data() });
        assert.equal(saved.sizeBytes, bytes.length);
        assert.equal(saved.sha256, sha256Hex(bytes));
        const loaded = await rt.loadCheckpoint("w1", {
          checkpointId: saved.checkpointId,
        });
        assert.equal(sha256Hex(loaded.data), sha256Hex(bytes));
      });
    }
  });
});

Deno.test("a save whose stream fails rejects with the stream's error, cancels the source and commits nothing", async () => {
  await withWorker(async (rt) => {
    const failure = new Error("disk on fire");
    let cancelled: unknown;
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 3) controller.enqueue(randomBytes(MIB));
        else controller.error(failure);
      },
      cancel(reason) {
        cancelled = reason ?? "cancelled";
      },
    });
    await assert.rejects(
      rt.saveCheckpoint({ workerId: "w1", data: stream }),
      failure,
    );
    assert.equal(cancelled, undefined); // an errored stream is not cancelled again
    assert.equal((await rt.listCheckpoints("w1")).items.length, 0);

    // A source the runtime stops reading (unknown worker) is cancelled.
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(randomBytes(MIB));
      },
      cancel(reason) {
        cancelled = reason ?? "cancelled";
      },
    });
    await assert.rejects(
      rt.saveCheckpoint({ workerId: "ghost", data: endless }),
      (error) => error instanceof PulseError && error.code === "NOT_FOUND",
    );
    await waitFor("the source to be cancelled", () => cancelled !== undefined);
  });
});
