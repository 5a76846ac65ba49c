/**
 * The auth guard without a runtime: who a call acts as comes from the token
 * it carries (by its hash), roles limit methods, and the worker, dataset and
 * job globs limit what a call may name.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { Guard } from "../../src/api/auth.ts";
import type { AuthToken } from "../../src/config.ts";

const sha = (token: string) => createHash("sha256").update(token).digest("hex");

const TOKENS: AuthToken[] = [
  { name: "ops", sha256: sha("ops-secret"), role: "admin", workers: "*", datasets: "*", jobs: "*" },
  {
    name: "team-a",
    sha256: sha("a-secret"),
    role: "worker",
    workers: "a-*",
    datasets: "imagenet",
    jobs: "a-*",
  },
  {
    name: "viewer",
    sha256: sha("r-secret"),
    role: "reader",
    workers: "*",
    datasets: "*",
    jobs: "*",
  },
];

function bearer(token?: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

Deno.test("Guard.check() finds the caller by the token it carries, and refuses a missing or unknown one", () => {
  const guard = new Guard(TOKENS);
  assert.equal(guard.check(bearer("a-secret"), "GetWorker", { worker_id: "a-1" }).name, "team-a");
  assert.equal(guard.check(bearer("ops-secret"), "RunGc").role, "admin");
  assert.throws(() => guard.check(bearer(), "GetWorker"), {
    code: "UNAUTHENTICATED",
    message: /no "authorization: Bearer <token>" metadata/,
  });
  assert.throws(() => guard.check(bearer("team-a"), "GetWorker"), {
    code: "UNAUTHENTICATED",
    message: "Cannot authenticate: unknown token",
  });
});

Deno.test("Guard.check() limits methods by role: a reader may load but not save, only admin collects garbage", () => {
  const guard = new Guard(TOKENS);
  guard.check(bearer("r-secret"), "LoadCheckpoint", { worker_id: "w" });
  guard.check(bearer("r-secret"), "GetStep", { job_id: "j" });
  for (const method of ["SaveCheckpoint", "CommitStep", "RegisterWorker", "RunGc"]) {
    assert.throws(() => guard.check(bearer("r-secret"), method), {
      code: "PERMISSION_DENIED",
      message: `Cannot call ${method}: token viewer has role reader`,
    });
  }
  assert.throws(() => guard.check(bearer("a-secret"), "RunGc"), { code: "PERMISSION_DENIED" });
});

Deno.test("Guard.check() limits what a call names by the token's worker, dataset and job globs", () => {
  const guard = new Guard(TOKENS);
  const teamA = bearer("a-secret");
  guard.check(teamA, "SaveCheckpoint", { worker_id: "a-7" });
  assert.throws(() => guard.check(teamA, "SaveCheckpoint", { worker_id: "b-7" }), {
    code: "PERMISSION_DENIED",
    message: "Cannot call SaveCheckpoint for worker b-7: token team-a may act only for workers a-*",
  });
  guard.check(teamA, "GetDataset", { name: "imagenet" });
  assert.throws(() => guard.check(teamA, "GetDataset", { name: "c4" }), {
    message: /for dataset c4: token team-a may act only for datasets imagenet/,
  });
  // A job's call may leave worker_id empty; the job glob then decides.
  guard.check(teamA, "LoadCheckpoint", { worker_id: "", job_id: "a-run" });
  assert.throws(() => guard.check(teamA, "CommitStep", { job_id: "b-run" }), {
    message: /for job b-run: token team-a may act only for jobs a-\*/,
  });
  assert.throws(() => guard.check(teamA, "LoadCheckpoint", { worker_id: "", job_id: "b-run" }), {
    code: "PERMISSION_DENIED",
  });
  assert.throws(() => guard.check(teamA, "LoadCheckpoint", { worker_id: "" }), {
    message: /for worker : token team-a may act only for workers a-\*/,
  });
  assert.throws(() => guard.check(teamA, "ListWorkers"), {
    message: /ListWorkers: token team-a may act only for workers a-\*/,
  });
});

Deno.test("without tokens every call acts as an anonymous admin", () => {
  const guard = new Guard([]);
  assert.equal(guard.enabled, false);
  const principal = guard.check(bearer(), "RunGc", { worker_id: "any", job_id: "any" });
  assert.deepEqual([principal.name, principal.role, principal.tokenSha256], [
    "anonymous",
    "admin",
    undefined,
  ]);
});
