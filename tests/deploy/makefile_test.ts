/**
 * The Makefile keeps the seed's target names and maps each to the command it
 * promises; `make -n` prints the commands without running them.
 */
import assert from "node:assert/strict";
import { missingTool, run } from "./_tools.ts";

const EXPECTED: Record<string, string> = {
  "dev-up": "docker compose up -d --build",
  "dev-down": "docker compose down",
  "build-runtime": "deno task compile",
  "install-sdk": "pip install ./sdk/python",
  "run-runtime": "deno task start",
  "run-example": "deno task example",
  "test-runtime":
    "deno test --no-prompt --allow-run --allow-net --allow-env --allow-sys --allow-read --allow-write --ignore=tests/integration/ tests/",
  "test-sdk": "python3 -m pytest sdk/python/tests",
  "test-integration":
    "deno test --no-prompt --allow-run --allow-net --allow-env --allow-sys --allow-read --allow-write tests/integration/",
  "generate-certs": "deno task certs",
  "lint": "bash scripts/lint_files.sh",
};

Deno.test({
  name: "each make target runs the command it promises",
  ignore: missingTool("make"),
  fn: async () => {
    for (const [target, command] of Object.entries(EXPECTED)) {
      const result = await run("make", ["-n", "--no-print-directory", target]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), command, target);
    }
  },
});

Deno.test({
  name: "make test runs the Deno tests and the SDK tests",
  ignore: missingTool("make"),
  fn: async () => {
    const result = await run("make", ["-n", "--no-print-directory", "test"]);
    assert.equal(result.code, 0, result.stderr);
    // The recursive make is printed with the path make was run by.
    const lines = result.stdout.trim().split("\n")
      .map((line) => line.replace(/^\S*\/make /, "make "));
    assert.deepEqual(lines, [
      "deno task test",
      "make test-sdk",
      "python3 -m pytest sdk/python/tests",
    ]);
  },
});

Deno.test({
  name: "make fails on an unknown target",
  ignore: missingTool("make"),
  fn: async () => {
    const result = await run("make", ["-n", "no-such-target"]);
    assert.notEqual(result.code, 0);
  },
});
