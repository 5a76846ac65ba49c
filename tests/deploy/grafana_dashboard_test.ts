/**
 * The Grafana dashboard queries only metrics the runtime exports, with labels
 * those metrics have, and shows every metric the seed promises. The exported
 * names come from two places: the prom-client registry of src/metrics.ts
 * (every family, even those without samples yet) and the `/metrics` page of a
 * real runtime process started with tests/support/runtime.ts.
 */
import assert from "node:assert/strict";
import { registry } from "../../src/metrics.ts";
import { startRuntime } from "../support/runtime.ts";
import {
  exportedFamilies,
  exportedSampleNames,
  familyOf,
  queryNames,
  templateQueryNames,
} from "./_promql.ts";
import { asRecord, readYaml, REPO } from "./_tools.ts";

const DASHBOARD_PATH = "observability/grafana/dashboards/pulse.json";

// The eight metric names of the seed README, all of which must be shown.
const SEED_METRICS = [
  "pulse_checkpoints_total",
  "pulse_checkpoint_bytes_total",
  "pulse_checkpoint_duration_seconds",
  "pulse_active_workers",
  "pulse_s3_requests_total",
  "pulse_s3_request_duration_seconds",
  "pulse_grpc_requests_total",
  "pulse_grpc_request_duration_seconds",
];

// Series Prometheus makes itself for every target, not exported by the runtime.
const PROMETHEUS_SERIES = new Set(["up"]);
// Labels Prometheus attaches to every scraped series (and `le` of buckets).
const TARGET_LABELS = new Set(["job", "instance"]);

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: {
    list: {
      name: string;
      type: string;
      query: unknown;
      datasource?: { uid: string };
    }[];
  };
}

function loadDashboard(): Dashboard {
  return JSON.parse(Deno.readTextFileSync(`${REPO}/${DASHBOARD_PATH}`));
}

function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every query of the dashboard: panel targets and template variables. */
function dashboardQueries(dashboard: Dashboard): {
  where: string;
  names: { metrics: string[]; labels: string[] };
}[] {
  const queries = allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel "${panel.title}" ${target.refId}`,
      names: queryNames(target.expr),
    }))
  );
  for (const variable of dashboard.templating.list) {
    if (variable.type !== "query") continue;
    const query = typeof variable.query === "string"
      ? variable.query
      : String(asRecord(variable.query, "query").query);
    queries.push({
      where: `variable $${variable.name}`,
      names: templateQueryNames(query),
    });
  }
  return queries;
}

/** Problems of the dashboard's queries against an exposition's names. */
function checkQueries(dashboard: Dashboard, exposition: string): string[] {
  const samples = exportedSampleNames(exposition);
  const problems: string[] = [];
  for (const { where, names } of dashboardQueries(dashboard)) {
    for (const metric of names.metrics) {
      if (!samples.has(metric) && !PROMETHEUS_SERIES.has(metric)) {
        problems.push(`${where}: ${metric} is not exported`);
      }
    }
  }
  return problems;
}

/** Label names of each metric family of the registry. */
function registryLabels(): Map<string, Set<string>> {
  const labels = new Map<string, Set<string>>();
  for (const metric of registry.getMetricsAsArray()) {
    const names = (metric as unknown as { labelNames?: string[] }).labelNames;
    labels.set(metric.name, new Set(names ?? []));
  }
  return labels;
}

Deno.test("queryNames() finds metric and label names in PromQL with Grafana variables", () => {
  assert.deepEqual(
    queryNames(
      'histogram_quantile(0.99, sum by (method, le) (rate(pulse_grpc_request_duration_seconds_bucket{job="pulse-runtime", instance=~"$instance"}[$__rate_interval])))',
    ),
    {
      metrics: ["pulse_grpc_request_duration_seconds_bucket"],
      labels: ["instance", "job", "le", "method"],
    },
  );
  assert.deepEqual(
    queryNames(
      'sum(rate(a_total{outcome="error"}[5m])) / sum(rate(b_total[5m])) > 0.05 and on (instance) up == 1',
    ),
    { metrics: ["a_total", "b_total", "up"], labels: ["instance", "outcome"] },
  );
  assert.deepEqual(
    templateQueryNames('label_values(pulse_active_workers{job="x"}, instance)'),
    { metrics: ["pulse_active_workers"], labels: ["instance", "job"] },
  );
});

Deno.test("the query check reports a metric the runtime does not export", async () => {
  const dashboard = loadDashboard();
  const broken: Dashboard = {
    ...dashboard,
    panels: [{
      id: 999,
      type: "timeseries",
      title: "broken",
      gridPos: { x: 0, y: 0, w: 1, h: 1 },
      targets: [
        { refId: "A", expr: "rate(pulse_checkpoint_duration_seconds[5m])" },
        { refId: "B", expr: "sum(pulse_no_such_metric)" },
      ],
    }],
  };
  assert.deepEqual(checkQueries(broken, await registry.metrics()), [
    'panel "broken" A: pulse_checkpoint_duration_seconds is not exported',
    'panel "broken" B: pulse_no_such_metric is not exported',
  ]);
});

Deno.test("every metric in the dashboard is in the runtime's registry", async () => {
  const exposition = await registry.metrics();
  assert.deepEqual(checkQueries(loadDashboard(), exposition), []);
});

Deno.test("every metric in the dashboard is on a running runtime's /metrics", async () => {
  const runtime = await startRuntime();
  try {
    const response = await fetch(`${runtime.metricsUrl}/metrics`);
    assert.equal(response.status, 200);
    const exposition = await response.text();
    assert.ok(
      exportedFamilies(exposition).has("pulse_checkpoints_total"),
      "the runtime's /metrics lacks pulse_checkpoints_total",
    );
    assert.deepEqual(checkQueries(loadDashboard(), exposition), []);
  } finally {
    await runtime.stop();
    await Deno.remove(runtime.dir, { recursive: true });
  }
});

Deno.test("the dashboard shows every seed metric", async () => {
  const families = exportedFamilies(await registry.metrics());
  const shown = new Set(
    dashboardQueries(loadDashboard()).flatMap(({ names }) =>
      names.metrics.map((m) => familyOf(m, families) ?? m)
    ),
  );
  for (const metric of SEED_METRICS) {
    assert.ok(shown.has(metric), `the dashboard does not show ${metric}`);
  }
});

Deno.test("histograms are queried through _bucket, _sum and _count only", async () => {
  const families = exportedFamilies(await registry.metrics());
  const histograms = [...families].filter(([, f]) => f.type === "histogram")
    .map(([name]) => name);
  assert.ok(histograms.includes("pulse_checkpoint_duration_seconds"));
  const used = dashboardQueries(loadDashboard()).flatMap(({ names }) => names.metrics);
  for (const histogram of histograms) {
    assert.ok(!used.includes(histogram), `${histogram} queried without suffix`);
  }
  for (
    const histogram of [
      "pulse_checkpoint_duration_seconds",
      "pulse_s3_request_duration_seconds",
      "pulse_grpc_request_duration_seconds",
    ]
  ) {
    assert.ok(used.includes(`${histogram}_bucket`), `${histogram} quantiles`);
  }
});

Deno.test("every label in a dashboard query is a label of a metric it queries", async () => {
  const families = exportedFamilies(await registry.metrics());
  const labels = registryLabels();
  const problems: string[] = [];
  for (const { where, names } of dashboardQueries(loadDashboard())) {
    const known = new Set(TARGET_LABELS);
    for (const metric of names.metrics) {
      const family = familyOf(metric, families);
      labels.get(family ?? metric)?.forEach((l) => known.add(l));
      if (metric.endsWith("_bucket")) known.add("le");
    }
    for (const label of names.labels) {
      if (!known.has(label)) problems.push(`${where}: unknown label ${label}`);
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("the dashboard is well formed and uses the provisioned data source", () => {
  const dashboard = loadDashboard();
  assert.equal(dashboard.uid, "pulse-runtime");
  const panels = allPanels(dashboard);
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
  for (const panel of panels) {
    const { x, w } = panel.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24, `panel ${panel.title} fits`);
    if (panel.type === "row") continue;
    assert.equal(panel.datasource?.uid, "${datasource}", panel.title);
    assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
    for (const target of panel.targets ?? []) {
      assert.equal(target.datasource?.uid, "${datasource}", panel.title);
    }
  }
  const variable = dashboard.templating.list.find((v) => v.name === "datasource");
  assert.equal(variable?.type, "datasource");
  assert.equal(variable?.query, "prometheus");

  const datasources = asRecord(
    readYaml("observability/grafana/provisioning/datasources/prometheus.yml"),
    "datasources file",
  ).datasources as Record<string, unknown>[];
  assert.deepEqual(
    datasources.map((d) => [d.type, d.url, d.isDefault]),
    [["prometheus", "http://prometheus:9090", true]],
  );
});

Deno.test("the dashboard provider loads the directory compose mounts", () => {
  const providers = asRecord(
    readYaml("observability/grafana/provisioning/dashboards/pulse.yml"),
    "dashboards file",
  ).providers as Record<string, unknown>[];
  assert.equal(providers.length, 1);
  const path = asRecord(providers[0]!.options, "options").path;
  const compose = asRecord(readYaml("docker-compose.yml"), "compose");
  const grafana = asRecord(
    asRecord(compose.services, "services").grafana,
    "grafana",
  );
  assert.ok(
    (grafana.volumes as string[]).includes(
      `./observability/grafana/dashboards:${path}:ro`,
    ),
    `compose does not mount the dashboards at ${path}`,
  );
});
