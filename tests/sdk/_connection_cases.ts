/**
 * Connections a client may get wrong, all made on loopback against real
 * runtimes (plaintext, TLS, mutual TLS) with the development certificates of
 * `deno task certs`, and the cause a failed one's message must name. The Deno
 * tests (connection_test.ts) and the Node ones (node_test.ts, through
 * node/connect.ts) try the same cases. Certificates are files, as a user has
 * them.
 */
import { startRuntime } from "../support/runtime.ts";
import { developmentCertificates, startTlsRuntime, TLS_ENV } from "./_tls.ts";

/** TLS settings of a case, as paths of PEM files. */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

/** One connection and what must come of it. */
export interface ConnectionCase {
  name: string;
  address: string;
  tls?: TlsFiles;
  /** The cause the message names after `no connection to <address>: `; absent for a connection that works. */
  cause?: RegExp;
}

/** The runtimes the cases connect to, and the cases. */
export interface ConnectionTargets {
  cases: ConnectionCase[];
  stop(): Promise<void>;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const exactly = (text: string) => new RegExp(`^${escape(text)}$`);

/** Starts the runtimes and writes the certificates; `stop()` undoes both. */
export async function startConnectionTargets(): Promise<ConnectionTargets> {
  const dir = await Deno.makeTempDir({ prefix: "pulse-sdk-connect-" });
  const certs = await developmentCertificates();
  // Another CA and a client certificate it signed: nothing on the runtimes trusts it.
  const stranger = await developmentCertificates();
  for (const [name, text] of Object.entries(certs)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  for (const [name, text] of Object.entries(stranger)) {
    await Deno.writeTextFile(`${dir}/stranger-${name}`, text);
  }
  const plain = await startRuntime();
  const tls = await startTlsRuntime(certs, TLS_ENV);
  const mutual = await startTlsRuntime(certs, { ...TLS_ENV, PULSE_TLS_CLIENT_CA: "certs/ca.pem" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = listener.addr.port;
  listener.close();
  const ca = `${dir}/ca.pem`;
  const client = { cert: `${dir}/client.pem`, key: `${dir}/client.key` };
  const cases: ConnectionCase[] = [
    { name: "TLS by IP address", address: `grpcs://127.0.0.1:${tls.port}`, tls: { ca } },
    {
      name: "mutual TLS by IP address",
      address: `grpcs://127.0.0.1:${mutual.port}`,
      tls: { ca, ...client },
    },
    ...failures({ dir, ca, closedPort, plainPort: plain.grpcAddress.split(":")[1]!, tls, mutual }),
  ];
  return {
    cases,
    stop: async () => {
      await plain.stop();
      await tls.stop();
      await mutual.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function failures(
  targets: {
    dir: string;
    ca: string;
    closedPort: number;
    plainPort: string;
    tls: { port: string };
    mutual: { port: string };
  },
): ConnectionCase[] {
  const { dir, ca, tls, mutual } = targets;
  return [
    {
      name: "nothing listens on the port",
      address: `grpc://127.0.0.1:${targets.closedPort}`,
      cause: exactly(
        "nothing listens on that port (connection refused); is the runtime running, and on this port?",
      ),
    },
    {
      name: "the host name does not resolve",
      address: "grpc://no-such-host.invalid:50051",
      cause: exactly("the host name no-such-host.invalid does not resolve (DNS)"),
    },
    {
      name: "a plaintext client on a TLS port",
      address: `grpc://localhost:${tls.port}`,
      cause: exactly(
        "the runtime closed the connection before HTTP/2 began, so it likely serves TLS on that port; use grpcs://",
      ),
    },
    {
      name: "a TLS client on a plaintext port",
      address: `grpcs://localhost:${targets.plainPort}`,
      tls: { ca },
      cause: exactly(
        "the runtime answered in plaintext, so it does not serve TLS on that port; use grpc://",
      ),
    },
    {
      // Node's OpenSSL reports the runtime's alert; under Deno the connection just closes.
      name: "no client certificate for a runtime that requires one",
      address: `grpcs://localhost:${mutual.port}`,
      tls: { ca },
      cause:
        /^(the runtime requires a client certificate|the runtime closed the connection after the TLS handshake, so it likely requires a client certificate) \(mutual TLS\); give tls\.cert and tls\.key$/,
    },
    {
      name: "a client certificate the runtime's client CA did not sign",
      address: `grpcs://localhost:${mutual.port}`,
      tls: { ca, cert: `${dir}/stranger-client.pem`, key: `${dir}/stranger-client.key` },
      cause:
        /^(the runtime refused the client certificate|the runtime closed the connection after the TLS handshake, so it likely refused the client certificate) \(not signed by its client CA, expired, or not for client authentication\)$/,
    },
    {
      name: "a CA that did not sign the runtime's certificate",
      address: `grpcs://localhost:${tls.port}`,
      tls: { ca: `${dir}/stranger-ca.pem` },
      cause: exactly(
        "the runtime's certificate is not signed by a CA the client trusts; pass the CA that signed it as tls.ca",
      ),
    },
    {
      name: "a certificate for other names",
      address: `grpcs://localhost:${tls.port}`,
      tls: { ca, serverName: "pulse.example.com" },
      cause: exactly(
        "the runtime's certificate is not valid for pulse.example.com; connect by a name or address it lists, or set tls.serverName",
      ),
    },
  ];
}

/**
 * Checks what a case came to: success where it has no cause, else
 * UNAVAILABLE with `Cannot <action>: no connection to <address>: <cause>
 * (grpc-js: <its words>)`.
 *
 * @returns what is wrong, or undefined
 */
export function mismatch(
  testCase: ConnectionCase,
  action: string,
  outcome: { ok: true } | { code: string; message: string },
): string | undefined {
  if (testCase.cause === undefined) {
    return "ok" in outcome ? undefined : `failed: ${JSON.stringify(outcome)}`;
  }
  if ("ok" in outcome) return "succeeded";
  if (outcome.code !== "UNAVAILABLE") return `code ${outcome.code}: ${outcome.message}`;
  const prefix = `Cannot ${action}: no connection to ${testCase.address}: `;
  const match = /^(.*) \(grpc-js: .+\)$/s.exec(outcome.message.slice(prefix.length));
  const ok = outcome.message.startsWith(prefix) && match !== null &&
    testCase.cause.test(match[1]!);
  return ok ? undefined : `message ${JSON.stringify(outcome.message)}`;
}
