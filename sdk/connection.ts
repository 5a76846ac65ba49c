/**
 * How a {@linkcode Runtime} reaches the runtime: the address schemes
 * (`grpc://` plaintext, `grpcs://` TLS), the TLS material, and the bearer
 * token sent with every call.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { createSecureContext } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import type { ConnectionAttempt } from "./connection_failure.ts";
import { IpAddressCredentials } from "./ip_address_credentials.ts";
import { PulseError } from "./pulse_error.ts";

/** PEM text, or its bytes. */
export type Pem = string | Uint8Array;

/**
 * TLS settings of a `grpcs://` address. Without any, the system's trusted
 * roots verify the runtime's certificate.
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * import { Runtime } from "@pulsecheckpoint/sdk";
 *
 * // Mutual TLS against a private CA.
 * const rt = new Runtime("grpcs://pulse.internal:50051", {
 *   tls: {
 *     ca: readFileSync("ca.pem"),
 *     cert: readFileSync("worker.pem"),
 *     key: readFileSync("worker-key.pem"),
 *   },
 * });
 * rt.close();
 * ```
 */
export interface TlsOptions {
  /** Root certificates that verify the runtime's certificate, in place of the system's. */
  ca?: Pem;
  /** The client's certificate chain, for mutual TLS; needs `key`. */
  cert?: Pem;
  /** The client's private key, for mutual TLS; needs `cert`. */
  key?: Pem;
  /** The name to verify the runtime's certificate against, when it is not the address's host. */
  serverName?: string;
}

/** Where and how to connect, worked out from an address and options. */
export interface Connection {
  /** The grpc-js target, e.g. `localhost:50051`. */
  target: string;
  /** Plaintext or TLS. */
  credentials: grpc.ChannelCredentials;
  /** Channel options the connection needs (TLS server name). */
  channelOptions: grpc.ChannelOptions;
  /** What is tried, for messages about connections that fail. */
  attempt: ConnectionAttempt;
}

const SCHEMES = ["grpc:", "grpcs:"];

/**
 * Works out the grpc-js target and credentials of an address.
 *
 * @param address `grpc://host:port`, `grpcs://host:port`, or `host:port` (plaintext)
 * @param tls TLS settings; only with `grpcs://`
 * @returns the target, credentials and channel options
 * @throws {PulseError} INVALID_ARGUMENT for an address that is not one of those,
 * or TLS settings with a plaintext address
 */
export function connectionOf(
  address: string,
  tls: TlsOptions | undefined,
): Connection {
  const url = parseAddress(address);
  if (url.protocol === "grpc:") {
    if (tls !== undefined) {
      throw invalid(
        `tls options were given for the plaintext address "${address}"; use grpcs://`,
      );
    }
    return {
      target: url.host,
      credentials: grpc.credentials.createInsecure(),
      channelOptions: {},
      attempt: {
        address: `grpc://${url.host}`,
        host: hostnameOf(url),
        tls: false,
        clientCertificate: false,
      },
    };
  }
  if ((tls?.cert === undefined) !== (tls?.key === undefined)) {
    throw invalid("tls.cert and tls.key must be given together");
  }
  return tlsConnection(url, tls);
}

function tlsConnection(url: URL, tls: TlsOptions | undefined): Connection {
  const serverName = tls?.serverName ?? hostnameOf(url);
  const attempt: ConnectionAttempt = {
    address: `grpcs://${url.host}`,
    host: hostnameOf(url),
    serverName,
    tls: true,
    clientCertificate: tls?.cert !== undefined,
  };
  if (isIP(serverName) !== 0) {
    // grpc-js would send the IP address as SNI, which Deno refuses: see
    // ip_address_credentials.ts.
    const context = createSecureContext({
      ca: bufferOf(tls?.ca) ?? undefined,
      key: bufferOf(tls?.key) ?? undefined,
      cert: bufferOf(tls?.cert) ?? undefined,
    });
    return {
      target: url.host,
      credentials: new IpAddressCredentials(context, serverName),
      channelOptions: {},
      attempt,
    };
  }
  return {
    target: url.host,
    credentials: grpc.credentials.createSsl(
      bufferOf(tls?.ca),
      bufferOf(tls?.key),
      bufferOf(tls?.cert),
    ),
    channelOptions: tls?.serverName === undefined ? {} : {
      // Verify the certificate against this name, and send it as SNI.
      "grpc.ssl_target_name_override": tls.serverName,
      "grpc.default_authority": tls.serverName,
    },
    attempt,
  };
}

// The host of an address, without the brackets of an IPv6 literal.
function hostnameOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

function parseAddress(address: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `grpc://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid(`"${address}" is not an address; expected grpc://host:port`);
  }
  if (!SCHEMES.includes(url.protocol)) {
    throw invalid(
      `"${address}" has scheme ${url.protocol}; allowed are grpc:// and grpcs://`,
    );
  }
  const extra = url.username || url.password || url.search || url.hash ||
    (url.pathname !== "" && url.pathname !== "/");
  if (url.host === "" || extra) {
    throw invalid(`"${address}" must be scheme://host:port and nothing more`);
  }
  return url;
}

function bufferOf(pem: Pem | undefined): Buffer | null {
  if (pem === undefined) return null;
  return typeof pem === "string" ? Buffer.from(pem, "utf8") : Buffer.from(pem);
}

function invalid(reason: string): PulseError {
  return new PulseError("INVALID_ARGUMENT", `Cannot create Runtime: ${reason}`);
}

/**
 * Checks a bearer token once, so that a bad one fails at construction.
 *
 * @param token the token, or undefined
 * @throws {PulseError} INVALID_ARGUMENT for an empty token or one with
 * characters a header value cannot carry
 */
export function checkToken(token: string | undefined): void {
  if (token === undefined) return;
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw invalid(
      "token must be 1 or more printable ASCII characters without spaces",
    );
  }
}
