/**
 * The replica id: what names this runtime process among the runtimes that
 * share one bucket, in its start-up log, in `pulse_replica_info` and as the
 * holder of the leases it takes in the store. `server.replica_id` sets it;
 * otherwise it is made at start from the host name, the process id and a
 * random suffix, so that a restarted process (or a second one on the same
 * host) never passes for the one before it.
 */
import { randomBytes } from "node:crypto";

/** The replica id `configured` names, or a new `<hostname>-<pid>-<random>` one. */
export function replicaIdOf(configured: string): string {
  if (configured !== "") return configured;
  const host = hostName().replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  // 64 characters of host name at most: the id stays a valid key segment.
  return `${host.slice(0, 64) || "host"}-${Deno.pid}-${randomBytes(3).toString("hex")}`;
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    // Without --allow-sys=hostname (an embedding that did not grant it).
    return "host";
  }
}
