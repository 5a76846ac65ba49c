/**
 * An in-process stand-in of the runtime's gRPC service for the SDK's
 * connection tests: served over plaintext or TLS (optionally requiring client
 * certificates), it records the metadata of every call and answers a few
 * methods with canned responses, or with a chosen status.
 *
 * Also makes a throwaway CA, server and client certificates with openssl.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";

/** PEM files of a test CA, a server certificate for localhost, and a client certificate. */
export interface TestCertificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
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
    for (const [name, cn] of [["server", "localhost"], ["client", "worker"]]) {
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

/** A running fake runtime. */
export interface FakeRuntime {
  /** `127.0.0.1:<port>`. */
  address: string;
  /** Every call received, in order. */
  calls: ReceivedCall[];
  /** When set, GetWorker fails with this status. */
  failGetWorker: { code: grpc.status; details: string } | undefined;
  close(): Promise<void>;
}

/** The bytes LoadCheckpoint sends. */
export const LOADED_BYTES: Uint8Array = new TextEncoder().encode(
  "fake-checkpoint-bytes",
);

/** Starts a fake runtime; with `tls`, over TLS (and requiring client certificates if asked). */
export async function startFakeRuntime(
  tls?: { certificates: TestCertificates; requireClientCert: boolean },
): Promise<FakeRuntime> {
  const server = new grpc.Server();
  const fake: FakeRuntime = {
    address: "",
    calls: [],
    failGetWorker: undefined,
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
  const checkpoint = {
    checkpoint_id: "chk_01JTESTTESTTESTTESTTESTTES",
    worker_id: "w1",
    size_bytes: LOADED_BYTES.length,
    sha256: createHash("sha256").update(LOADED_BYTES).digest("hex"),
    metadata: { fields: {} },
    created_at: now,
    idempotency_key: "",
  };
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
      call.on("end", () => callback(null, { checkpoint }));
    },
    LoadCheckpoint: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      record("LoadCheckpoint", call.metadata);
      call.write({ checkpoint });
      call.write({ data: LOADED_BYTES });
      call.end();
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
