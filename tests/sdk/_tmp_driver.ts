import { buildForNode } from "./_node_build.ts";
import { startRuntime } from "../support/runtime.ts";
import { startTcpFaultProxy } from "../support/tcp_fault_proxy.ts";
const t0 = performance.now();
const build = await buildForNode([".scratch/bp_node.ts"]);
console.log("build s", (performance.now() - t0) / 1000, build.dir);
const runtime = await startRuntime();
const proxy = await startTcpFaultProxy(runtime.grpcAddress);
proxy.holdUploads(true);
for (
  const [cmd, args] of [["node", [build.script(".scratch/bp_node.ts")]], [Deno.execPath(), [
    "run",
    "-A",
    "--config",
    "deno.json",
    ".scratch/bp_node.ts",
  ]]] as const
) {
  const out = await new Deno.Command(cmd, {
    args: [...args, `grpc://${proxy.address}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  console.log(
    cmd,
    new TextDecoder().decode(out.stdout),
    new TextDecoder().decode(out.stderr).slice(0, 2000),
  );
}
await proxy.close();
await runtime.stop();
await build.remove();
