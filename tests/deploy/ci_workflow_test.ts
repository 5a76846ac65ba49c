/**
 * .github/workflows/ci.yml: the jobs the project promises, Deno pinned to the
 * Dockerfile's version, and release binaries compiled for every platform with
 * exactly the permission flags of `deno task compile`.
 */
import assert from "node:assert/strict";
import { asRecord, readYaml, REPO } from "./_tools.ts";

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  "working-directory"?: string;
}

interface Job {
  if?: string;
  needs?: string[];
  steps: Step[];
  strategy?: { matrix: Record<string, unknown[]> };
  permissions?: Record<string, string>;
}

function workflow(): { on: unknown; jobs: Record<string, Job> } {
  return asRecord(readYaml(".github/workflows/ci.yml"), "ci.yml") as {
    on: unknown;
    jobs: Record<string, Job>;
  };
}

function runs(job: Job): string {
  return job.steps.map((s) => s.run ?? "").join("\n");
}

const TAG_CONDITION = "startsWith(github.ref, 'refs/tags/v')";

Deno.test("CI runs on pushes, tags and pull requests", () => {
  const on = asRecord(workflow().on, "on");
  assert.deepEqual(asRecord(on.push, "push").tags, ["v*"]);
  assert.ok("pull_request" in on);
});

Deno.test("CI has the check, test, SDK, Python, Docker and release jobs", () => {
  const { jobs } = workflow();
  assert.deepEqual(Object.keys(jobs).sort(), [
    "check",
    "compile",
    "docker",
    "python-sdk",
    "release",
    "sdk",
    "test",
  ]);
  assert.match(runs(jobs.check!), /^deno task check$/m);
  assert.match(runs(jobs.test!), /^bash \.ci\/run$/m);
  assert.match(
    runs(jobs.test!),
    /apt-get install -y --no-install-recommends shellcheck yamllint prometheus/,
  );
  const publish = jobs.sdk!.steps.find((s) => s.run === "deno publish --dry-run");
  assert.equal(publish?.["working-directory"], "sdk");
  assert.match(
    runs(jobs["python-sdk"]!),
    /pip install -r sdk\/python\/requirements-dev\.txt \.\/sdk\/python/,
  );
  assert.match(runs(jobs["python-sdk"]!), /^python -m pytest sdk\/python\/tests/m);
  assert.ok(
    jobs.docker!.steps.some((s) => s.uses?.startsWith("docker/build-push-action@")),
  );
});

Deno.test("every job that sets up Deno pins 2.8.3", () => {
  const { jobs } = workflow();
  let count = 0;
  for (const [name, job] of Object.entries(jobs)) {
    for (const step of job.steps) {
      if (!step.uses?.startsWith("denoland/setup-deno@")) continue;
      assert.equal(step.uses, "denoland/setup-deno@v2", name);
      assert.equal(String(step.with?.["deno-version"]), "2.8.3", name);
      count += 1;
    }
    if (/\bdeno /.test(runs(job))) {
      assert.ok(
        job.steps.some((s) => s.uses?.startsWith("denoland/setup-deno@")),
        `${name} runs deno without setting it up`,
      );
    }
  }
  assert.ok(count >= 5);
});

Deno.test("release binaries are compiled for five targets with the task's permission flags", async () => {
  const { jobs } = workflow();
  const compile = jobs.compile!;
  assert.equal(compile.if, TAG_CONDITION);
  assert.deepEqual(compile.strategy?.matrix.target, [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
  ]);
  const deno = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`));
  const taskFlags = (deno.tasks.compile as string).split(/\s+/)
    .filter((w) => w.startsWith("--allow-"));
  const command = runs(compile).replace(/\\\n/g, " ");
  const line = command.split("\n").find((l) => l.includes("deno compile"));
  assert.ok(line, "no deno compile command");
  const flags = line.split(/\s+/).map((w) => w.replace(/^'(.*)'$/, "$1"))
    .filter((w) => w.startsWith("--allow-"));
  assert.deepEqual(flags, taskFlags);
  assert.match(line, /--target "\$TARGET"/);
  assert.match(line, /main\.ts$/);
});

Deno.test("the release job runs only on tags and attaches the binaries", () => {
  const { jobs } = workflow();
  const release = jobs.release!;
  assert.equal(release.if, TAG_CONDITION);
  assert.deepEqual(release.needs, ["compile"]);
  assert.deepEqual(release.permissions, { contents: "write" });
  assert.match(runs(release), /gh release create "\$GITHUB_REF_NAME" dist\/release\/\*/);
  assert.deepEqual(jobs.compile!.needs, ["check", "test", "sdk", "python-sdk", "docker"]);
});
