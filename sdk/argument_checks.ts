/**
 * Checks of the arguments of {@linkcode Runtime}'s methods, for callers the
 * type checker does not see (JavaScript): an argument of the wrong shape fails
 * with INVALID_ARGUMENT naming it, before anything is sent, instead of making
 * another call than the one meant (`loadCheckpoint("w1", "chk_...")` loading
 * the latest checkpoint).
 *
 * @module
 */
import { PulseError } from "./pulse_error.ts";
import { checkParallelism } from "./_direct.ts";

/** What an argument must be, as a message says it: "a string", "an options object". */
type Expected = string;

/**
 * Describes a value for a message: `the string "w1"`, `the number 5`, `an array`.
 *
 * @param value any value
 * @returns a short description
 */
export function described(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return `the ${typeof value} ${String(value)}`;
  }
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  const name: unknown = Object.getPrototypeOf(value)?.constructor?.name;
  if (typeof name !== "string" || name === "" || name === "Object") return "an object";
  return `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`;
}

/**
 * Fails unless `ok`, with `Cannot <action>: <name> is <value>, expected <expected>`.
 *
 * @param ok whether the argument is right
 * @param action what the method does, for the message
 * @param name the argument's name, e.g. `options.checkpointId`
 * @param value the argument
 * @param expected what it must be
 * @throws {PulseError} INVALID_ARGUMENT unless `ok`
 */
export function check(
  ok: boolean,
  action: string,
  name: string,
  value: unknown,
  expected: Expected,
): void {
  if (ok) return;
  throw new PulseError(
    "INVALID_ARGUMENT",
    `Cannot ${action}: ${name} is ${described(value)}, expected ${expected}`,
  );
}

/**
 * @param action what the method does
 * @param name the argument's name
 * @param value the argument
 * @throws {PulseError} INVALID_ARGUMENT unless it is a string
 */
export function checkString(action: string, name: string, value: unknown): asserts value is string {
  check(typeof value === "string", action, name, value, "a string");
}

/**
 * @param action what the method does
 * @param name the argument's name
 * @param value the argument
 * @throws {PulseError} INVALID_ARGUMENT unless it is a string or absent
 */
export function checkOptionalString(
  action: string,
  name: string,
  value: unknown,
): asserts value is string | undefined {
  check(value === undefined || typeof value === "string", action, name, value, "a string");
}

/**
 * @param action what the method does
 * @param name the argument's name
 * @param value the argument
 * @throws {PulseError} INVALID_ARGUMENT unless it is true, false or absent
 */
export function checkOptionalBoolean(
  action: string,
  name: string,
  value: unknown,
): asserts value is boolean | undefined {
  check(value === undefined || typeof value === "boolean", action, name, value, "true or false");
}

/**
 * @param action what the method does
 * @param name the argument's name
 * @param value the argument
 * @param expected what it must be, when not just "an options object"
 * @throws {PulseError} INVALID_ARGUMENT unless it is a plain object (not an
 * array, a string or null) or absent
 */
export function checkOptions(
  action: string,
  name: string,
  value: unknown,
  expected: Expected = "an options object",
): asserts value is Record<string, unknown> | undefined {
  check(value === undefined || isPlainObject(value), action, name, value, expected);
}

/**
 * @param action what the method does
 * @param name the argument's name
 * @param value the argument
 * @throws {PulseError} INVALID_ARGUMENT unless it is a JSON object (not an array) or absent
 */
export function checkMetadata(action: string, name: string, value: unknown): void {
  check(value === undefined || isPlainObject(value), action, name, value, "a JSON object");
}

/**
 * A checkpoint id: a non-empty string, or absent for the worker's latest
 * checkpoint. An empty string is refused rather than taken for "the latest":
 * it is more often an id that was never set.
 *
 * @param action what the method does
 * @param name the argument's name
 * @param value the argument
 * @throws {PulseError} INVALID_ARGUMENT unless it is a non-empty string or absent
 */
export function checkOptionalCheckpointId(
  action: string,
  name: string,
  value: unknown,
): asserts value is string | undefined {
  const ok = value === undefined || (typeof value === "string" && value !== "");
  check(ok, action, name, value, "a checkpoint id, or nothing for the latest checkpoint");
}

/**
 * Which checkpoint of a worker: `{ checkpointId }`, or nothing for the latest.
 *
 * @param action what the method does
 * @param options the argument
 * @throws {PulseError} INVALID_ARGUMENT for anything else, e.g. the id itself
 * in place of the options object
 */
export function checkCheckpointOptions(action: string, options: unknown): void {
  const hint = typeof options === "string"
    ? ` such as { checkpointId: ${JSON.stringify(options)} }`
    : "";
  checkOptions(action, "options", options, `an options object${hint}`);
  checkOptionalCheckpointId(action, "options.checkpointId", options?.checkpointId);
  checkParallelism(action, "options.parallelism", options?.parallelism);
}

/**
 * Page size and token of a listing.
 *
 * @param action what the method does
 * @param options the argument
 * @throws {PulseError} INVALID_ARGUMENT for a page size that is not a
 * non-negative integer or a token that is not a string
 */
export function checkPageOptions(action: string, options: unknown): void {
  checkOptions(action, "options", options);
  const size = options?.pageSize;
  const ok = size === undefined || (Number.isSafeInteger(size) && (size as number) >= 0);
  check(ok, action, "options.pageSize", size, "a non-negative integer");
  checkOptionalString(action, "options.pageToken", options?.pageToken);
}

/**
 * The worker, metadata, idempotency key and incremental flag of a save.
 *
 * @param action what the method does
 * @param options the argument
 * @throws {PulseError} INVALID_ARGUMENT for any of them of the wrong shape
 */
export function checkSaveOptions(action: string, options: unknown): void {
  check(isPlainObject(options), action, "options", options, "an options object");
  const { workerId, metadata, idempotencyKey, incremental, parallelism } = options as Record<
    string,
    unknown
  >;
  checkString(action, "options.workerId", workerId);
  checkMetadata(action, "options.metadata", metadata);
  checkOptionalString(action, "options.idempotencyKey", idempotencyKey);
  checkOptionalBoolean(action, "options.incremental", incremental);
  checkParallelism(action, "options.parallelism", parallelism);
}

/**
 * The bytes of a save.
 *
 * @param action what the method does
 * @param data the argument
 * @throws {PulseError} INVALID_ARGUMENT unless it is a Uint8Array, a
 * ReadableStream, or an (async) iterable that is not a string
 */
export function checkData(action: string, data: unknown): void {
  const iterable = typeof data === "object" && data !== null &&
    (Symbol.asyncIterator in data || Symbol.iterator in data);
  const ok = data instanceof Uint8Array || data instanceof ReadableStream || iterable;
  check(
    ok,
    action,
    "options.data",
    data,
    "a Uint8Array, a ReadableStream or an (async) iterable of Uint8Arrays",
  );
}

/**
 * @param action what the method does
 * @param name the argument's name
 * @param value the argument
 * @param optional whether it may be absent
 * @throws {PulseError} INVALID_ARGUMENT unless it is a non-negative integer (or absent, if optional)
 */
export function checkCount(action: string, name: string, value: unknown, optional = false): void {
  const ok = (optional && value === undefined) ||
    (Number.isSafeInteger(value) && (value as number) >= 0);
  check(ok, action, name, value, "a non-negative integer");
}

/**
 * The job, step and world size of a shard or a step.
 *
 * @param action what the method does
 * @param options the argument
 * @throws {PulseError} INVALID_ARGUMENT for any of them of the wrong shape
 */
export function checkJobOptions(action: string, options: unknown): void {
  check(isPlainObject(options), action, "options", options, "an options object");
  const fields = options as Record<string, unknown>;
  checkString(action, "options.jobId", fields.jobId);
  checkCount(action, "options.step", fields.step);
  checkCount(action, "options.worldSize", fields.worldSize);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The address and options of a new {@linkcode Runtime}; the values inside are
 * checked where they are used (address syntax, token characters, retry ranges).
 *
 * @param address the argument
 * @param options the argument
 * @throws {PulseError} INVALID_ARGUMENT for any of them of the wrong shape
 */
export function checkRuntimeArguments(address: unknown, options: unknown): void {
  const action = "create Runtime";
  const expected = 'an address such as "grpc://host:port", or an array of them';
  if (Array.isArray(address)) {
    if (address.length === 0) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot ${action}: no address was given (address is an empty array)`,
      );
    }
    address.forEach((each, index) => checkString(action, `address[${index}]`, each));
  } else {
    check(typeof address === "string", action, "address", address, expected);
  }
  checkOptions(action, "options", options);
  checkOptionalString(action, "options.token", options?.token);
  const { tls, retry, channelOptions } = options ?? {};
  checkOptions(action, "options.tls", tls);
  for (const name of ["ca", "cert", "key"]) {
    const pem = tls?.[name];
    const ok = pem === undefined || typeof pem === "string" || pem instanceof Uint8Array;
    check(ok, action, `options.tls.${name}`, pem, "PEM text or bytes");
  }
  checkOptionalString(action, "options.tls.serverName", tls?.serverName);
  const retryOk = retry === undefined || retry === false || isPlainObject(retry);
  check(retryOk, action, "options.retry", retry, "retry options, or false for no retries");
  checkOptions(
    action,
    "options.channelOptions",
    channelOptions,
    "an object of grpc-js channel options",
  );
  const pending = options?.maxPendingSaves;
  const pendingOk = pending === undefined ||
    (Number.isSafeInteger(pending) && (pending as number) >= 1);
  check(pendingOk, action, "options.maxPendingSaves", pending, "an integer of 1 or more");
}

/**
 * Options of automatic heartbeats.
 *
 * @param action what the method does
 * @param name the argument's name
 * @param options the argument
 * @param expected what it must be, when not just "an options object"
 * @throws {PulseError} INVALID_ARGUMENT unless it is absent or an object
 * whose `onError` is a function or absent
 */
export function checkHeartbeatOptions(
  action: string,
  name: string,
  options: unknown,
  expected: Expected = "an options object",
): void {
  checkOptions(action, name, options, expected);
  const onError = options?.onError;
  check(
    onError === undefined || typeof onError === "function",
    action,
    `${name}.onError`,
    onError,
    "a function",
  );
}
