/**
 * docs/operations.md documents every setting of the runtime: its TOML name,
 * environment variable, flag and default on one row of the settings table;
 * and it names no PULSE_ variable that does not exist.
 */
import assert from "node:assert/strict";
import { SETTINGS } from "../../src/config.ts";
import { registry } from "../../src/metrics.ts";
import { REPO } from "./_tools.ts";

const DOC = Deno.readTextFileSync(`${REPO}/docs/operations.md`);

// Variables read outside SETTINGS: the config file's path, the admin CLI's address and token.
const OTHER_VARIABLES = new Set(["PULSE_CONFIG", "PULSE_ADDR", "PULSE_TOKEN"]);

function formatDefault(value: unknown): string {
  return `\`${JSON.stringify(value)}\``;
}

Deno.test("every setting has a row with its name, variable, flag and default", () => {
  const rows = DOC.split("\n").filter((line) => line.startsWith("| `"));
  const missing: string[] = [];
  for (const [name, spec] of Object.entries(SETTINGS)) {
    const row = rows.find((r) => r.startsWith(`| \`${name}\` `));
    if (row === undefined) {
      missing.push(`${name}: no row`);
      continue;
    }
    const cells = row.split("|").map((c) => c.trim());
    const env = "env" in spec ? spec.env : undefined;
    const flag = "flag" in spec ? spec.flag : undefined;
    const expected = [
      `\`${name}\``,
      env ? `\`${env}\`` : "—",
      flag ? `\`--${flag}\`` : "—",
      formatDefault(spec.default),
    ];
    assert.deepEqual(cells.slice(1, 5), expected, name);
  }
  assert.deepEqual(missing, []);
});

Deno.test("every PULSE_ variable named in the doc exists", () => {
  const known = new Set(OTHER_VARIABLES);
  for (const spec of Object.values(SETTINGS)) {
    if ("env" in spec && spec.env) known.add(spec.env);
  }
  const named = new Set(DOC.match(/\bPULSE_[A-Z0-9_]+\b/g) ?? []);
  assert.deepEqual([...named].filter((n) => !known.has(n)).sort(), []);
});

Deno.test("every pulse_ metric of the registry is in the doc's metrics table", () => {
  for (const metric of registry.getMetricsAsArray()) {
    if (metric.name.startsWith("pulse_process_")) continue;
    assert.ok(DOC.includes(`| \`${metric.name}\``), `${metric.name} is not documented`);
  }
});

Deno.test("the doc covers deployment, upgrades and backup in order", () => {
  for (
    const heading of [
      "## Configuration",
      "### Docker",
      "### Docker Compose (local stack)",
      "### AWS with Terraform",
      "### Kubernetes with Helm",
      "## Upgrades",
      "### Backup (copy to another bucket)",
      "### Restore",
    ]
  ) {
    assert.ok(DOC.includes(`\n${heading}\n`), `no section ${heading}`);
  }
  const restore = DOC.slice(DOC.indexOf("### Restore"));
  const order = ["chunks/", "datasets/", "workers/", "checkpoints/"].map((p) =>
    restore.indexOf(`aws s3 sync "\${BACKUP}${p}"`)
  );
  assert.ok(order.every((i) => i > 0), "restore copies every prefix");
  assert.deepEqual([...order].sort((a, b) => a - b), order, "chunks first, manifests last");
});
