/**
 * Checkpoint ids: `chk_` followed by a ULID (48 bits of milliseconds, then 80
 * random bits, in Crockford base32), so that ids sort by creation time.
 *
 * Manifest keys use the id's sort key: every character of the ULID mirrored
 * in the alphabet, so that the newest checkpoint sorts first and "latest" is
 * one LIST with a limit of 1.
 */
import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PREFIX = "chk_";
const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

let lastTime = -1;
let lastRandom = new Uint8Array(10);

/** Makes a new checkpoint id, greater than every id made before by this process. */
export function newCheckpointId(now: number = Date.now()): string {
  return PREFIX + newUlid(now);
}

/** Tells whether `value` has the form of a checkpoint id. */
export function isCheckpointId(value: string): boolean {
  return isPrefixedUlid(PREFIX, value);
}

/**
 * The checkpoint id `value` names, its ULID in upper case (Crockford base32
 * ignores case: `chk_01jd...` names `chk_01JD...`), or undefined when `value`
 * is not a checkpoint id.
 */
export function canonicalCheckpointId(value: string): string | undefined {
  if (!value.startsWith(PREFIX)) return undefined;
  const id = PREFIX + value.slice(PREFIX.length).toUpperCase();
  return isCheckpointId(id) ? id : undefined;
}

/** Makes a new ULID, greater than every one made before by this process. */
export function newUlid(now: number = Date.now()): string {
  if (now <= lastTime) {
    // Same millisecond (or the clock stepped back): stay monotonic.
    increment(lastRandom);
  } else {
    lastTime = now;
    lastRandom = new Uint8Array(randomBytes(10));
  }
  return encodeTime(lastTime) + encodeRandom(lastRandom);
}

/** Tells whether `value` is `prefix` followed by a ULID. */
export function isPrefixedUlid(prefix: string, value: string): boolean {
  return value.startsWith(prefix) && ULID_PATTERN.test(value.slice(prefix.length));
}

/** The manifest sort key of a checkpoint id: newest sorts first. */
export function sortKeyOf(checkpointId: string): string {
  return mirror(checkpointId.slice(PREFIX.length));
}

/** The checkpoint id of a manifest sort key. */
export function checkpointIdOf(sortKey: string): string {
  return PREFIX + mirror(sortKey);
}

function mirror(ulid: string): string {
  let out = "";
  for (const char of ulid) out += ALPHABET[31 - ALPHABET.indexOf(char)];
  return out;
}

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let out = "";
  for (let i = 0; i < 16; i++) {
    out = ALPHABET[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return out;
}

function increment(bytes: Uint8Array): void {
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 255) {
      bytes[i]!++;
      return;
    }
    bytes[i] = 0;
  }
}
