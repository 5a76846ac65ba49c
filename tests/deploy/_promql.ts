/**
 * Just enough PromQL and Prometheus exposition-format parsing for the
 * deployment tests: which metric names and label names a query uses, and
 * which metric names a `/metrics` page exports.
 */

/** What a PromQL expression refers to. */
export interface QueryNames {
  metrics: string[];
  labels: string[];
}

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);

/**
 * The metric names and label names used by a PromQL expression (Grafana
 * variables such as `$__rate_interval` and `$instance` allowed).
 */
export function queryNames(expression: string): QueryNames {
  const labels = new Set<string>();
  let text = expression
    // String literals (label values, Grafana variables inside them).
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    // Range and subquery selectors: [5m], [$__rate_interval], [1h:5m].
    .replace(/\[[^\]]*\]/g, "")
    // Grafana variables outside strings.
    .replace(/\$\{[^}]*\}|\$\w+/g, "");
  text = text.replace(/\{([^}]*)\}/g, (_, matchers: string) => {
    for (const match of matchers.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) {
      labels.add(match[1]!);
    }
    return "";
  });
  text = text.replace(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_, list: string) => {
      for (const name of list.split(",").map((s) => s.trim())) {
        if (name !== "") labels.add(name);
      }
      return " ";
    },
  );
  const metrics = new Set<string>();
  for (
    const match of text.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?/g)
  ) {
    const [, name, call] = match;
    if (call !== undefined || KEYWORDS.has(name!.toLowerCase())) continue;
    metrics.add(name!);
  }
  return { metrics: [...metrics].sort(), labels: [...labels].sort() };
}

/**
 * The names of a Grafana template variable query: `label_values(m, label)`,
 * `label_values(label)`, `query_result(expr)` or a plain expression.
 */
export function templateQueryNames(query: string): QueryNames {
  const labelValues = /^\s*label_values\((.*?)(?:,\s*(\w+))?\)\s*$/.exec(
    query,
  );
  if (labelValues) {
    const [, first, label] = labelValues;
    if (label === undefined) return { metrics: [], labels: [first!.trim()] };
    const names = queryNames(first!);
    return {
      metrics: names.metrics,
      labels: [...new Set([...names.labels, label])].sort(),
    };
  }
  const result = /^\s*query_result\((.*)\)\s*$/.exec(query);
  return queryNames(result ? result[1]! : query);
}

/** One exported metric family. */
export interface MetricFamily {
  type: string;
  /** The names its samples have (`_bucket`, `_sum`, `_count` for histograms). */
  sampleNames: string[];
}

/**
 * The metric families of a Prometheus text exposition, by family name. A
 * family with no samples yet (a labelled counter never incremented) is still
 * listed through its `# TYPE` line.
 */
export function exportedFamilies(
  exposition: string,
): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  for (const line of exposition.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      const sampleNames = kind === "histogram"
        ? [`${name}_bucket`, `${name}_sum`, `${name}_count`]
        : kind === "summary"
        ? [name!, `${name}_sum`, `${name}_count`]
        : [name!];
      families.set(name!, { type: kind!, sampleNames });
    }
  }
  return families;
}

/** Every sample name a Prometheus text exposition can have. */
export function exportedSampleNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const family of exportedFamilies(exposition).values()) {
    family.sampleNames.forEach((name) => names.add(name));
  }
  for (const line of exposition.split("\n")) {
    const sample = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}

/** The family a sample name belongs to (strips `_bucket`, `_sum`, `_count`). */
export function familyOf(
  sampleName: string,
  families: Map<string, MetricFamily>,
): string | undefined {
  for (const [name, family] of families) {
    if (family.sampleNames.includes(sampleName)) return name;
  }
  return undefined;
}
