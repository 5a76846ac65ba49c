/**
 * Conversions between the protobuf well-known types the contract uses
 * (`google.protobuf.Struct` for metadata, `google.protobuf.Timestamp` for
 * times) and plain JavaScript values.
 *
 * @module
 */
import type {
  Struct,
  Struct__Output,
  Timestamp,
  Timestamp__Output,
  Value,
  Value__Output,
} from "./types.ts";

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

/**
 * Converts a JSON object to a `google.protobuf.Struct` message.
 * @param object the object; numbers must be finite
 * @returns the Struct message
 * @throws {TypeError} if a value is not JSON (a function, a non-finite number, ...)
 * @example
 * ```ts
 * import { toStruct } from "@pulsecheckpoint/proto";
 * toStruct({ epoch: 10 }); // { fields: { epoch: { number_value: 10 } } }
 * ```
 */
export function toStruct(object: JsonObject): Struct {
  const fields: Record<string, Value> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined) fields[key] = toValue(value);
  }
  return { fields };
}

function toValue(value: JsonValue): Value {
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
 * import { fromStruct } from "@pulsecheckpoint/proto";
 * fromStruct({ fields: { epoch: { number_value: 10, kind: "number_value" } } }); // { epoch: 10 }
 * ```
 */
export function fromStruct(
  struct: Struct__Output | null | undefined,
): JsonObject {
  const object: JsonObject = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) {
    object[key] = fromValue(value);
  }
  return object;
}

function fromValue(value: Value__Output): JsonValue {
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
 * import { toTimestamp } from "@pulsecheckpoint/proto";
 * toTimestamp(new Date(1500)); // { seconds: 1, nanos: 500000000 }
 * ```
 */
export function toTimestamp(date: Date): Timestamp {
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
 * import { fromTimestamp } from "@pulsecheckpoint/proto";
 * fromTimestamp({ seconds: 1, nanos: 500000000 }).getTime(); // 1500
 * ```
 */
export function fromTimestamp(
  timestamp: Timestamp__Output | null | undefined,
): Date {
  if (!timestamp) return new Date(0);
  return new Date(
    Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000),
  );
}
