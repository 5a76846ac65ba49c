/**
 * Prometheus configuration and alert rules, checked by promtool itself
 * (`check config`, `check rules`, and the unit tests in alerts_test.yml), and
 * the metrics the alerts use checked against the runtime's registry.
 */
import assert from "node:assert/strict";
import { registry } from "../../src/metrics.ts";
import { exportedSampleNames, queryNames } from "./_promql.ts";
import { asRecord, missingTool, readYaml, REPO, run } from "./_tools.ts";

const DIR = "observability/prometheus";
const noPromtool = missingTool("promtool");

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertRules(): Rule[] {
  const groups = asRecord(readYaml(`${DIR}/alerts.yml`), "alerts.yml")
    .groups as { rules: Rule[] }[];
  return groups.flatMap((group) => group.rules);
}

async function promtool(...args: string[]) {
  const result = await run("promtool", args, { cwd: `${REPO}/${DIR}` });
  return { ...result, output: result.stdout + result.stderr };
}

Deno.test({
  name: "promtool check config accepts prometheus.yml and its rule files",
  ignore: noPromtool,
  fn: async () => {
    const { code, output } = await promtool("check", "config", "prometheus.yml");
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS: 1 rule files found/);
  },
});

Deno.test({
  name: "promtool check rules accepts alerts.yml",
  ignore: noPromtool,
  fn: async () => {
    const { code, output } = await promtool("check", "rules", "alerts.yml");
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
  },
});

Deno.test({
  name: "promtool test rules passes the alert unit tests",
  ignore: noPromtool,
  fn: async () => {
    const { code, output } = await promtool("test", "rules", "alerts_test.yml");
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS/);
  },
});

Deno.test({
  name: "promtool check rules rejects a broken rule",
  ignore: noPromtool,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "promtool_" });
    try {
      await Deno.writeTextFile(
        `${dir}/bad.yml`,
        "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(pulse_checkpoints_total[5m]\n",
      );
      const result = await run("promtool", ["check", "rules", `${dir}/bad.yml`]);
      assert.notEqual(result.code, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the alerts the runbook names exist, with severities and summaries", () => {
  const rules = alertRules();
  const names = rules.map((r) => r.alert);
  for (
    const name of [
      "PulseRuntimeDown",
      "PulseCheckpointSaveErrors",
      "PulseS3RetryStorm",
      "PulseWorkersGoingStale",
      "PulseScrubFoundBadChunks",
    ]
  ) {
    assert.ok(names.includes(name), `no alert ${name}`);
  }
  for (const rule of rules) {
    assert.ok(
      ["warning", "critical"].includes(rule.labels?.severity ?? ""),
      `${rule.alert} severity`,
    );
    assert.ok(rule.annotations?.summary, `${rule.alert} summary`);
    assert.ok(rule.annotations?.description, `${rule.alert} description`);
  }
  const storm = rules.find((r) => r.alert === "PulseS3RetryStorm")!;
  assert.match(storm.expr, /rate\(pulse_s3_requests_total\{outcome="retried"\}\[5m\]\)/);
  const stale = rules.find((r) => r.alert === "PulseWorkersGoingStale")!;
  assert.match(stale.expr, /pulse_active_workers/);
});

Deno.test("every metric in the alerts is exported by the runtime or made by Prometheus", async () => {
  const exported = exportedSampleNames(await registry.metrics());
  for (const rule of alertRules()) {
    for (const metric of queryNames(rule.expr).metrics) {
      assert.ok(
        exported.has(metric) || metric === "up",
        `${rule.alert}: ${metric} is not exported`,
      );
    }
  }
});

Deno.test("the scrape job is the one the alerts select", () => {
  const config = asRecord(readYaml(`${DIR}/prometheus.yml`), "prometheus.yml");
  const jobs = config.scrape_configs as {
    job_name: string;
    metrics_path?: string;
    static_configs: { targets: string[] }[];
  }[];
  const runtime = jobs.find((j) => j.job_name === "pulse-runtime");
  assert.ok(runtime, "no scrape job pulse-runtime");
  assert.equal(runtime.metrics_path ?? "/metrics", "/metrics");
  // Both replicas of docker-compose.yml.
  assert.deepEqual(runtime.static_configs[0]?.targets, ["runtime:9090", "runtime-2:9090"]);
  for (const rule of alertRules()) {
    if (rule.expr.includes("up{")) {
      assert.match(rule.expr, /job="pulse-runtime"/, rule.alert);
    }
  }
});
