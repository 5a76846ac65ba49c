/**
 * One fs store serves one runtime: a second runtime process started on the
 * data directory of a running one exits 1 with one line on stderr naming the
 * first (its pid, since when it holds the directory), and harms nothing;
 * once the first has exited, by SIGTERM or by kill -9 (the kernel releases
 * its flock), a runtime starts there again and finds what it had saved.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startFlags, startRuntime } from "../support/runtime.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

// Runs a runtime in `dir` that is expected to exit at once; its status and stderr.
async function refusedRuntime(dir: string): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      ...await startFlags(),
      `${ROOT}main.ts`,
      "serve",
      "--grpc-addr",
      "127.0.0.1:0",
      "--metrics-addr",
      "127.0.0.1:0",
    ],
    cwd: dir,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("a second runtime on the data directory of a running one refuses to start, naming it; after a kill -9 or a stop the directory is free again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pulse-lock-" });
  try {
    const first = await startRuntime({ dir });
    const rt = first.client();
    let saved;
    try {
      await rt.registerWorker("w1");
      saved = await rt.saveCheckpoint({ workerId: "w1", data: new Uint8Array([1, 2, 3]) });
      const { since } = JSON.parse(await Deno.readTextFile(`${dir}/data/.lock`));
      const refused = await refusedRuntime(dir);
      assert.equal(refused.code, 1);
      assert.equal(
        refused.stderr,
        `Cannot start: the data directory ./data is in use by another runtime (pid ${first.process.pid}, since ${since}); one fs store serves one runtime\n`,
      );
      // The first runtime still serves, its checkpoint intact.
      assert.deepEqual((await rt.loadCheckpoint("w1")).data, new Uint8Array([1, 2, 3]));
    } finally {
      rt.close();
      await first.kill(); // SIGKILL: no cleanup, the kernel releases the lock
    }

    const second = await startRuntime({ dir });
    const rt2 = second.client();
    try {
      const loaded = await rt2.loadCheckpoint("w1");
      assert.equal(loaded.checkpoint.checkpointId, saved.checkpointId);
    } finally {
      rt2.close();
      assert.equal(await second.stop(), 0);
    }
    const third = await startRuntime({ dir });
    assert.equal(await third.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
