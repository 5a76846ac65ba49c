/**
 * Listen addresses (`host:port`, `[v6]:port`): parsed once, properly, and
 * whether they stay on this machine.
 */

/** A parsed listen address. */
export interface Address {
  /** The host as written, without IPv6 brackets. */
  hostname: string;
  port: number;
}

/**
 * Parses `host:port` or `[v6]:port`.
 * @returns undefined for anything else: no port, a port beyond 65535, an
 * unbracketed IPv6 address, a host that is no IP address or DNS name
 */
export function parseAddress(address: string): Address | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(address);
  if (match === null || Number(match[3]) > 65535) return undefined;
  const hostname = match[1] ?? match[2]!;
  if (canonicalHost(hostname) === undefined) return undefined;
  return { hostname, port: Number(match[3]) };
}

/** Splits a valid address (see `parseAddress`) into its parts. */
export function splitAddress(address: string): Address {
  const parsed = parseAddress(address);
  if (parsed === undefined) throw new Error(`Assertion failed: ${address} is not host:port`);
  return parsed;
}

/** The address with another port, e.g. the one bound for port 0. */
export function withPort(address: string, port: number): string {
  return `${address.slice(0, address.lastIndexOf(":"))}:${port}`;
}

/**
 * Whether a valid address listens on loopback only: `localhost`, an IPv4
 * address in 127.0.0.0/8, `::1`, or an IPv4-mapped 127.x address, however
 * they are spelled (`127.1`, `0x7f.0.0.1`, `0:0::1`). A DNS name such as
 * `127.example.com` is not loopback.
 */
export function isLoopback(address: string): boolean {
  const host = canonicalHost(splitAddress(address).hostname);
  if (host === undefined) return false;
  if (host === "localhost" || host === "[::1]") return true;
  if (/^127\.\d+\.\d+\.\d+$/.test(host)) return true;
  // IPv4-mapped IPv6: ::ffff:7f00:0/104, as the URL parser writes it.
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
}

// The host as the WHATWG URL parser canonicalizes it (IPv4 in dotted
// decimal, IPv6 compressed and bracketed, names in lower case), or
// undefined if it is no valid host.
function canonicalHost(hostname: string): string | undefined {
  const bracketed = hostname.includes(":") ? `[${hostname}]` : hostname;
  try {
    const url = new URL(`http://${bracketed}/`);
    return url.hostname === "" ? undefined : url.hostname;
  } catch {
    return undefined;
  }
}

/** Why listening failed, in words an operator acts on. */
export function listenProblem(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (error instanceof Deno.errors.AddrInUse || code === "EADDRINUSE") {
    return "the address is in use: another process (perhaps another runtime) listens there; stop it, or choose another address";
  }
  if (error instanceof Deno.errors.AddrNotAvailable || code === "EADDRNOTAVAIL") {
    return "no interface of this machine has that address";
  }
  if (error instanceof Deno.errors.PermissionDenied || code === "EACCES") {
    return "permission denied: ports below 1024 need privileges";
  }
  return (error as Error).message;
}
