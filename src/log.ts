/**
 * Structured logs: one JSON object per line on stdout with `timestamp`,
 * `level`, `target`, `message` and the event's fields, or a readable line per
 * event when the format is `text`.
 */

/** Log levels, least severe first. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Output formats. */
export const LOG_FORMATS = ["json", "text"] as const;
/** An output format. */
export type LogFormat = typeof LOG_FORMATS[number];

/** The fields of one event, beside its message. */
export type LogFields = Record<string, unknown>;

let levelMin = LOG_LEVELS.indexOf("info");
let format: LogFormat = "json";
const encoder = new TextEncoder();

/** Sets the least severe level written and the output format. */
export function configureLog(
  options: { level: LogLevel; format: LogFormat },
): void {
  levelMin = LOG_LEVELS.indexOf(options.level);
  format = options.format;
}

function write(
  level: LogLevel,
  target: string,
  message: string,
  fields: LogFields,
): void {
  if (LOG_LEVELS.indexOf(level) < levelMin) return;
  const timestamp = new Date().toISOString();
  const line = format === "json"
    ? JSON.stringify({
      timestamp,
      level: level.toUpperCase(),
      target,
      message,
      ...fields,
    }, replacer)
    : `${timestamp} ${level.toUpperCase().padEnd(5)} ${target}: ${message}${textFields(fields)}`;
  // Synchronous, so that lines are never interleaved or lost at exit.
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

function textFields(fields: LogFields): string {
  const parts = Object.entries(fields).map(([key, value]) =>
    `${key}=${typeof value === "string" ? value : JSON.stringify(value, replacer)}`
  );
  return parts.length === 0 ? "" : " " + parts.join(" ");
}

// Errors become their message (and their cause's), bigints numbers.
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const cause = value.cause instanceof Error ? `: ${value.cause.message}` : "";
    return `${value.name}: ${value.message}${cause}`;
  }
  if (typeof value === "bigint") return Number(value);
  return value;
}

/** Writes events; `target` names the part of the runtime, e.g. `pulse::checkpoint`. */
export const log = {
  trace: (target: string, message: string, fields: LogFields = {}) =>
    write("trace", target, message, fields),
  debug: (target: string, message: string, fields: LogFields = {}) =>
    write("debug", target, message, fields),
  info: (target: string, message: string, fields: LogFields = {}) =>
    write("info", target, message, fields),
  warn: (target: string, message: string, fields: LogFields = {}) =>
    write("warn", target, message, fields),
  error: (target: string, message: string, fields: LogFields = {}) =>
    write("error", target, message, fields),
};
