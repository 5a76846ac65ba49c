/**
 * Text for people at a terminal: aligned tables, byte sizes, durations, and
 * the parsing of durations such as `30m` or `1h30m` given on the command line.
 */

const UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION_PATTERN = /^(?:\d+(?:ms|s|m|h|d))+$/;

/**
 * Parses a duration: one or more `<integer><unit>` with units `ms`, `s`,
 * `m`, `h`, `d` (`90s`, `30m`, `1h30m`), or `0`.
 * @returns milliseconds, or undefined if `text` is not a duration
 */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  if (!DURATION_PATTERN.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(amount) * UNITS_MS[unit!]!;
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Formats milliseconds as the largest units that fit, e.g. `1h30m`, `90s` → `1m30s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, seconds] of [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (rest >= seconds) {
      parts.push(`${Math.floor(rest / seconds)}${unit}`);
      rest %= seconds;
    }
  }
  return parts.join("");
}

/** Formats a byte count with binary units, e.g. `1.5 MiB`; exact below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

/** Formats a date as ISO 8601 to the second, in UTC: `2026-11-28T17:47:15Z`. */
export function formatTime(date: Date): string {
  return date.getTime() === 0 ? "-" : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Formats a JSON value compactly on one line, cut to `width` characters with `…`. */
export function formatJson(value: unknown, width = 60): string {
  const text = JSON.stringify(value);
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/**
 * Renders rows under headers as columns separated by two spaces, each as wide
 * as its widest cell; the last column is not padded.
 */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length))
  );
  const line = (cells: string[]) =>
    cells.map((cell, column) => column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))
      .join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** Renders label-value pairs as two aligned columns. */
export function formatFields(fields: [string, string][]): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width + 1)}  ${value}`).join("\n");
}
