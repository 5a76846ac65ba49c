/**
 * JobSteps on a real fs store in a temporary directory, without a runtime:
 * a step commits only once every rank's shard is durable, exactly one
 * decision stands however many calls race, a deadline or a STALE worker
 * aborts it naming the missing ranks and drops its shards, "latest" skips
 * what is not COMPLETE, and retention keeps the newest complete steps.
 */
import assert from "node:assert/strict";
import { JobSteps, type ShardRef } from "../../src/jobs/job_steps.ts";
import { tempFsStore } from "../support/temp_fs_store.ts";

const setup = () => tempFsStore("pulse-jobs-");

function shard(step: number, rank: number, worldSize = 3): ShardRef {
  return { jobId: "job1", step, rank, worldSize, stepMetadata: false };
}

function saved(step: number, rank: number) {
  return {
    checkpointId: `chk_s${step}r${rank}`,
    sizeBytes: 10 * rank,
    sha256: "ab",
    workerId: `w${rank}`,
  };
}

function jobSteps(store: ConstructorParameters<typeof JobSteps>[0], options: {
  stale?: Set<string>;
  keepLastSteps?: number;
} = {}) {
  const deleted: string[] = [];
  const steps = new JobSteps(store, {
    deleteShard: (_job, id) => {
      deleted.push(id);
      return Promise.resolve();
    },
    isGone: (workerId) => Promise.resolve(options.stale?.has(workerId) ?? false),
  }, { commitTimeoutMs: 60_000, keepLastSteps: options.keepLastSteps ?? 0 });
  return { steps, deleted };
}

Deno.test("commitStep() waits until every rank's shard is durable, then COMPLETE; later calls return the same step", async () => {
  await using s = await setup();
  const { steps } = jobSteps(s.store);
  await steps.shardSaved(shard(7, 0), saved(7, 0));
  const commit = steps.commitStep("job1", 7, 3);
  let done = false;
  commit.then(() => done = true);
  await steps.shardSaved(shard(7, 2), saved(7, 2));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(done, false, "rank 1 is missing: still waiting");
  assert.deepEqual((await steps.getStep("job1", 7)).missingRanks, [1]);
  assert.equal((await steps.getStep("job1", 7)).state, "PENDING");
  await steps.shardSaved(shard(7, 1), saved(7, 1));
  const step = await commit;
  assert.equal(step.state, "COMPLETE");
  assert.deepEqual(step.shards.map((s) => [s.rank, s.checkpointId]), [
    [0, "chk_s7r0"],
    [1, "chk_s7r1"],
    [2, "chk_s7r2"],
  ]);
  assert.deepEqual(await steps.commitStep("job1", 7, 3), step);
  assert.deepEqual(await steps.getStep("job1"), step, "the latest complete step");
  await assert.rejects(steps.shardStarting(shard(7, 0), ""), { code: "FAILED_PRECONDITION" });
});

Deno.test("racing commits of one step leave one decision", async () => {
  await using s = await setup();
  const { steps: a } = jobSteps(s.store);
  const { steps: b } = jobSteps(s.store); // as another runtime on the same store
  for (let rank = 0; rank < 3; rank++) await a.shardSaved(shard(1, rank), saved(1, rank));
  const decisions = await Promise.all([
    a.commitStep("job1", 1, 3),
    b.commitStep("job1", 1, 3),
    a.commitStep("job1", 1, 3),
  ]);
  assert.equal(new Set(decisions.map((d) => d.createdAt!.getTime())).size, 1);
});

Deno.test("a step missing shards at its deadline is ABORTED naming them, its shards are dropped, and latest stays on the step before", async () => {
  await using s = await setup();
  const { steps, deleted } = jobSteps(s.store);
  for (let rank = 0; rank < 3; rank++) await steps.shardSaved(shard(1, rank), saved(1, rank));
  await steps.commitStep("job1", 1, 3);
  await steps.shardSaved(shard(2, 0), saved(2, 0));
  await steps.shardSaved(shard(2, 2), saved(2, 2));
  await assert.rejects(steps.commitStep("job1", 2, 3, { timeoutMs: 300 }), {
    code: "ABORTED",
    message: /step 2 of job job1: it is ABORTED, ranks 1 missing \(the deadline passed \(300 ms\)/,
  });
  const aborted = await steps.getStep("job1", 2);
  assert.equal(aborted.state, "ABORTED");
  assert.deepEqual(aborted.missingRanks, [1]);
  assert.deepEqual(deleted.sort(), ["chk_s2r0", "chk_s2r2"]);
  assert.equal((await steps.getStep("job1")).step, 1);
  await assert.rejects(steps.commitStep("job1", 2, 3), { code: "ABORTED" });
});

Deno.test("a shard that lands after its step was decided is deleted again and refused; a retry of one the decision holds is not", async () => {
  await using s = await setup();
  const { steps, deleted } = jobSteps(s.store);
  await steps.shardSaved(shard(3, 0), saved(3, 0));
  await assert.rejects(steps.commitStep("job1", 3, 3, { timeoutMs: 100 }), { code: "ABORTED" });
  await assert.rejects(steps.shardSaved(shard(3, 1), saved(3, 1)), {
    code: "FAILED_PRECONDITION",
    message: /step 3 of job job1 is ABORTED already/,
  });
  assert.ok(deleted.includes("chk_s3r1"));
  assert.deepEqual((await steps.getStep("job1", 3)).shards.map((s) => s.rank), [0]);

  const one = jobSteps(s.store).steps;
  await one.shardSaved(shard(4, 0, 1), saved(4, 0));
  await one.commitStep("job1", 4, 1);
  await one.shardSaved(shard(4, 0, 1), saved(4, 0)); // the same checkpoint again
  assert.equal((await one.getStep("job1", 4)).shards[0]!.checkpointId, "chk_s4r0");
});

Deno.test("a rank whose worker goes STALE aborts the step before the deadline", async () => {
  await using s = await setup();
  const { steps } = jobSteps(s.store, { stale: new Set(["w1"]) });
  await steps.shardStarting(shard(5, 1), "w1");
  await steps.shardSaved(shard(5, 0), saved(5, 0));
  await steps.shardSaved(shard(5, 2), saved(5, 2));
  const started = Date.now();
  await assert.rejects(steps.commitStep("job1", 5, 3), {
    code: "ABORTED",
    message: /rank 1's worker w1 went STALE/,
  });
  assert.ok(Date.now() - started < 10_000);
});

Deno.test("retention keeps the newest keep_last_steps COMPLETE steps, never an aborted one in their place", async () => {
  await using s = await setup();
  const { steps, deleted } = jobSteps(s.store, { keepLastSteps: 2 });
  for (let step = 0; step < 5; step++) {
    if (step === 3) {
      await steps.shardSaved(shard(step, 0), saved(step, 0));
      await assert.rejects(steps.commitStep("job1", step, 3, { timeoutMs: 100 }));
      continue;
    }
    for (let rank = 0; rank < 3; rank++) {
      await steps.shardSaved(shard(step, rank), saved(step, rank));
    }
    await steps.commitStep("job1", step, 3);
  }
  const listed = await steps.listSteps("job1", 0, "");
  // Step 3's record stays (its shards went when it was aborted): it is newer
  // than a kept step, and tells why the job has no step 3.
  assert.deepEqual(listed.steps.map((step) => [step.step, step.state]), [
    [4, "COMPLETE"],
    [3, "ABORTED"],
    [2, "COMPLETE"],
  ]);
  for (const step of [0, 1]) {
    for (let rank = 0; rank < 3; rank++) assert.ok(deleted.includes(`chk_s${step}r${rank}`));
  }
  assert.ok(!deleted.includes("chk_s2r0") && !deleted.includes("chk_s4r0"));
});

Deno.test("shards naming a bad job, step or rank are refused before any byte", async () => {
  await using s = await setup();
  const { steps } = jobSteps(s.store);
  await assert.rejects(steps.shardStarting({ ...shard(1, 3) }, ""), {
    code: "INVALID_ARGUMENT",
    message: "Cannot save shard: rank 3 is not from 0 to world_size - 1 (2)",
  });
  await assert.rejects(steps.shardStarting({ ...shard(-1, 0) }, ""), { code: "INVALID_ARGUMENT" });
  await assert.rejects(steps.shardStarting({ ...shard(1, 0), jobId: "../x" }, ""), {
    code: "INVALID_ARGUMENT",
  });
  await assert.rejects(steps.getStep("job1"), { code: "NOT_FOUND" });
});
