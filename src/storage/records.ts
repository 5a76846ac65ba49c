/**
 * JSON records in an `ObjectStore`: write one, read one back checked against
 * its shape, list a page of them under a prefix. A stored record that is not
 * JSON or not of its shape is lost data: it fails with DATA_LOSS naming its
 * key, never as an internal error further on.
 */
import { PulseError } from "../errors.ts";
import { decodePageToken, encodePageToken, pageSize } from "../validation.ts";
import type { ObjectStore } from "./store.ts";

/** A kind of record: what messages call it, and the check of its shape. */
export interface RecordShape<T> {
  /** What messages call a record of this kind, e.g. `worker record`. */
  readonly name: string;
  /** Why `value` (parsed JSON) is not a `T`; undefined when it is one. */
  problem(value: unknown): string | undefined;
}

/** What `fieldsProblem` expects of a field. */
export type FieldType = "string" | "date" | "integer" | "boolean" | "object";

/** A page of records to list, as list requests ask for it. */
export interface PageRequest {
  /** For messages: `list datasets`, ... */
  action: string;
  /** The prefix of the records' keys, which page tokens must start with. */
  prefix: string;
  /** 0 for the default. */
  pageSize: number;
  /** Empty for the first page. */
  pageToken: string;
}

/** One page of records, in key order, and the token of the next ("" after the last). */
export interface RecordPage<T> {
  records: T[];
  nextPageToken: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A record as stored: its JSON in UTF-8. */
export function encodeRecord(record: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(record));
}

/**
 * Decodes a stored record, checking its shape.
 * @throws {PulseError} DATA_LOSS naming `key` when the bytes are not JSON of that shape
 */
export function decodeRecord<T>(key: string, bytes: Uint8Array, shape: RecordShape<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    value = undefined; // not JSON: no shape accepts it
  }
  const problem = shape.problem(value);
  if (problem !== undefined) {
    throw new PulseError("DATA_LOSS", `Cannot read ${shape.name} ${key}: ${problem}`);
  }
  return value as T;
}

/** Writes a record under `key`, replacing any. */
export async function writeRecord(store: ObjectStore, key: string, record: unknown): Promise<void> {
  await store.put(key, encodeRecord(record));
}

/**
 * Reads the record under `key`; undefined if there is none.
 * @throws {PulseError} DATA_LOSS naming `key` when it is not of `shape`
 */
export async function readRecord<T>(
  store: ObjectStore,
  key: string,
  shape: RecordShape<T>,
): Promise<T | undefined> {
  const bytes = await store.get(key);
  return bytes === undefined ? undefined : decodeRecord(key, bytes, shape);
}

/**
 * Lists a page of the records under `request.prefix`, in key order.
 * @throws {PulseError} INVALID_ARGUMENT for a page size above the limit or a
 *   page token of another listing; DATA_LOSS for a record not of `shape`
 */
export async function listRecords<T>(
  store: ObjectStore,
  shape: RecordShape<T>,
  request: PageRequest,
): Promise<RecordPage<T>> {
  const { action, prefix } = request;
  const size = pageSize(action, request.pageSize);
  const startAfter = decodePageToken(action, request.pageToken, prefix);
  // One key more than the page tells whether there is a next page.
  const infos = await store.list(prefix, { startAfter, limit: size + 1 });
  const page = infos.slice(0, size);
  const records = await Promise.all(page.map((info) => readRecord(store, info.key, shape)));
  return {
    // A record deleted since the listing is left out.
    records: records.filter((record) => record !== undefined),
    nextPageToken: infos.length > size ? encodePageToken(page[page.length - 1]!.key) : "",
  };
}

/**
 * The first problem of a record's fields, for shape checks: the value is not
 * a JSON object, or a field is missing or of another type. A `date` is a
 * string that `Date.parse` reads; an `object` is a JSON object or array.
 */
export function fieldsProblem(
  value: unknown,
  fields: Readonly<Record<string, FieldType>>,
): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "not a JSON object";
  }
  const record = value as Record<string, unknown>;
  for (const [field, type] of Object.entries(fields)) {
    const problem = fieldProblem(record[field], type);
    if (problem !== undefined) return `${field} ${problem}`;
  }
  return undefined;
}

function fieldProblem(value: unknown, type: FieldType): string | undefined {
  switch (type) {
    case "string":
      return typeof value === "string" ? undefined : "is not a string";
    case "date":
      return typeof value === "string" && !Number.isNaN(Date.parse(value))
        ? undefined
        : "is not a date";
    case "integer":
      return Number.isSafeInteger(value) ? undefined : "is not an integer";
    case "boolean":
      return typeof value === "boolean" ? undefined : "is not a boolean";
    case "object":
      return typeof value === "object" && value !== null ? undefined : "is not an object";
  }
}
