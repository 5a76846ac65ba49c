/**
 * Three replicas on one S3 bucket under load, one of them killed with
 * SIGKILL again and again: 8 workers of the Python SDK, given all three
 * addresses, save (a quarter of the saves more than one chunk, each under an
 * idempotency key of its own), heartbeat and load back, while every few
 * seconds one replica after the other is killed with -9 and restarted on its
 * address. No call fails to the caller (the SDK moves it to another replica,
 * a save retried under its key waits for or takes over the claim of the
 * dead replica), every acknowledged save loads back byte-exact afterwards,
 * and every checkpoint listed loads (none is partial).
 *
 * PULSE_REPLICAS_KILL_SECONDS (default 40) and PULSE_REPLICAS_KILL_EVERY_MS
 * (default 8000) change the run. Only on servers that enforce conditional
 * writes (PULSE_TEST_S3_SERVERS: moto, SeaweedFS).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { configuredServers, withTarget } from "../support/s3_targets.ts";
import { freePort, startReplica } from "../support/replicas.ts";
import { inheritedEnv, type RuntimeProcess } from "../support/runtime.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SECONDS = Number(Deno.env.get("PULSE_REPLICAS_KILL_SECONDS") ?? 40);
const KILL_EVERY_MS = Number(Deno.env.get("PULSE_REPLICAS_KILL_EVERY_MS") ?? 8000);
const WORKERS = 8;
const REPLICAS = 3;
const SETTINGS = {
  // A dead replica's claims lapse in 3 s.
  PULSE_STORAGE_LEASE_MS: "3000",
};

interface LoadResult {
  saved: [string, string, string][];
  errors: string[];
  calls: number;
  verified: number;
  listed: number;
}

for (const server of configuredServers()) {
  Deno.test(`[${server.name}] 3 replicas, one killed with -9 every ${KILL_EVERY_MS / 1000} s for ${SECONDS} s: no SDK call fails, every acknowledged save loads byte-exact`, async () => {
    await withTarget(server, "replicas-kill", async (target) => {
      const ports = Array.from({ length: REPLICAS }, freePort);
      const replicas: RuntimeProcess[] = await Promise.all(
        ports.map((port, index) => startReplica(target, index, SETTINGS, port)),
      );
      const load = new Deno.Command("python3", {
        args: [
          `${ROOT}tests/support/replicas_load.py`,
          ports.map((port) => `grpc://127.0.0.1:${port}`).join(","),
          String(SECONDS),
          String(WORKERS),
        ],
        clearEnv: true,
        env: inheritedEnv(),
        stdout: "piped",
        stderr: "piped",
      }).output();
      // Every process, the killed ones too, for what their logs tell.
      const all = [...replicas];
      let kills = 0;
      let running = true;
      const killer = (async () => {
        const end = Date.now() + SECONDS * 1000;
        while (running && Date.now() + KILL_EVERY_MS < end) {
          await new Promise((resolve) => setTimeout(resolve, KILL_EVERY_MS));
          const index = kills % REPLICAS;
          await replicas[index]!.kill();
          kills++;
          // Restarted under a new id, on the address the clients know.
          replicas[index] = await startReplica(
            target,
            index,
            { ...SETTINGS, PULSE_REPLICA_ID: `r${index}-${kills}` },
            ports[index],
          );
          all.push(replicas[index]!);
        }
      })();
      try {
        const output = await load;
        running = false;
        await killer;
        const stderr = new TextDecoder().decode(output.stderr);
        assert.equal(output.code, 0, stderr);
        const result: LoadResult = JSON.parse(new TextDecoder().decode(output.stdout));
        const takeovers = all.flatMap((replica) => replica.logs)
          .filter((line) => line.includes("Idempotency claim taken over")).length;
        console.log(
          `  ${server.name}: ${kills} kills, ${result.saved.length} saves acknowledged, ${result.calls} calls, ${result.listed} listed, ${takeovers} claims of killed replicas taken over`,
        );
        assert.deepEqual(result.errors, []);
        assert.ok(kills >= 3, `only ${kills} kills`);
        assert.ok(result.saved.length > 0);
        assert.equal(result.verified, result.saved.length);
        // Each acknowledged save is listed once: no key made two checkpoints.
        assert.equal(result.listed, result.saved.length);
      } finally {
        running = false;
        await killer.catch(() => {});
        await Promise.all(replicas.map((replica) => replica.stop()));
      }
    });
  });
}
