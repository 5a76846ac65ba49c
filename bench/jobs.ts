/**
 * What committing a job step costs beside the saves themselves: RANKS ranks
 * (SDK clients of their own) each save SHARD_MIB of bytes as their shard of
 * one step and then commit it, against RANKS independent checkpoint saves of
 * the same bytes (worker checkpoints), in the same run on one runtime (fs
 * store, its defaults). Rounds alternate the two; medians of the rounds. The
 * goal (issue "Job checkpoints"): time to COMPLETE ≤ 1.1 × the independent
 * saves.
 *
 * PULSE_BENCH_JOB_RANKS [8], PULSE_BENCH_JOB_SHARD_MIB [256],
 * PULSE_BENCH_JOB_ROUNDS [3]. Run with `deno task bench:jobs`. Prints a
 * Markdown section and writes it to docs/benchmarks.md.
 */
import { Runtime } from "@pulsecheckpoint/sdk";
import { startRuntime } from "../tests/support/runtime.ts";
import { envNumber, MIB, pieces, runtimeSettings, writeBenchmarkSection } from "./_support.ts";

const RANKS = envNumber("PULSE_BENCH_JOB_RANKS", 8);
const SHARD_BYTES = envNumber("PULSE_BENCH_JOB_SHARD_MIB", 256) * MIB;
const ROUNDS = envNumber("PULSE_BENCH_JOB_ROUNDS", 3);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

const runtime = await startRuntime({ env: runtimeSettings() });
const clients = Array.from(
  { length: RANKS },
  () =>
    new Runtime(`grpc://${runtime.grpcAddress}`, {
      channelOptions: { "grpc.use_local_subchannel_pool": 1 },
    }),
);
const independent: number[] = [];
const steps: number[] = [];
try {
  await Promise.all(clients.map((rt, rank) => rt.registerWorker(`rank-${rank}`)));
  for (let round = 0; round < ROUNDS; round++) {
    // Fresh bytes in every save (seeded by round and rank): no chunk is deduplicated.
    let started = performance.now();
    await Promise.all(clients.map((rt, rank) =>
      rt.saveCheckpoint({
        workerId: `rank-${rank}`,
        data: pieces(SHARD_BYTES, { seed: 1000 * round + rank }),
      })
    ));
    independent.push(performance.now() - started);

    started = performance.now();
    await Promise.all(clients.map(async (rt, rank) => {
      await rt.saveShard({
        jobId: "bench-job",
        step: round,
        rank,
        worldSize: RANKS,
        data: pieces(SHARD_BYTES, { seed: 1000 * round + 500 + rank }),
        incremental: false,
      });
      await rt.commitStep({ jobId: "bench-job", step: round, worldSize: RANKS });
    }));
    steps.push(performance.now() - started);
  }
} finally {
  for (const rt of clients) rt.close();
  await runtime.stop();
}

const ratio = median(steps) / median(independent);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const section = `## Job steps

Command: \`deno task bench:jobs\` (${RANKS} ranks × ${
  SHARD_BYTES / MIB
} MiB, medians of ${ROUNDS} rounds; fs store, loopback, ${new Date().toISOString().slice(0, 10)}).
Each round saves ${RANKS} independent worker checkpoints of fresh bytes at once, then ${RANKS}
shards of one job step, each rank committing the step after its shard (every commit returns the
same step).

| measurement | job step | baseline (same run) | ratio | goal |
|---|---|---|---|---|
| ${RANKS} ranks × ${SHARD_BYTES / MIB} MiB: time to COMPLETE vs ${RANKS} independent saves | ${
  seconds(median(steps))
} | ${seconds(median(independent))} | ${ratio.toFixed(2)} | ≤ 1.1: ${
  ratio <= 1.1 ? "met" : "**not met**"
} |

Rounds (step / independent): ${
  steps.map((ms, i) => `${seconds(ms)} / ${seconds(independent[i]!)}`).join(", ")
}.
`;
console.log(section);
await writeBenchmarkSection(section, "## Profiles");
