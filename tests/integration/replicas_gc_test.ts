/**
 * Several runtime processes (replicas) on one S3 bucket: one collector at a
 * time. Each replica names itself (`pulse_replica_info`, its start-up log);
 * a GC lease held by another (here written by hand, as a replica that died
 * holding it leaves it) makes every replica skip RunGc, naming the holder in
 * its answer and counting outcome `skipped`, until the lease expires and one
 * takes it over; three replicas asked to collect at once, round after round,
 * never run two collections at the same time (their runs' intervals, from
 * their logs, do not overlap).
 *
 * Runs against s3rver (started here) and every server of
 * PULSE_TEST_S3_SERVERS. s3rver ignores conditional writes, so there the
 * lease is exact only within one process: the concurrent rounds run only on
 * servers that enforce them (moto, SeaweedFS).
 */
import assert from "node:assert/strict";
import { GC_LOCK_PREFIX } from "../../src/keys.ts";
import { lockKeyOf } from "../../src/storage/store_lock.ts";
import { randomBytes } from "../support/bytes.ts";
import { type RawClient, rawClient } from "../support/raw_client.ts";
import { metricSum, s3TestServers, stopRuntime } from "../support/s3_targets.ts";
import type { RuntimeProcess } from "../support/runtime.ts";
import { startReplicas } from "../support/replicas.ts";
import { withTarget } from "../support/s3_targets.ts";
import { PutObjectCommand } from "@aws-sdk/client-s3";

const LEASE_MS = 6000;
// How long the lease a dead replica left lasts.
const DEAD_LEASE_MS = 2000;

interface GcAnswer {
  skipped: boolean;
  holder: string;
  chunks_deleted: string | number;
}

function runGc(client: RawClient, graceMs: number): Promise<GcAnswer> {
  return new Promise((resolve, reject) => {
    client.RunGc(
      { grace_ms: graceMs },
      (error: Error | null, answer: GcAnswer) => error ? reject(error) : resolve(answer),
    );
  });
}

// The [start, end] of each collection a replica ran, from its log.
function runIntervals(replica: RuntimeProcess): [number, number][] {
  return replica.logs.filter((line) => line.includes("Garbage collection finished")).map(
    (line) => {
      const event = JSON.parse(line);
      const end = Date.parse(event.timestamp);
      return [end - event.duration_ms, end];
    },
  );
}

for (const server of s3TestServers()) {
  Deno.test(`[${server.name}] replicas name themselves, skip GC while another holds the GC lease, and one takes it over once it expired`, async () => {
    await withTarget(server, "replicas-gc", async (target) => {
      const replicas = await startReplicas(target, 3, { PULSE_STORAGE_LEASE_MS: String(LEASE_MS) });
      const clients = replicas.map((replica) => rawClient(replica.grpcAddress));
      try {
        for (const [index, replica] of replicas.entries()) {
          assert.equal(await metricSum(replica, "pulse_replica_info", { replica: `r${index}` }), 1);
          assert.ok(
            replica.logs.some((line) =>
              line.includes("Runtime started") && line.includes(`"replica_id":"r${index}"`)
            ),
          );
        }
        const rt = replicas[0]!.client();
        await rt.registerWorker("w1");
        const doomed = await rt.saveCheckpoint({ workerId: "w1", data: randomBytes(5000) });
        await rt.deleteCheckpoint("w1", doomed.checkpointId);
        rt.close();

        // A lease left by a replica that died while it collected.
        const dead = {
          holder: "dead-replica",
          token: "t",
          generation: 1,
          acquired_at: new Date().toISOString(),
          expires_at: new Date(Date.now() + DEAD_LEASE_MS).toISOString(),
          released: false,
        };
        await target.client.send(
          new PutObjectCommand({
            Bucket: target.bucket,
            Key: target.prefix + lockKeyOf(GC_LOCK_PREFIX, 1),
            Body: JSON.stringify(dead),
          }),
        );
        for (const [index, client] of clients.entries()) {
          const answer = await runGc(client, 0);
          assert.equal(answer.skipped, true);
          assert.equal(answer.holder, "dead-replica");
          assert.equal(Number(answer.chunks_deleted), 0);
          assert.equal(
            await metricSum(replicas[index]!, "pulse_gc_runs_total", { outcome: "skipped" }),
            1,
          );
        }
        await new Promise((resolve) =>
          setTimeout(resolve, Date.parse(dead.expires_at) - Date.now() + 200)
        );
        const takeover = await runGc(clients[1]!, 0);
        assert.equal(takeover.skipped, false);
        assert.equal(Number(takeover.chunks_deleted), 1);
      } finally {
        for (const client of clients) client.close();
        await Promise.all(replicas.map(stopRuntime));
      }
    });
  });

  if (server.name === "s3rver") continue; // no conditional writes: see the module doc
  Deno.test(`[${server.name}] three replicas asked to collect at once never run two collections at the same time`, async () => {
    await withTarget(server, "replicas-gc-race", async (target) => {
      const replicas = await startReplicas(target, 3, { PULSE_STORAGE_LEASE_MS: String(LEASE_MS) });
      const clients = replicas.map((replica) => rawClient(replica.grpcAddress));
      try {
        let ran = 0;
        let skipped = 0;
        for (let round = 0; round < 5; round++) {
          const answers = await Promise.all(clients.map((client) => runGc(client, 0)));
          const ranNow = answers.filter((answer) => !answer.skipped).length;
          assert.ok(ranNow >= 1, `round ${round}: every replica skipped`);
          for (const [index, answer] of answers.entries()) {
            if (!answer.skipped) continue;
            assert.match(answer.holder, /^r[0-2]$/);
            assert.notEqual(answer.holder, `r${index}`);
          }
          ran += ranNow;
          skipped += answers.length - ranNow;
        }
        const intervals = replicas.flatMap(runIntervals).sort((a, b) => a[0] - b[0]);
        assert.equal(intervals.length, ran);
        for (let i = 1; i < intervals.length; i++) {
          assert.ok(
            intervals[i]![0] >= intervals[i - 1]![1],
            `collections overlapped: ${JSON.stringify(intervals)}`,
          );
        }
        console.log(`  ${server.name}: ${ran} collections ran, ${skipped} skipped`);
        assert.ok(skipped >= 1, "no replica ever found the lease held");
      } catch (error) {
        // What each replica did with the lease, to tell why.
        for (const [index, replica] of replicas.entries()) {
          for (const line of replica.logs.filter((l) => /WARN|ERROR|lock|Garbage/.test(l))) {
            console.log(`r${index}: ${line}`);
          }
        }
        throw error;
      } finally {
        for (const client of clients) client.close();
        await Promise.all(replicas.map(stopRuntime));
      }
    });
  });
}
