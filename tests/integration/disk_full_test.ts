/**
 * A full disk under the embedded store, produced for real: the runtime's data
 * directory is a 24 MiB tmpfs. A save that does not fit fails with
 * RESOURCE_EXHAUSTED naming the store, leaves no temporary file behind, and
 * harms nothing stored before; once space is freed, saves work again.
 *
 * Mounting needs root (CAP_SYS_ADMIN); where the test process may not mount,
 * the test is ignored and says so.
 */
import assert from "node:assert/strict";
import { PulseError } from "@pulsecheckpoint/sdk";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { startRuntime } from "../support/runtime.ts";

const MIB = 1024 * 1024;

async function run(command: string, ...args: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, { args, stderr: "null" }).output();
    return success;
  } catch {
    return false; // no such command
  }
}

const dir = await Deno.makeTempDir({ prefix: "pulse-disk-full-" });
const dataDir = `${dir}/data`;
await Deno.mkdir(dataDir);
const mounted = await run("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", dataDir);
if (!mounted) {
  console.warn("cannot mount a tmpfs here (not root?): the full-disk test is ignored");
  await Deno.remove(dir, { recursive: true });
}

Deno.test({
  name:
    "a save that does not fit on the disk fails with RESOURCE_EXHAUSTED and harms nothing stored",
  ignore: !mounted,
  async fn() {
    const runtime = await startRuntime({ dir });
    const rt = runtime.client();
    try {
      await rt.registerWorker("w1");
      const kept = randomBytes(4 * MIB);
      const before = await rt.saveCheckpoint({ workerId: "w1", data: kept });

      await assert.rejects(
        rt.saveCheckpoint({ workerId: "w1", data: randomBytes(32 * MIB) }),
        (error) =>
          error instanceof PulseError && error.code === "RESOURCE_EXHAUSTED" &&
          /^Cannot write chunks\/[0-9a-f]{2}\/[0-9a-f]{64}: the disk of fs:.*\/data is full \(No space left on device/
            .test(error.message),
      );
      assert.deepEqual(
        await Array.fromAsync(Deno.readDir(`${dataDir}/.tmp`)),
        [],
        "temporary files left behind",
      );
      const loaded = await rt.loadCheckpoint("w1");
      assert.equal(loaded.checkpoint.checkpointId, before.checkpointId);
      assert.equal(sha256Hex(loaded.data), sha256Hex(kept));

      // The failed save's chunks are unreferenced: collecting them frees the disk.
      await rt.runGc({ graceMs: 0 });
      const after = await rt.saveCheckpoint({ workerId: "w1", data: randomBytes(8 * MIB) });
      assert.equal(after.sizeBytes, 8 * MIB);
    } finally {
      rt.close();
      await runtime.stop();
      await run("umount", dataDir);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
