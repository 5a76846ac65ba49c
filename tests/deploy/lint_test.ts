/**
 * yamllint (strict, with the repository's .yamllint) over the deployment YAML
 * files, ShellCheck over scripts/lint_files.sh, and proof that both tools
 * fail on bad input with this configuration.
 */
import assert from "node:assert/strict";
import { DEPLOY_YAML_FILES, missingTool, REPO, run } from "./_tools.ts";

const noYamllint = missingTool("yamllint");
const noShellcheck = missingTool("shellcheck");

Deno.test({
  name: "yamllint -s passes the deployment and observability YAML files",
  ignore: noYamllint,
  fn: async () => {
    const result = await run("yamllint", ["-s", "-f", "parsable", ...DEPLOY_YAML_FILES]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  },
});

Deno.test({
  name: "yamllint -s with .yamllint rejects bad indentation and duplicate keys",
  ignore: noYamllint,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "yamllint_" });
    try {
      await Deno.writeTextFile(`${dir}/bad.yml`, "a:\n   b: 1\na: 2\n");
      const result = await run("yamllint", [
        "-s",
        "-f",
        "parsable",
        "-c",
        `${REPO}/.yamllint`,
        `${dir}/bad.yml`,
      ]);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stdout, /\[error\] wrong indentation/);
      assert.match(result.stdout, /\[error\] duplication of key "a"/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "shellcheck passes scripts/lint_files.sh",
  ignore: noShellcheck,
  fn: async () => {
    const result = await run("shellcheck", ["scripts/lint_files.sh"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  },
});

Deno.test({
  name: "shellcheck rejects an unquoted variable",
  ignore: noShellcheck,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "shellcheck_" });
    try {
      await Deno.writeTextFile(`${dir}/bad.sh`, "#!/bin/sh\nrm -rf $1/tmp\n");
      const result = await run("shellcheck", [`${dir}/bad.sh`]);
      assert.notEqual(result.code, 0);
      assert.match(result.stdout, /SC2086/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
