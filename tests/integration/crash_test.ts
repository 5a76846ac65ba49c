/**
 * `kill -9` at seeded random moments of a save, then a restart: no partial
 * checkpoint is ever listed, and every checkpoint acknowledged before a kill
 * loads intact afterwards.
 *
 * PULSE_CRASH_POINTS sets the number of kills (default 50) and
 * PULSE_CRASH_SEED the seed (default: random, printed, so a failure can be
 * replayed).
 */
import assert from "node:assert/strict";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { seededRandom } from "../support/random.ts";
import { startRuntime } from "../support/runtime.ts";

const MIB = 1024 * 1024;
const POINTS = Number(Deno.env.get("PULSE_CRASH_POINTS") ?? 50);
const SEED = Number(
  Deno.env.get("PULSE_CRASH_SEED") ?? Math.floor(Math.random() * 2 ** 31),
);

Deno.test(`kill -9 during saves never leaves a partial checkpoint (${POINTS} kills, seed ${SEED})`, async () => {
  console.log(
    `crash test: PULSE_CRASH_SEED=${SEED} PULSE_CRASH_POINTS=${POINTS}`,
  );
  const random = seededRandom(SEED);
  const dir = await Deno.makeTempDir({ prefix: "pulse-crash-" });
  // Every checkpoint known to be committed: acknowledged, or listed after a restart.
  const committed = new Map<string, string>(); // checkpoint id -> sha256
  try {
    for (let point = 0; point <= POINTS; point++) {
      const runtime = await startRuntime({ dir });
      const rt = runtime.client();
      if (point === 0) await rt.registerWorker("w1");

      // Whatever is listed must be whole: load the checkpoints this round
      // has not seen yet, and a few older ones, and check their bytes.
      const listed = new Map<string, string>();
      let pageToken = "";
      do {
        const page = await rt.listCheckpoints("w1", {
          pageSize: 500,
          pageToken,
        });
        for (const c of page.items) listed.set(c.checkpointId, c.sha256);
        pageToken = page.nextPageToken;
      } while (pageToken);
      for (const [id, sha] of committed) {
        assert.equal(listed.get(id), sha, `lost ${id}`);
      }
      const toVerify = [...listed.keys()].filter((id) => !committed.has(id) || random() < 0.1);
      if (point === POINTS) toVerify.push(...committed.keys());
      for (const id of new Set(toVerify)) {
        const { checkpoint, data } = await rt.loadCheckpoint("w1", {
          checkpointId: id,
        });
        assert.equal(
          sha256Hex(data),
          checkpoint.sha256,
          `${id} does not match its hash`,
        );
        assert.equal(data.length, checkpoint.sizeBytes);
        committed.set(id, checkpoint.sha256);
      }
      if (point === POINTS) {
        rt.close();
        await runtime.stop();
        break;
      }

      // One acknowledged save, then one cut short by SIGKILL at a random moment.
      const acked = await rt.saveCheckpoint({
        workerId: "w1",
        data: randomBytes(Math.floor(random() * 20 * MIB)),
      });
      committed.set(acked.checkpointId, acked.sha256);
      const doomed = rt.saveCheckpoint({
        workerId: "w1",
        data: randomBytes(Math.floor(random() * 40 * MIB)),
      });
      doomed.catch(() => {}); // the kill fails it, or it finishes first
      await new Promise((resolve) => setTimeout(resolve, random() * 400));
      await runtime.kill();
      const survivor = await doomed.catch(() => undefined);
      if (survivor) committed.set(survivor.checkpointId, survivor.sha256);
      rt.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
