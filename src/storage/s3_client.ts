/**
 * Construction of the AWS SDK's S3 client for `S3Store`: the endpoint, the
 * timeouts of an attempt, the connection pool, and the SDK behaviours the
 * store replaces (retries) or must not have (streamed checksums).
 */
import { S3Client } from "@aws-sdk/client-s3";

/** Timeouts of one S3 request attempt; a timed-out attempt is retried. */
export interface S3Timeouts {
  /** Longest wait for a TCP (and TLS) connection. */
  connectionMs: number;
  /** Longest wait from sending a request to its response headers. */
  requestMs: number;
  /** Longest silence of a socket mid-transfer (covers response bodies). */
  socketIdleMs: number;
}

/** The timeouts the runtime uses. */
export const S3_TIMEOUTS: S3Timeouts = {
  // An endpoint that does not accept a connection in 5 s is down or
  // unreachable; failing fast lets the retry wrapper try again.
  connectionMs: 5_000,
  // Upload of a whole chunk (8 MiB) and the server's answer: 60 s allows a
  // link as slow as about 140 KiB/s.
  requestMs: 60_000,
  // A transfer that stalls for 30 s is dead, even if the socket is open.
  socketIdleMs: 30_000,
};

/** Most open connections to the endpoint; requests beyond it queue. */
export const S3_SOCKETS_MAX = 128;

/** Where and how an S3 client connects. */
export interface S3ClientOptions {
  /** The endpoint URL; "" for AWS S3 in `region`. */
  endpoint: string;
  region: string;
  /** Bucket in the path rather than the host name (MinIO, SeaweedFS, test servers). */
  forcePathStyle: boolean;
  timeouts: S3Timeouts;
}

/**
 * An S3 client for one endpoint, with the SDK's retries off (the store's
 * retry wrapper retries), request checksums only where S3 requires them, and
 * `timeouts` on every attempt.
 */
export function createS3Client(options: S3ClientOptions): S3Client {
  const { timeouts } = options;
  const agent = {
    // Reuse connections: chunk writes come in bursts.
    keepAlive: true,
    // More parallel requests than the chunk writes and reads in flight of a
    // few concurrent saves and loads; beyond that, requests queue.
    maxSockets: S3_SOCKETS_MAX,
  };
  return new S3Client({
    endpoint: options.endpoint || undefined,
    region: options.region,
    // MinIO, SeaweedFS, Ceph and test servers on localhost have no
    // per-bucket DNS names.
    forcePathStyle: options.forcePathStyle,
    // Our retry wrapper retries (with our policy and metrics); SDK retries
    // would multiply the attempts.
    maxAttempts: 1,
    // Checksums only where S3 requires them: the SDK's default streams
    // bodies in aws-chunked framing with trailing checksums, which servers
    // such as s3rver store verbatim (corrupt). Chunks carry their own SHA-256,
    // verified on every read.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // Credentials come from the SDK's default chain: AWS_ACCESS_KEY_ID and
    // AWS_SECRET_ACCESS_KEY first, then profiles and instance roles.
    requestHandler: {
      // Fail an attempt that cannot connect, so the wrapper can try again.
      connectionTimeout: timeouts.connectionMs,
      // Bound an attempt from request start to response headers, and make
      // exceeding it an error (by default the SDK only logs a warning).
      requestTimeout: timeouts.requestMs,
      throwOnRequestTimeout: true,
      // Bound silence mid-transfer, which also covers response bodies.
      socketTimeout: timeouts.socketIdleMs,
      httpAgent: agent,
      httpsAgent: agent,
    },
  });
}
