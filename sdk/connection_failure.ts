/**
 * Why a connection to the runtime could not be made, in words a user can act
 * on. grpc-js fails such calls with UNAVAILABLE and `No connection
 * established. Last error: <the subchannel's last connection error>`, or
 * `Name resolution failed for target ...`; the error it quotes (a socket
 * error code, the TLS library's words, or grpc-js's own `Failed to connect`
 * when the runtime closed the connection before HTTP/2 began) together with
 * what the client tried (plaintext or TLS, with a client certificate or
 * without) names the likely cause.
 *
 * @module
 */
import { PulseError } from "./pulse_error.ts";

/** What a client tried to connect to, and how. */
export interface ConnectionAttempt {
  /** The address as `grpc://host:port` or `grpcs://host:port`. */
  address: string;
  /** The host of the address, without brackets. */
  host: string;
  /** The name or address the runtime's certificate is verified against; TLS only. */
  serverName?: string;
  /** Whether the client speaks TLS. */
  tls: boolean;
  /** Whether the client presents a certificate (mutual TLS). */
  clientCertificate: boolean;
}

// pick_first: `No connection established. Last error: <error>. Resolution
// note: <note>`; round_robin (the SDK's policy) puts `round_robin: No
// connection established. Last error: ` before the message of the address's
// own pick_first.
const NO_CONNECTION =
  /^(?:round_robin: )?(?:No connection established\. Last error: )+(.*?)(?:\. Resolution note: ?.*)?$/s;
const NO_NAME = /^Name resolution failed for target /;

type Cause = [RegExp, (attempt: ConnectionAttempt) => string | undefined];

// The TLS library's words (Node's OpenSSL, Deno's rustls) and socket error
// codes, in the order they are tried. A cause that does not apply to the
// attempt (a TLS error of a plaintext client) yields undefined.
const CAUSES: Cause[] = [
  [/ENOTFOUND|EAI_AGAIN|EAI_NONAME/, unresolved],
  [
    /ECONNREFUSED/,
    () =>
      "nothing listens on that port (connection refused); is the runtime running, and on this port?",
  ],
  [/ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/, () => "the host cannot be reached"],
  [
    /wrong version number|InvalidContentType|packet length too long|http request|unknown protocol/i,
    (a) =>
      a.tls
        ? "the runtime answered in plaintext, so it does not serve TLS on that port; use grpc://"
        : undefined,
  ],
  [
    /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate|NotValidForName/,
    (a) =>
      `the runtime's certificate is not valid for ${a.serverName}; connect by a name or address it lists, or set tls.serverName`,
  ],
  [
    /certificate has expired|CERT_HAS_EXPIRED|\bExpired\b/,
    () => "the runtime's certificate has expired",
  ],
  [
    /unable to verify|self[- ]signed|UNABLE_TO_GET_ISSUER|UnknownIssuer|unable to get local issuer/i,
    () =>
      "the runtime's certificate is not signed by a CA the client trusts; pass the CA that signed it as tls.ca",
  ],
  [/alert certificate required|CertificateRequired/i, () => MUTUAL_TLS],
  [/alert bad certificate|alert unknown ca|BadCertificate|UnknownCA/i, () => REFUSED_CERTIFICATE],
  [
    /Failed to connect|Connection closed before starting HTTP\/2 handshake|ECONNRESET|EPIPE|socket hang up|socket disconnected/,
    closedEarly,
  ],
];

function unresolved(attempt: ConnectionAttempt): string {
  return `the host name ${attempt.host} does not resolve (DNS)`;
}

const MUTUAL_TLS =
  "the runtime requires a client certificate (mutual TLS); give tls.cert and tls.key";
const REFUSED_CERTIFICATE =
  "the runtime refused the client certificate (not signed by its client CA, expired, or not for client authentication)";

// The runtime closed the connection right after it opened: what the client
// did not offer is the likely reason.
function closedEarly(attempt: ConnectionAttempt): string {
  if (!attempt.tls) {
    return "the runtime closed the connection before HTTP/2 began, so it likely serves TLS on that port; use grpcs://";
  }
  const why = attempt.clientCertificate
    ? "it likely refused the client certificate (not signed by its client CA, expired, or not for client authentication)"
    : "it likely requires a client certificate (mutual TLS); give tls.cert and tls.key";
  return `the runtime closed the connection after the TLS handshake, so ${why}`;
}

/**
 * Restates grpc-js's UNAVAILABLE for a connection that could not be made:
 * the message names the address and the likely cause, and ends with
 * grpc-js's own words. Any other error is returned as is.
 *
 * @param error what the call failed with, as a PulseError
 * @param attempt the address and what the client tried
 * @param action what the call does, for the message
 * @returns the error to report
 */
export function explainConnectionFailure(
  error: PulseError,
  attempt: ConnectionAttempt,
  action: string,
): PulseError {
  if (error.code !== "UNAVAILABLE") return error;
  let lastError: string;
  let cause: string | undefined;
  if (NO_NAME.test(error.message)) {
    lastError = error.message.trim();
    cause = unresolved(attempt);
  } else {
    const quoted = NO_CONNECTION.exec(error.message);
    if (quoted === null) return error; // not about connecting: the runtime's own
    lastError = withoutTime(quoted[1] ?? "");
    cause = causeOf(lastError, attempt);
  }
  return new PulseError(
    "UNAVAILABLE",
    `Cannot ${action}: no connection to ${attempt.address}: ${
      cause ?? lastError
    } (grpc-js: ${lastError})`,
    { cause: error.cause ?? error },
  );
}

function causeOf(lastError: string, attempt: ConnectionAttempt): string | undefined {
  for (const [pattern, cause] of CAUSES) {
    const text = pattern.test(lastError) ? cause(attempt) : undefined;
    if (text !== undefined) return text;
  }
  return undefined;
}

// grpc-js adds the time to some errors: ` (2026-12-04T01:07:43.572Z)`.
function withoutTime(lastError: string): string {
  return lastError.replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/, "").trim();
}
