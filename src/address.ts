/** Listen addresses (`host:port`, `[v6]:port`): their parts, and whether they stay on this machine. */

/** Splits `host:port` (or `[v6]:port`) into its parts. */
export function splitAddress(address: string): { hostname: string; port: number } {
  const colon = address.lastIndexOf(":");
  const hostname = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { hostname, port: Number(address.slice(colon + 1)) };
}

/** The address with another port, e.g. the one bound for port 0. */
export function withPort(address: string, port: number): string {
  return `${address.slice(0, address.lastIndexOf(":"))}:${port}`;
}

/** Whether an address listens on loopback only. */
export function isLoopback(address: string): boolean {
  const { hostname } = splitAddress(address);
  return hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");
}
