/**
 * The wire format of the PulseCheckpoint gRPC contract, shared by the SDK and
 * the runtime: the package definition loaded from the embedded descriptor, and
 * conversions between protobuf well-known types and plain JavaScript values.
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as protoLoader from "@grpc/proto-loader";
import { PULSE_DESCRIPTOR } from "./_descriptor.ts";

/**
 * A gRPC package definition as `@grpc/proto-loader` makes it: service and
 * message definitions by full name. `definition[SERVICE_NAME]` is the service
 * definition for a grpc-js client or server.
 */
export type PackageDefinition = Record<string, object>;

/** Full name of the service. */
export const SERVICE_NAME = "pulse.v1.PulseRuntime";

/**
 * Loads the gRPC package definition of `pulse.v1`.
 *
 * Fields keep their proto names (snake_case), 64-bit integers become numbers,
 * enums become their names, and every field is present with its default.
 *
 * @returns the package definition, for `grpc.loadPackageDefinition` or a server
 * @example
 * ```ts
 * import { loadPulsePackage } from "@pulsecheckpoint/sdk/wire";
 * const definition = loadPulsePackage();
 * ```
 */
export function loadPulsePackage(): PackageDefinition {
  return protoLoader.fromJSON(PULSE_DESCRIPTOR, {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}

/**
 * Size of every chunk of a checkpoint but the last: the runtime cuts saved
 * bytes at multiples of it, so a save that names chunks of a base checkpoint
 * (`chunk_sha256`) cuts its bytes the same way.
 */
export const CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * The `chunks_sha256` of a save's trailer: the hex SHA-256 of the chunks' hex
 * SHA-256s in order, each followed by a line feed.
 * @param chunkSha256s the hex SHA-256 of each chunk, in order
 * @returns the hex digest
 * @example
 * ```ts
 * import { chunksSha256 } from "@pulsecheckpoint/sdk/wire";
 * chunksSha256([]); // "e3b0c442...", the SHA-256 of nothing
 * ```
 */
export function chunksSha256(chunkSha256s: readonly string[]): string {
  const hash = createHash("sha256");
  for (const sha256 of chunkSha256s) hash.update(`${sha256}\n`);
  return hash.digest("hex");
}

/** A JSON value, as `google.protobuf.Value` carries it. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A JSON object, as `google.protobuf.Struct` carries it. */
export type JsonObject = { [key: string]: JsonValue };

/** `google.protobuf.Struct` as proto-loader represents it. */
export interface StructMessage {
  /** The object's members. */
  fields?: Record<string, ValueMessage>;
}

/** `google.protobuf.Value` as proto-loader represents it. */
export interface ValueMessage {
  /** Set (to `NULL_VALUE` or 0) when the value is JSON `null`. */
  null_value?: string | number;
  /** Set when the value is a number. */
  number_value?: number;
  /** Set when the value is a string. */
  string_value?: string;
  /** Set when the value is a boolean. */
  bool_value?: boolean;
  /** Set when the value is an object. */
  struct_value?: StructMessage;
  /** Set when the value is an array. */
  list_value?: { values?: ValueMessage[] };
  /** Name of the field of the `kind` oneof that is set. */
  kind?: string;
}

/** `google.protobuf.Timestamp` as proto-loader represents it. */
export interface TimestampMessage {
  /** Whole seconds since the Unix epoch (a string when beyond 2^53). */
  seconds: number | string;
  /** Nanoseconds within the second, 0 to 999,999,999. */
  nanos: number;
}

/**
 * Converts a JSON object to a `google.protobuf.Struct` message.
 * @param object the object; numbers must be finite
 * @returns the Struct message
 * @throws {TypeError} if a value is not JSON (a function, a non-finite number, ...)
 * @example
 * ```ts
 * import { toStruct } from "@pulsecheckpoint/sdk/wire";
 * toStruct({ epoch: 10 }); // { fields: { epoch: { number_value: 10 } } }
 * ```
 */
export function toStruct(object: JsonObject): StructMessage {
  const fields: Record<string, ValueMessage> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined) fields[key] = toValue(value);
  }
  return { fields };
}

function toValue(value: JsonValue): ValueMessage {
  if (value === null) return { null_value: "NULL_VALUE" };
  switch (typeof value) {
    case "boolean":
      return { bool_value: value };
    case "string":
      return { string_value: value };
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`metadata number ${value} is not finite`);
      }
      return { number_value: value };
    case "object":
      return Array.isArray(value)
        ? { list_value: { values: value.map(toValue) } }
        : { struct_value: toStruct(value) };
    default:
      throw new TypeError(`metadata value of type ${typeof value} is not JSON`);
  }
}

/**
 * Converts a `google.protobuf.Struct` message to a JSON object.
 * @param struct the message; absent means an empty object
 * @returns the JSON object
 * @example
 * ```ts
 * import { fromStruct } from "@pulsecheckpoint/sdk/wire";
 * fromStruct({ fields: { epoch: { number_value: 10, kind: "number_value" } } }); // { epoch: 10 }
 * ```
 */
export function fromStruct(
  struct: StructMessage | null | undefined,
): JsonObject {
  const object: JsonObject = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) {
    object[key] = fromValue(value);
  }
  return object;
}

function fromValue(value: ValueMessage): JsonValue {
  switch (value.kind) {
    case "bool_value":
      return value.bool_value ?? false;
    case "string_value":
      return value.string_value ?? "";
    case "number_value":
      return value.number_value ?? 0;
    case "struct_value":
      return fromStruct(value.struct_value);
    case "list_value":
      return (value.list_value?.values ?? []).map(fromValue);
    default:
      return null;
  }
}

/**
 * Converts a date to a `google.protobuf.Timestamp` message.
 * @param date the date
 * @returns the Timestamp message
 * @example
 * ```ts
 * import { toTimestamp } from "@pulsecheckpoint/sdk/wire";
 * toTimestamp(new Date(1500)); // { seconds: 1, nanos: 500000000 }
 * ```
 */
export function toTimestamp(date: Date): TimestampMessage {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

/**
 * Converts a `google.protobuf.Timestamp` message to a date (millisecond precision).
 * @param timestamp the message; absent means the epoch
 * @returns the date
 * @example
 * ```ts
 * import { fromTimestamp } from "@pulsecheckpoint/sdk/wire";
 * fromTimestamp({ seconds: 1, nanos: 500000000 }).getTime(); // 1500
 * ```
 */
export function fromTimestamp(
  timestamp: TimestampMessage | null | undefined,
): Date {
  if (!timestamp) return new Date(0);
  return new Date(
    Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000),
  );
}
