/**
 * The direct path of an S3 store: presigned requests that let clients move
 * chunk bytes straight to and from the bucket, and the check of what they
 * uploaded. A presigned PUT names one key and is signed with the chunk's
 * `x-amz-checksum-sha256` (and `If-None-Match: *` where the server enforces
 * conditional writes), so a server that checks checksums (AWS S3,
 * SeaweedFS, MinIO) refuses bytes that do not hash to the key's name, and no
 * URL can overwrite a chunk. URLs are signed for the endpoint as clients see
 * it (`storage.public_endpoint`), with the runtime's credentials, and expire.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { httpStatus } from "./s3_retry.ts";
import type { DirectTransfer, PresignedRequest } from "./store.ts";

/** What an `S3DirectTransfer` signs with and asks through. */
export interface S3DirectOptions {
  /** Signs URLs for the endpoint clients reach (`storage.public_endpoint`). */
  presignClient: S3Client;
  bucket: string;
  /** The store's key prefix. */
  prefix: string;
  /** Whether the server enforces `If-None-Match: *` (probed at open). */
  conditionalWrites: boolean;
  /** HEAD of an object key with its stored checksum, through the store's retries. */
  head: (objectKey: string) => Promise<{ size: number; checksumSha256?: string } | undefined>;
}

// Headers a presigned PUT signs, and therefore the client must send as given.
const SIGNED_HEADERS = ["x-amz-checksum-sha256", "if-none-match"];

/** `DirectTransfer` for one bucket and prefix. */
export class S3DirectTransfer implements DirectTransfer {
  readonly #options: S3DirectOptions;

  constructor(options: S3DirectOptions) {
    this.#options = options;
  }

  async presignPut(
    key: string,
    sha256: string,
    expiresInSeconds: number,
  ): Promise<PresignedRequest> {
    const checksum = Buffer.from(sha256, "hex").toString("base64");
    const headers: Record<string, string> = { "x-amz-checksum-sha256": checksum };
    if (this.#options.conditionalWrites) headers["if-none-match"] = "*";
    const url = await getSignedUrl(
      this.#options.presignClient,
      new PutObjectCommand({
        Bucket: this.#options.bucket,
        Key: this.#options.prefix + key,
        ChecksumSHA256: checksum,
        IfNoneMatch: headers["if-none-match"],
      }),
      {
        expiresIn: expiresInSeconds,
        // Kept as headers (not hoisted into the query) and signed: the server
        // then checks the bytes against the checksum, and a client cannot
        // leave the condition out.
        signableHeaders: new Set(SIGNED_HEADERS),
        unhoistableHeaders: new Set(SIGNED_HEADERS),
      },
    );
    return { url, headers };
  }

  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return await getSignedUrl(
      this.#options.presignClient,
      new GetObjectCommand({ Bucket: this.#options.bucket, Key: this.#options.prefix + key }),
      { expiresIn: expiresInSeconds },
    );
  }

  async describe(key: string): Promise<{ size: number; sha256?: string } | undefined> {
    const head = await this.#options.head(this.#options.prefix + key);
    if (head === undefined) return undefined;
    const { checksumSha256 } = head;
    return {
      size: head.size,
      sha256: checksumSha256 === undefined
        ? undefined
        : Buffer.from(checksumSha256, "base64").toString("hex"),
    };
  }
}

/** HEAD of `objectKey` in `bucket` with its checksum; undefined for a 404. */
export async function headWithChecksum(
  client: S3Client,
  bucket: string,
  objectKey: string,
): Promise<{ size: number; checksumSha256?: string } | undefined> {
  try {
    const response = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: objectKey, ChecksumMode: "ENABLED" }),
    );
    return { size: response.ContentLength ?? 0, checksumSha256: response.ChecksumSHA256 };
  } catch (error) {
    if (httpStatus(error) === 404) return undefined;
    throw error;
  }
}
