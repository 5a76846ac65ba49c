/**
 * Where the runtime's CPU time goes: the runtime runs under V8's sampling
 * profiler (`deno run --cpu-prof`) while one client saves a checkpoint and
 * loads it back; then the functions with the most self time are printed and
 * written to the "Profiles" section of docs/benchmarks.md.
 *
 * Run: `deno task bench:profile`. PULSE_BENCH_GIB [1]: the checkpoint's size.
 */
import { startRuntime } from "../tests/support/runtime.ts";
import { envNumber, GIB, MIB, pieces, ROOT, writeBenchmarkSection } from "./_support.ts";

const SIZE = envNumber("PULSE_BENCH_GIB", 1) * GIB;
const TOP = 15;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const profileDir = await Deno.makeTempDir({ prefix: "pulse-profile-" });
const runtime = await startRuntime({ denoFlags: [`--cpu-prof-dir=${profileDir}`] });
const rt = runtime.client();
let saveMs: number;
let loadMs: number;
try {
  await rt.registerWorker("profiled");
  let started = performance.now();
  await rt.saveCheckpoint({ workerId: "profiled", data: pieces(SIZE, { seed: 7 }) });
  saveMs = performance.now() - started;
  started = performance.now();
  const { stream } = await rt.loadCheckpointStream("profiled");
  for await (const _piece of stream) { /* received and verified by the SDK */ }
  loadMs = performance.now() - started;
} finally {
  rt.close();
  await runtime.stop(); // the profile is written as the runtime exits
  await Deno.remove(runtime.dir, { recursive: true });
}

const [file] = [...Deno.readDirSync(profileDir)].filter((e) => e.name.endsWith(".cpuprofile"));
if (file === undefined) throw new Error(`the runtime wrote no profile to ${profileDir}`);
const profile: Profile = JSON.parse(await Deno.readTextFile(`${profileDir}/${file.name}`));
await Deno.remove(profileDir, { recursive: true });

// Self time per function (name and place), summed over the nodes it appears in.
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<string, number>();
let totalUs = 0;
for (const [index, id] of profile.samples.entries()) {
  const frame = byId.get(id)!.callFrame;
  const place = frame.url === ""
    ? ""
    : ` (${
      frame.url.replace(/^.*\/node_modules\/\.deno\/([^/]+)\/.*\//, "$1/").replace(ROOT, "")
        .replace(/^file:\/\//, "")
    }:${frame.lineNumber + 1})`;
  const key = `${frame.functionName || "(anonymous)"}${place}`;
  const delta = profile.timeDeltas[index] ?? 0;
  selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
  totalUs += delta;
}
const top = [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, TOP);
const mib = SIZE / MIB;
const section = [
  "## Profiles",
  "",
  `The runtime under \`--cpu-prof\` (${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}, ${
    new Date().toISOString().slice(0, 10)
  }) while one SDK client saves ${mib} MiB (${
    (mib / (saveMs / 1000)).toFixed(0)
  } MiB/s) and loads it`,
  `back (${
    (mib / (loadMs / 1000)).toFixed(0)
  } MiB/s, both slowed by the profiler). Self time of the ${TOP} costliest functions,`,
  `as a share of the ${(totalUs / 1e6).toFixed(1)} s sampled ("(idle)" is the event loop waiting):`,
  "",
  "Command: `deno task bench:profile`",
  "",
  "| function (where) | self time | share |",
  "|---|---|---|",
  ...top.map(([key, us]) =>
    `| ${key.replaceAll("|", "\\|")} | ${(us / 1e6).toFixed(2)} s | ${
      (100 * us / totalUs).toFixed(1)
    }% |`
  ),
].join("\n");
console.log(section);

await writeBenchmarkSection(section);
