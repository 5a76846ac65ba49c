/**
 * Several runtime processes (replicas) on one S3 bucket and key prefix, as a
 * deployment runs them: each with a replica id of its own (r0, r1, ...), the
 * periodic collector off (tests run it with RunGc).
 */
import { runtimeEnv, type S3Target } from "./s3_targets.ts";
import { type RuntimeProcess, startRuntime } from "./runtime.ts";

/** Starts `count` replicas on `target`, named r0, r1, ...; `extra` adds settings. */
export async function startReplicas(
  target: S3Target,
  count: number,
  extra: Record<string, string> = {},
): Promise<RuntimeProcess[]> {
  return await Promise.all(
    Array.from({ length: count }, (_, index) => startReplica(target, index, extra)),
  );
}

/**
 * Starts replica `r<index>` on `target` (again, after it was killed), on
 * `grpcPort` when given: a restarted replica keeps its address.
 */
export function startReplica(
  target: S3Target,
  index: number,
  extra: Record<string, string> = {},
  grpcPort?: number,
): Promise<RuntimeProcess> {
  return startRuntime({
    env: runtimeEnv(target, {
      extra: { PULSE_REPLICA_ID: `r${index}`, PULSE_GC_INTERVAL_MS: "0", ...extra },
    }),
    args: grpcPort === undefined ? [] : ["--grpc-addr", `127.0.0.1:${grpcPort}`],
  });
}

/** A TCP port of the loopback that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
