/**
 * Checks of what enters the runtime: ids, metadata, page sizes. Every domain
 * operation validates its input here, whatever the caller, because ids become
 * parts of object keys.
 *
 * Errors read `Cannot <action>: <reason>`, naming the field and the limit.
 */
import { PulseError } from "./errors.ts";
import {
  ID_LENGTH_MAX,
  ID_PATTERN,
  METADATA_BYTES_MAX,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
} from "./limits.ts";

/** A JSON object, as metadata is. */
export type Metadata = Record<string, unknown>;

const encoder = new TextEncoder();

/** Checks a worker id or dataset name. */
export function validateId(action: string, field: string, value: string): void {
  if (value.length === 0) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: ${field} is empty`,
    );
  }
  if (value.length > ID_LENGTH_MAX) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: ${field} is ${value.length} characters, limit is ${ID_LENGTH_MAX}`,
    );
  }
  if (!ID_PATTERN.test(value)) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: ${field} ${
        JSON.stringify(value)
      } must be characters of [A-Za-z0-9._-] starting with a letter or digit`,
    );
  }
}

/** Checks a free-text field such as an idempotency key or a dataset path. */
export function validateText(
  action: string,
  field: string,
  value: string,
  lengthMax: number,
): void {
  if (value.length > lengthMax) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: ${field} is ${value.length} characters, limit is ${lengthMax}`,
    );
  }
}

/**
 * Checks that metadata is JSON (a protobuf `Struct` can carry NaN and
 * ±Infinity, which JSON cannot) and within `METADATA_BYTES_MAX` (its size as
 * UTF-8 JSON).
 */
export function validateMetadata(
  action: string,
  field: string,
  metadata: Metadata,
): void {
  const bytes = encoder.encode(JSON.stringify(metadata)).length;
  if (bytes > METADATA_BYTES_MAX) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: ${field} is ${bytes} bytes, limit is ${METADATA_BYTES_MAX}`,
    );
  }
  const nonFinite = nonFiniteNumber(metadata, field);
  if (nonFinite) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: ${nonFinite.path} is ${nonFinite.value}; metadata numbers must be finite`,
    );
  }
}

function nonFiniteNumber(
  value: unknown,
  path: string,
): { path: string; value: number } | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value) ? undefined : { path, value };
  }
  if (value === null || typeof value !== "object") return undefined;
  const entries = Array.isArray(value)
    ? value.map((item, index) => [`${path}[${index}]`, item] as const)
    : Object.entries(value).map(([key, item]) => [`${path}.${key}`, item] as const);
  for (const [itemPath, item] of entries) {
    const found = nonFiniteNumber(item, itemPath);
    if (found) return found;
  }
  return undefined;
}

/** Resolves a requested page size: 0 means the default, above the maximum is an error. */
export function pageSize(action: string, requested: number): number {
  if (requested > PAGE_SIZE_MAX) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: page_size is ${requested}, limit is ${PAGE_SIZE_MAX}`,
    );
  }
  return requested === 0 ? PAGE_SIZE_DEFAULT : requested;
}

/**
 * Page tokens are the last key of the previous page, base64url-encoded so that
 * clients treat them as opaque.
 */
export function encodePageToken(lastKey: string): string {
  return btoa(lastKey).replaceAll("+", "-").replaceAll("/", "_").replaceAll(
    "=",
    "",
  );
}

/** Decodes a page token made by `encodePageToken` that must start with `prefix`. */
export function decodePageToken(
  action: string,
  token: string,
  prefix: string,
): string | undefined {
  if (token === "") return undefined;
  let key: string;
  try {
    key = atob(token.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    key = "";
  }
  if (!key.startsWith(prefix)) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: page_token is not valid here`,
    );
  }
  return key;
}
