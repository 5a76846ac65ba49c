/**
 * The S3 store: objects are objects of one bucket, under a key prefix, in AWS
 * S3 or any S3-compatible server (MinIO, SeaweedFS, Ceph, moto, s3rver).
 *
 * Every request goes through the one retry wrapper (`s3_retry.ts`); the SDK's
 * own retries are off (`s3_client.ts`). `putIfAbsent` uses conditional writes
 * (`If-None-Match: *`) where the server enforces them, detected once at open;
 * elsewhere it falls back to HEAD-then-PUT, which is exact only within this
 * process.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { assert, PulseError } from "../errors.ts";
import {
  httpStatus,
  type RetryClock,
  type S3RetryPolicy,
  SYSTEM_CLOCK,
  transientError,
  withRetry,
} from "./s3_retry.ts";
import { createS3Client, S3_TIMEOUTS, type S3Timeouts } from "./s3_client.ts";
import { headWithChecksum, S3DirectTransfer } from "./s3_direct.ts";
import { LIST_KEYS_MAX } from "./store.ts";
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from "./store.ts";

/** Most ListObjectsV2 pages one `list` call follows to fill its limit. */
export const LIST_PAGES_MAX = 100;

const HTTP_NOT_FOUND = 404;
const HTTP_CONFLICT = 409;
const HTTP_PRECONDITION_FAILED = 412;
const HTTP_RANGE_NOT_SATISFIABLE = 416;

// Where open() writes its conditional-write probe, under the store prefix.
const PROBE_KEY_PREFIX = ".pulse/probe-";

/** Where an `S3Store` keeps its objects, and how patiently it asks. */
export interface S3StoreOptions {
  /** The bucket; must not be empty. */
  bucket: string;
  /** Prepended to every key; "" for none. */
  prefix: string;
  /** The endpoint URL; "" for AWS S3 in `region`. */
  endpoint: string;
  region: string;
  /** Bucket in the path rather than the host name (MinIO, SeaweedFS, test servers). */
  forcePathStyle: boolean;
  /** Whether `open()` creates the bucket when it is missing. */
  createBucket: boolean;
  /** How often and how patiently each request is retried. */
  retry: S3RetryPolicy;
  /** The retry wrapper's clock (default: the system's), for tests. */
  clock?: RetryClock;
  /** Overrides of `S3_TIMEOUTS`, for tests. */
  timeouts?: Partial<S3Timeouts>;
  /**
   * The endpoint URL as clients reach it, which presigned URLs name; "" for
   * `endpoint` itself (`storage.public_endpoint`).
   */
  publicEndpoint?: string;
}

/** An `ObjectStore` in an S3 bucket. */
export class S3Store implements ObjectStore {
  readonly description: string;
  /** Presigned transfers for clients, set by `open()`. */
  direct!: S3DirectTransfer;
  #client: S3Client;
  #bucket: string;
  #prefix: string;
  #endpoint: string;
  #policy: S3RetryPolicy;
  #clock: RetryClock;
  #conditionalWrites = false;
  // Tails of the in-process chains of putIfAbsent calls per key, used by the
  // HEAD-then-PUT fallback.
  #keyLocks = new Map<string, Promise<void>>();

  private constructor(client: S3Client, options: S3StoreOptions) {
    this.#client = client;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix;
    this.#endpoint = endpointUrl(options);
    this.#policy = options.retry;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.description = `s3:${this.#endpoint}/${this.#bucket}/${this.#prefix}`;
  }

  /**
   * Connects to the bucket: checks once that it is reachable (creating it if
   * `createBucket` is set) and detects whether the server enforces
   * conditional writes.
   * @throws {PulseError} `failed_precondition` when the bucket is missing or
   *   access is refused, `unavailable` when the endpoint cannot be reached;
   *   the message names the endpoint and the bucket
   */
  static async open(options: S3StoreOptions): Promise<S3Store> {
    if (options.bucket === "") {
      throw new PulseError(
        "FAILED_PRECONDITION",
        "Cannot open S3 store: storage.bucket is empty",
      );
    }
    const client = createS3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      timeouts: { ...S3_TIMEOUTS, ...options.timeouts },
    });
    const store = new S3Store(client, options);
    try {
      await store.#ensureBucket(options.createBucket);
      store.#conditionalWrites = await store.#probeConditionalWrites();
    } catch (error) {
      client.destroy();
      throw store.#openFailure(error);
    }
    store.direct = new S3DirectTransfer({
      // Signing asks nothing of the network: this client only signs.
      presignClient: options.publicEndpoint
        ? createS3Client({
          endpoint: options.publicEndpoint,
          region: options.region,
          forcePathStyle: options.forcePathStyle,
          timeouts: S3_TIMEOUTS,
        })
        : client,
      bucket: options.bucket,
      prefix: options.prefix,
      conditionalWrites: store.#conditionalWrites,
      head: (objectKey) =>
        store.#retry(
          "HeadObject",
          objectKey,
          () => headWithChecksum(client, options.bucket, objectKey),
        ),
    });
    return store;
  }

  /**
   * Whether `putIfAbsent` uses conditional writes (`If-None-Match: *`),
   * as detected at open; false means the HEAD-then-PUT fallback.
   */
  get conditionalWrites(): boolean {
    return this.#conditionalWrites;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const objectKey = this.#objectKey(key);
    await this.#retry(
      "PutObject",
      objectKey,
      () => this.#send(objectKey, data),
    );
  }

  /**
   * Writes `data` under `key` unless an object is there. When an attempt was
   * retried after a lost answer, false may mean that the earlier attempt of
   * this very call wrote the object.
   */
  putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const objectKey = this.#objectKey(key);
    if (this.#conditionalWrites) {
      return this.#retry(
        "PutObject",
        objectKey,
        () => this.#sendIfAbsent(objectKey, data),
      );
    }
    // Without conditional writes, HEAD-then-PUT is a race between processes;
    // chaining the calls per key at least makes it exact within this one.
    return this.#exclusive(objectKey, async () => {
      if (await this.#headObject(objectKey) !== undefined) return false;
      await this.#retry(
        "PutObject",
        objectKey,
        () => this.#send(objectKey, data),
      );
      return true;
    });
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    const objectKey = this.#objectKey(key);
    if (range !== undefined) {
      assert(
        Number.isSafeInteger(range.offset) && range.offset >= 0 &&
          Number.isSafeInteger(range.length) && range.length >= 0,
        `byte range ${JSON.stringify(range)} is not two non-negative integers`,
      );
      // HTTP cannot ask for zero bytes ("bytes=5-4" is ignored and the whole
      // object sent): an empty range only needs to know the object exists.
      if (range.length === 0) {
        const info = await this.#headObject(objectKey);
        return info === undefined ? undefined : new Uint8Array(0);
      }
    }
    return await this.#retry(
      "GetObject",
      objectKey,
      () => this.#receive(objectKey, range),
    );
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.#headObject(this.#objectKey(key));
    return info === undefined ? undefined : { ...info, key };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
    const limit = Math.min(options.limit ?? LIST_KEYS_MAX, LIST_KEYS_MAX);
    const infos: ObjectInfo[] = [];
    let continuationToken: string | undefined;
    for (let page = 0; page < LIST_PAGES_MAX; page++) {
      if (infos.length >= limit) return infos;
      const result = await this.#retry(
        "ListObjectsV2",
        this.#objectKey(prefix),
        () =>
          this.#client.send(
            new ListObjectsV2Command({
              Bucket: this.#bucket,
              Prefix: this.#objectKey(prefix),
              // A continuation token already encodes where to go on from.
              StartAfter: continuationToken === undefined &&
                  options.startAfter !== undefined
                ? this.#objectKey(options.startAfter)
                : undefined,
              ContinuationToken: continuationToken,
              MaxKeys: limit - infos.length,
            }),
          ),
      );
      for (const object of result.Contents ?? []) {
        if (infos.length < limit) infos.push(this.#objectInfo(object));
      }
      continuationToken = result.IsTruncated ? result.NextContinuationToken : undefined;
      if (continuationToken === undefined) return infos;
    }
    throw new PulseError(
      "UNAVAILABLE",
      `Cannot list ${this.#objectKey(prefix)}: S3 returned ${LIST_PAGES_MAX} ` +
        `truncated pages holding only ${infos.length} of ${limit} keys`,
    );
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.#objectKey(key);
    await this.#retry("DeleteObject", objectKey, async () => {
      try {
        await this.#client.send(
          new DeleteObjectCommand({ Bucket: this.#bucket, Key: objectKey }),
        );
      } catch (error) {
        // S3 answers 204 for absent keys; some servers answer 404.
        if (httpStatus(error) !== HTTP_NOT_FOUND) throw error;
      }
    });
  }

  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }

  #objectKey(key: string): string {
    return this.#prefix + key;
  }

  #objectInfo(
    object: { Key?: string; Size?: number; LastModified?: Date },
  ): ObjectInfo {
    const objectKey = object.Key;
    assert(
      objectKey !== undefined && objectKey.startsWith(this.#prefix),
      `listed key ${objectKey} lies outside prefix ${this.#prefix}`,
    );
    return {
      key: objectKey.slice(this.#prefix.length),
      size: object.Size ?? 0,
      lastModified: object.LastModified ?? new Date(0),
    };
  }

  #retry<T>(
    operation: string,
    key: string,
    call: () => Promise<T>,
  ): Promise<T> {
    return withRetry({ operation, key }, call, this.#policy, this.#clock);
  }

  async #send(objectKey: string, data: Uint8Array): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: objectKey,
        Body: data,
        ContentLength: data.length,
        ContentType: "application/octet-stream",
      }),
    );
  }

  async #sendIfAbsent(objectKey: string, data: Uint8Array): Promise<boolean> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: objectKey,
          Body: data,
          ContentLength: data.length,
          ContentType: "application/octet-stream",
          IfNoneMatch: "*",
        }),
      );
      return true;
    } catch (error) {
      const status = httpStatus(error);
      if (status === HTTP_PRECONDITION_FAILED) return false;
      if (status !== HTTP_CONFLICT) throw error;
      // 409 ConditionalRequestConflict: a concurrent write to the key was in
      // progress. If it landed, the key is taken; if not, try again (false
      // here would claim an object that may never appear).
      if (await this.#headObject(objectKey) !== undefined) return false;
      throw Object.assign(error as Error, { $retryable: {} });
    }
  }

  async #receive(
    objectKey: string,
    range: ByteRange | undefined,
  ): Promise<Uint8Array | undefined> {
    let response;
    try {
      response = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: objectKey,
          Range: range === undefined
            ? undefined
            : `bytes=${range.offset}-${range.offset + range.length - 1}`,
        }),
      );
    } catch (error) {
      const status = httpStatus(error);
      if (status === HTTP_NOT_FOUND) return undefined;
      // The object exists but ends before the range starts.
      if (status === HTTP_RANGE_NOT_SATISFIABLE) return new Uint8Array(0);
      throw error;
    }
    const bytes = response.Body === undefined
      ? new Uint8Array(0)
      : await response.Body.transformToByteArray();
    // A connection cut mid-body may end the stream without an error: a short
    // body is a failed attempt, never data.
    const expected = response.ContentLength;
    if (expected !== undefined && bytes.length !== expected) {
      throw transientError(
        `response body of ${objectKey} ended after ${bytes.length} of ${expected} bytes`,
      );
    }
    return range === undefined ? bytes : rangeOf(bytes, response.ContentRange, range, objectKey);
  }

  #headObject(objectKey: string): Promise<ObjectInfo | undefined> {
    return this.#retry("HeadObject", objectKey, async () => {
      try {
        const response = await this.#client.send(
          new HeadObjectCommand({ Bucket: this.#bucket, Key: objectKey }),
        );
        return {
          key: objectKey,
          size: response.ContentLength ?? 0,
          lastModified: response.LastModified ?? new Date(0),
        };
      } catch (error) {
        if (httpStatus(error) === HTTP_NOT_FOUND) return undefined;
        throw error;
      }
    });
  }

  async #exclusive<T>(key: string, run: () => Promise<T>): Promise<T> {
    const previous = this.#keyLocks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = previous.then(() => new Promise<void>((r) => release = r));
    this.#keyLocks.set(key, tail);
    await previous;
    try {
      return await run();
    } finally {
      release();
      if (this.#keyLocks.get(key) === tail) this.#keyLocks.delete(key);
    }
  }

  async #ensureBucket(create: boolean): Promise<void> {
    const exists = await this.#retry("HeadBucket", this.#bucket, async () => {
      try {
        await this.#client.send(
          new HeadBucketCommand({ Bucket: this.#bucket }),
        );
        return true;
      } catch (error) {
        if (httpStatus(error) === HTTP_NOT_FOUND) return false;
        throw error;
      }
    });
    if (exists) return;
    if (!create) {
      throw new PulseError(
        "FAILED_PRECONDITION",
        `${this.#openContext()}: the bucket does not exist; ` +
          "create it, or set storage.create_bucket = true",
      );
    }
    await this.#retry("CreateBucket", this.#bucket, async () => {
      try {
        await this.#client.send(
          new CreateBucketCommand({ Bucket: this.#bucket }),
        );
      } catch (error) {
        // Created meanwhile by another runtime, or by an earlier attempt.
        if ((error as Error).name !== "BucketAlreadyOwnedByYou") throw error;
      }
    });
  }

  // Writes a probe object twice with `If-None-Match: *`: a server that
  // enforces the header refuses the second write with 412. Servers that
  // ignore it (s3rver) accept both; servers that reject the header outright
  // answer 400 or 501 to the first.
  async #probeConditionalWrites(): Promise<boolean> {
    const probeKey = this.#objectKey(
      `${PROBE_KEY_PREFIX}${crypto.randomUUID()}`,
    );
    const probe = new TextEncoder().encode("pulse conditional write probe\n");
    const write = () =>
      this.#retry("PutObject", probeKey, async () => {
        try {
          return await this.#sendIfAbsent(probeKey, probe) ? "written" : "kept";
        } catch (error) {
          const status = httpStatus(error);
          if (status === 400 || status === 501) return "refused";
          throw error;
        }
      });
    const first = await write();
    let written = first !== "refused";
    try {
      if (first === "refused") {
        await this.#retry(
          "PutObject",
          probeKey,
          () => this.#send(probeKey, probe),
        );
        written = true;
        return false;
      }
      return await write() === "kept";
    } finally {
      if (written) await this.delete(probeKey.slice(this.#prefix.length));
    }
  }

  #openContext(): string {
    return `Cannot open S3 store: bucket "${this.#bucket}" at ${this.#endpoint}`;
  }

  // Restates a failure of open() with the endpoint and bucket; an answer of
  // S3 (403 AccessDenied, 301 wrong region, ...) is a setup problem that
  // waiting will not fix.
  #openFailure(error: unknown): unknown {
    // Every start-up failure names the endpoint and the bucket, whoever
    // raised it (the credential providers throw plain errors).
    if (!(error instanceof PulseError)) {
      return new PulseError("UNAVAILABLE", `${this.#openContext()}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (error.message.startsWith(this.#openContext())) return error;
    const cause = error.cause ?? error;
    const status = httpStatus(cause);
    const answered = status !== undefined && status < 500 && status !== 429;
    return new PulseError(
      answered ? "FAILED_PRECONDITION" : "UNAVAILABLE",
      `${this.#openContext()}: ${error.message}`,
      { cause },
    );
  }
}

// The bytes of `range` in a response to a ranged GET. HTTP lets a server
// ignore a Range header and send the whole object (200, no Content-Range), or
// send more than asked (s3rver answers "bytes=0-0" with the whole object):
// both hold the range, which is cut out here.
function rangeOf(
  body: Uint8Array,
  contentRange: string | undefined,
  range: ByteRange,
  objectKey: string,
): Uint8Array {
  const served = contentRange === undefined
    ? { start: 0, end: body.length - 1, size: body.length }
    : parseContentRange(contentRange);
  // The last byte wanted, clamped to the object as stores do.
  const wantedEnd = served === undefined
    ? -1
    : Math.min(range.offset + range.length, served.size) - 1;
  if (
    served === undefined || served.start > range.offset ||
    served.end < wantedEnd || served.end - served.start + 1 !== body.length
  ) {
    throw new PulseError(
      "UNAVAILABLE",
      `Cannot GetObject ${objectKey}: asked for bytes ${range.offset}-` +
        `${range.offset + range.length - 1}, the server sent ${contentRange}`,
    );
  }
  return body.subarray(range.offset - served.start, wantedEnd - served.start + 1);
}

function parseContentRange(
  header: string,
): { start: number; end: number; size: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim());
  if (!match) return undefined;
  return { start: Number(match[1]), end: Number(match[2]), size: Number(match[3]) };
}

// The endpoint as users know it, for messages and `description`.
function endpointUrl(options: S3StoreOptions): string {
  const endpoint = options.endpoint.replace(/\/+$/, "");
  return endpoint !== "" ? endpoint : `https://s3.${options.region}.amazonaws.com`;
}
