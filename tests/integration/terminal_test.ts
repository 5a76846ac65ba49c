/**
 * `deno task start` as a person runs it, in a real (pseudo-)terminal: Deno
 * prompts for missing permissions there, and a prompt would freeze the whole
 * runtime. It must start, serve a `/metrics` scrape (whose process metrics
 * once read /proc/self), and on one Ctrl-C (which reaches it twice: from the
 * terminal and from `deno task`) drain and exit 0.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { inheritedEnv } from "../support/runtime.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("under a terminal, deno task start never prompts, serves /metrics, and one Ctrl-C drains it to exit 0", async () => {
  // Inside ./data, the only directory the start task may write.
  const dataDir = `./data/terminal-test-${crypto.randomUUID()}`;
  try {
    const { stdout } = await new Deno.Command("python3", {
      args: [
        `${ROOT}tests/support/terminal_run.py`,
        "60",
        Deno.execPath(),
        "task",
        "start",
        "--grpc-addr",
        "127.0.0.1:0",
        "--metrics-addr",
        "127.0.0.1:0",
        "--data-dir",
        dataDir,
      ],
      cwd: ROOT,
      clearEnv: true,
      env: inheritedEnv(),
      stdout: "piped",
    }).output();
    const run = JSON.parse(new TextDecoder().decode(stdout));
    const output: string = run.output;
    assert.ok(!output.includes("Deno requests"), `a permission prompt:\n${output}`);
    assert.equal(run.metrics_status, 200, output);
    assert.ok(run.interrupted, output);
    assert.equal(run.status, 0, output);
    assert.match(output, /"message":"Signal received","signal":"SIGINT"/);
    assert.match(output, /"message":"Runtime stopped"/);
    assert.doesNotMatch(output, /Second signal/);
  } finally {
    await Deno.remove(`${ROOT}${dataDir}`, { recursive: true }).catch(() => {});
  }
});
