/**
 * Starts s3rver (an S3 server in JavaScript, on the local filesystem) on a free
 * loopback port, for tests of the S3 store that need no other process.
 *
 * Three fixes make it behave as S3 does where the tests need it:
 * - it accepts the credentials of the environment (AWS_ACCESS_KEY_ID and
 *   AWS_SECRET_ACCESS_KEY), not only its built-in S3RVER/S3RVER pair;
 * - its listings follow S3: ascending key order, `start-after` and
 *   `max-keys` applied to that order. s3rver lists keys in the order the
 *   filesystem returns directory entries (hash order on ext4), so its pages
 *   come out unsorted and keys are lost between pages;
 * - its continuation tokens work: s3rver encrypts them with DES, which
 *   Deno's node:crypto lacks (every truncated listing answered 500). Here a
 *   "des" cipher passes bytes through unchanged: the tokens are opaque to
 *   clients anyway.
 */
import crypto from "node:crypto";
import S3rver from "s3rver";
import AWSAccount from "s3rver/lib/models/account.js";

/** A running s3rver. */
export interface S3rverServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** A bucket that exists from the start. */
  bucket: string;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

/** Options of `startS3rver`. */
export interface S3rverOptions {
  /**
   * Most keys per listing page, below S3's 1000: lets tests check that
   * clients follow continuation tokens when a page holds fewer keys than
   * asked for, as S3 allows.
   */
  listPageKeysMax?: number;
}

const BUCKET = "pulse-test";

// The shape of s3rver's listing, the part this helper touches.
interface Listing {
  objects: { key: string }[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
interface ListingOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}
type ListObjects = (
  bucket: string,
  options: ListingOptions,
) => Promise<Listing>;

/** Starts s3rver on a free loopback port with one empty bucket. */
export async function startS3rver(
  options: S3rverOptions = {},
): Promise<S3rverServer> {
  acceptEnvironmentCredentials();
  passThroughDes();
  const directory = await Deno.makeTempDir({ prefix: "pulse-s3rver-" });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  sortListings(server.store, options.listPageKeysMax ?? Infinity);
  const { port } = await server.run() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: BUCKET,
    async stop() {
      await server.close();
      await Deno.remove(directory, { recursive: true });
    },
  };
}

// s3rver checks signatures against the keys of its one dummy account.
function acceptEnvironmentCredentials(): void {
  const accessKeyId = Deno.env.get("AWS_ACCESS_KEY_ID");
  const secretAccessKey = Deno.env.get("AWS_SECRET_ACCESS_KEY");
  if (accessKeyId && secretAccessKey) {
    AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  }
}

let desPatched = false;

// Makes node:crypto's createCipheriv and createDecipheriv accept "des", as
// a cipher that leaves bytes unchanged; other algorithms are untouched.
function passThroughDes(): void {
  if (desPatched) return;
  desPatched = true;
  const identity = () => ({
    update: (data: string | Uint8Array, encoding?: BufferEncoding) =>
      typeof data === "string" ? Buffer.from(data, encoding) : Buffer.from(data),
    final: () => Buffer.alloc(0),
  });
  const patch = (name: "createCipheriv" | "createDecipheriv") => {
    const original = crypto[name] as (...args: unknown[]) => unknown;
    Object.assign(crypto, {
      [name]: (algorithm: string, ...rest: unknown[]) =>
        algorithm === "des" ? identity() : original(algorithm, ...rest),
    });
  };
  patch("createCipheriv");
  patch("createDecipheriv");
}

// Replaces s3rver's listing with one in S3's order: every key under the
// prefix, sorted, then `start-after` and `max-keys` applied.
function sortListings(
  store: { listObjects: ListObjects },
  pageKeysMax: number,
): void {
  const listObjects = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    if (options.delimiter) return listObjects(bucket, options);
    const all = await listObjects(bucket, {
      ...options,
      startAfter: "",
      maxKeys: Infinity,
    });
    const startAfter = options.startAfter ?? "";
    const objects = all.objects
      .filter((object) => object.key > startAfter)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const keysMax = Math.min(options.maxKeys ?? Infinity, pageKeysMax);
    return {
      objects: objects.slice(0, keysMax),
      commonPrefixes: [],
      isTruncated: objects.length > keysMax,
    };
  };
}
