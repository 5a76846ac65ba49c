/**
 * An in-process stand-in of the runtime's gRPC service for the SDK's
 * connection and load tests: served over plaintext or TLS (optionally
 * requiring client certificates), it records the metadata of every call,
 * answers a few methods with canned responses or a chosen status, and serves
 * one checkpoint whose bytes, hashes and id a test may alter.
 *
 * Also makes a throwaway CA, server and client certificates with openssl.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";
import { CHUNK_BYTES, DATA_MESSAGE_BYTES } from "@pulsecheckpoint/proto/protocol";
import type {
  Checkpoint,
  GetCheckpointRequest__Output,
  GetCheckpointResponse,
  LoadCheckpointRequest__Output,
  LoadCheckpointResponse,
} from "@pulsecheckpoint/proto/types";

/** PEM files of a test CA, server certificates for localhost, and a client certificate. */
export interface TestCertificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A server certificate the CA signed for the name localhost only, no IP address. */
  namesOnlyCert: string;
  namesOnlyKey: string;
  /** A second CA, which signed none of the above. */
  otherCa: string;
}

/** Makes the certificates with openssl in a temporary directory. */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "pulse-certs-" });
  const run = async (...args: string[]) => {
    const { code, stderr } = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
    }
  };
  try {
    for (const ca of ["ca", "other-ca"]) {
      await run(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${ca}.key`,
        "-out",
        `${ca}.pem`,
        "-days",
        "2",
        "-subj",
        `/CN=pulse test ${ca}`,
      );
    }
    await Deno.writeTextFile(
      `${dir}/server.ext`,
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    );
    await Deno.writeTextFile(
      `${dir}/client.ext`,
      "extendedKeyUsage=clientAuth\n",
    );
    await Deno.writeTextFile(
      `${dir}/names-only.ext`,
      "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    const leaves = [["server", "localhost"], ["client", "worker"], ["names-only", "localhost"]];
    for (const [name, cn] of leaves) {
      await run(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
        "-subj",
        `/CN=${cn}`,
      );
      await run(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${name}.pem`,
        "-days",
        "2",
        "-extfile",
        `${name}.ext`,
      );
    }
    const read = (file: string) => Deno.readTextFile(`${dir}/${file}`);
    return {
      ca: await read("ca.pem"),
      serverCert: await read("server.pem"),
      serverKey: await read("server.key"),
      clientCert: await read("client.pem"),
      clientKey: await read("client.key"),
      namesOnlyCert: await read("names-only.pem"),
      namesOnlyKey: await read("names-only.key"),
      otherCa: await read("other-ca.pem"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** One call the fake runtime received. */
export interface ReceivedCall {
  method: string;
  authorization: string | undefined;
}

/**
 * The checkpoint the fake keeps, and how it serves it: GetCheckpoint
 * describes `bytes` (size, SHA-256, chunk list), LoadCheckpoint sends
 * `served` (the same bytes unless a test alters them) from each window's
 * offset, in messages of DATA_MESSAGE_BYTES.
 */
export interface FakeCheckpoint {
  bytes: Uint8Array;
  /** What LoadCheckpoint sends in place of `bytes`. */
  served?: Uint8Array;
  /** What GetCheckpoint lists in place of the chunks' true hashes. */
  chunkSha256s?: string[];
  /** What GetCheckpoint and LoadCheckpoint give as its SHA-256 in place of the true one. */
  sha256?: string;
  /** The checkpoint id the windows from this offset on describe, in place of its own. */
  renamedFrom?: { offset: number; checkpointId: string };
}

/** The id of the fake's checkpoint. */
export const CHECKPOINT_ID = "chk_01JTESTTESTTESTTESTTESTTES";

/** A running fake runtime. */
export interface FakeRuntime {
  /** `127.0.0.1:<port>`. */
  address: string;
  /** Every call received, in order. */
  calls: ReceivedCall[];
  /** Every LoadCheckpoint request, in order. */
  loads: LoadCheckpointRequest__Output[];
  /** Every GetCheckpoint request, in order. */
  gets: GetCheckpointRequest__Output[];
  /** When set, GetWorker fails with this status. */
  failGetWorker: { code: grpc.status; details: string } | undefined;
  /** The checkpoint GetCheckpoint and LoadCheckpoint serve (LOADED_BYTES at first). */
  checkpoint: FakeCheckpoint;
  close(): Promise<void>;
}

/** The bytes LoadCheckpoint sends. */
export const LOADED_BYTES: Uint8Array = new TextEncoder().encode(
  "fake-checkpoint-bytes",
);

const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function chunkSha256s(bytes: Uint8Array): string[] {
  const sha256s: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    sha256s.push(sha256Hex(bytes.subarray(offset, offset + CHUNK_BYTES)));
  }
  return sha256s;
}

function describe(stored: FakeCheckpoint, offset: number): Checkpoint {
  const renamed = stored.renamedFrom !== undefined && offset >= stored.renamedFrom.offset;
  return {
    checkpoint_id: renamed ? stored.renamedFrom!.checkpointId : CHECKPOINT_ID,
    worker_id: "w1",
    size_bytes: stored.bytes.length,
    sha256: stored.sha256 ?? sha256Hex(stored.bytes),
    metadata: { fields: {} },
    created_at: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
    idempotency_key: "",
  };
}

// Sends the served bytes of one window, waiting for the call to drain.
async function serveWindow(
  call: grpc.ServerWritableStream<LoadCheckpointRequest__Output, LoadCheckpointResponse>,
  stored: FakeCheckpoint,
): Promise<void> {
  const { offset, length } = call.request;
  const served = stored.served ?? stored.bytes;
  const end = length === 0 ? served.length : Math.min(served.length, offset + length);
  if (!call.write({ checkpoint: describe(stored, offset) })) await once(call, "drain");
  for (let at = offset; at < end; at += DATA_MESSAGE_BYTES) {
    const data = served.subarray(at, Math.min(end, at + DATA_MESSAGE_BYTES));
    if (!call.write({ data })) await once(call, "drain");
  }
  call.end();
}

/** Starts a fake runtime; with `tls`, over TLS (and requiring client certificates if asked). */
export async function startFakeRuntime(
  tls?: { certificates: TestCertificates; requireClientCert: boolean },
): Promise<FakeRuntime> {
  const server = new grpc.Server();
  const fake: FakeRuntime = {
    address: "",
    calls: [],
    loads: [],
    gets: [],
    failGetWorker: undefined,
    checkpoint: { bytes: LOADED_BYTES },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
  const record = (method: string, metadata: grpc.Metadata) => {
    const value = metadata.get("authorization")[0];
    fake.calls.push({
      method,
      authorization: value === undefined ? undefined : String(value),
    });
  };
  const now = { seconds: Math.floor(Date.now() / 1000), nanos: 0 };
  const definition = loadPulsePackage();
  server.addService(definition[SERVICE_NAME] as grpc.ServiceDefinition, {
    Heartbeat: (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      record("Heartbeat", call.metadata);
      callback(null, { server_time: now, heartbeat_interval_ms: 10_000 });
    },
    GetWorker: (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      record("GetWorker", call.metadata);
      if (fake.failGetWorker) {
        callback({ ...fake.failGetWorker, name: "", message: "" });
        return;
      }
      callback(null, {
        worker: {
          worker_id: "w1",
          metadata: { fields: {} },
          registered_at: now,
          last_heartbeat: now,
          state: "WORKER_STATE_ACTIVE",
        },
      });
    },
    SaveCheckpoint: (
      call: grpc.ServerReadableStream<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      record("SaveCheckpoint", call.metadata);
      call.on("data", () => {});
      call.on("end", () => callback(null, { checkpoint: describe(fake.checkpoint, 0) }));
    },
    GetCheckpoint: (
      call: grpc.ServerUnaryCall<GetCheckpointRequest__Output, GetCheckpointResponse>,
      callback: grpc.sendUnaryData<GetCheckpointResponse>,
    ) => {
      record("GetCheckpoint", call.metadata);
      fake.gets.push(call.request);
      const stored = fake.checkpoint;
      callback(null, {
        checkpoint: describe(stored, 0),
        chunk_sha256s: call.request.include_chunks
          ? stored.chunkSha256s ?? chunkSha256s(stored.bytes)
          : [],
      });
    },
    LoadCheckpoint: (
      call: grpc.ServerWritableStream<LoadCheckpointRequest__Output, LoadCheckpointResponse>,
    ) => {
      record("LoadCheckpoint", call.metadata);
      fake.loads.push(call.request);
      serveWindow(call, fake.checkpoint).catch((error) => call.destroy(error));
    },
  });
  const credentials = tls === undefined
    ? grpc.ServerCredentials.createInsecure()
    : grpc.ServerCredentials.createSsl(
      // Always a CA: under Deno 2.8.3 a grpc-js TLS server given none
      // (`null`) fails every handshake ("wrong version number"), with Deno
      // and Node clients alike. With one, client certificates are still
      // only checked when `requireClientCert` says so.
      Buffer.from(tls.certificates.ca),
      [{
        cert_chain: Buffer.from(tls.certificates.serverCert),
        private_key: Buffer.from(tls.certificates.serverKey),
      }],
      tls.requireClientCert,
    );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", credentials, (error, port) => {
      if (error) reject(error);
      else resolve(port);
    });
  });
  fake.address = `127.0.0.1:${port}`;
  return fake;
}
