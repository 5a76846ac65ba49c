/**
 * The examples, run as users run them against a real runtime: quickstart
 * under Deno (address from the command line, then from PULSE_ADDR) and under
 * Node (built as JSR's npm layer would; see _node_build.ts); the training
 * loop killed with SIGKILL mid-run and started again, which must resume from
 * the latest checkpoint's step and end with the very weights of a run that
 * was never interrupted.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { buildForNode } from "./_node_build.ts";
import { run } from "../deploy/_tools.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const QUICKSTART = "examples/quickstart.ts";
const TRAINING_LOOP = "examples/training_loop.ts";
/**
 * What `deno task example` (and `make run-example`) grants: the network,
 * PULSE_ADDR, and what grpc-js reads (its GRPC_* settings, proxy variables).
 * The examples' documentation tells Deno users the same.
 */
const DENO_FLAGS = (JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks.example as string)
  .split(/\s+/).filter((word) => word.startsWith("--"));

function denoCommand(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      ...DENO_FLAGS,
      `${ROOT}${script}`,
      ...args,
    ],
    env,
    stdout: "piped",
    stderr: "piped",
  });
}

async function checkQuickstartEffects(
  runtime: RuntimeProcess,
  stdout: string,
): Promise<void> {
  const match = /^Saved checkpoint (chk_[0-9A-Z]{26}) \(17 bytes, sha256 [0-9a-f]{64}\)$/m
    .exec(stdout);
  assert.ok(match, stdout);
  assert.match(stdout, /^Worker worker-1 deregistered$/m);
  const rt = runtime.client();
  try {
    assert.equal((await rt.getWorker("worker-1")).state, "DEREGISTERED");
    assert.equal((await rt.getDataset("training-data")).path, "s3://bucket/data");
    const { checkpoint, data } = await rt.loadCheckpoint("worker-1", {
      checkpointId: match[1],
    });
    assert.equal(new TextDecoder().decode(data), "model-state-bytes");
    assert.deepEqual(checkpoint.metadata, { epoch: 10, loss: 0.001 });
  } finally {
    rt.close();
  }
}

Deno.test("quickstart runs under Deno, with the address from argv or PULSE_ADDR", async (t) => {
  const runtime = await startRuntime();
  try {
    await t.step("address from argv", async () => {
      const output = await denoCommand(QUICKSTART, [
        `grpc://${runtime.grpcAddress}`,
      ]).output();
      const decoder = new TextDecoder();
      assert.equal(output.code, 0, decoder.decode(output.stderr));
      await checkQuickstartEffects(runtime, decoder.decode(output.stdout));
    });
    await t.step("address from PULSE_ADDR", async () => {
      const output = await denoCommand(QUICKSTART, [], {
        PULSE_ADDR: `grpc://${runtime.grpcAddress}`,
      }).output();
      const decoder = new TextDecoder();
      assert.equal(output.code, 0, decoder.decode(output.stderr));
      await checkQuickstartEffects(runtime, decoder.decode(output.stdout));
    });
  } finally {
    await runtime.stop();
  }
});

Deno.test("quickstart runs under Node with the SDK built for npm", async () => {
  const build = await buildForNode([QUICKSTART, TRAINING_LOOP]);
  const runtime = await startRuntime();
  try {
    const { code, stdout, stderr } = await run("node", [build.script(QUICKSTART)], {
      env: { PULSE_ADDR: `grpc://${runtime.grpcAddress}` },
    });
    assert.equal(code, 0, stderr);
    await checkQuickstartEffects(runtime, stdout);
  } finally {
    await runtime.stop();
    await build.remove();
  }
});

/** A training loop process, and its output lines as they come. */
class TrainingRun {
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly seen: string[] = [];

  constructor(address: string, worker: string) {
    this.#child = denoCommand(TRAINING_LOOP, [
      "--address",
      address,
      "--worker",
      worker,
      "--steps",
      "60",
      "--save-every",
      "5",
      "--step-ms",
      "25",
    ]).spawn();
    this.#lines = lines(this.#child.stdout);
  }

  /** Reads lines until one matches; returns its match. */
  async waitFor(pattern: RegExp): Promise<RegExpExecArray> {
    while (true) {
      const next = await this.#lines.next();
      if (next.done) {
        throw new Error(`exited before ${pattern}:\n${this.seen.join("\n")}`);
      }
      this.seen.push(next.value);
      const match = pattern.exec(next.value);
      if (match) return match;
    }
  }

  kill(): Promise<Deno.CommandStatus> {
    this.#child.kill("SIGKILL");
    return this.finish();
  }

  async finish(): Promise<Deno.CommandStatus> {
    for (let n = await this.#lines.next(); !n.done; n = await this.#lines.next()) {
      this.seen.push(n.value);
    }
    await this.#child.stderr.cancel();
    return await this.#child.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest) yield rest;
}

Deno.test("the training loop, killed with SIGKILL mid-run, resumes from the latest checkpoint's step and ends where an uninterrupted run ends", async () => {
  const runtime = await startRuntime();
  const address = `grpc://${runtime.grpcAddress}`;
  const rt = runtime.client();
  try {
    const first = new TrainingRun(address, "trainer-0");
    await first.waitFor(/^no checkpoint yet: starting from step 0$/);
    await first.waitFor(/^saved checkpoint chk_\S+ at step 15$/);
    const killed = await first.kill();
    assert.equal(killed.signal, "SIGKILL");
    assert.ok(!first.seen.some((line) => line.startsWith("finished")));

    const latest = await rt.latestCheckpoint("trainer-0");
    const latestStep = latest.metadata.step as number;
    assert.ok(latestStep >= 15 && latestStep < 60, `step ${latestStep}`);

    const second = new TrainingRun(address, "trainer-0");
    const resumed = await second.waitFor(/^resumed from step (\d+) \(checkpoint (\S+)\)$/);
    assert.equal(Number(resumed[1]), latestStep);
    assert.equal(resumed[2], latest.checkpointId);
    await second.waitFor(/^finished at step 60$/);
    assert.equal((await second.finish()).code, 0);
    // It saved only the steps after the one it resumed from.
    const savedSteps = second.seen.flatMap((line) => {
      const match = /at step (\d+)$/.exec(line);
      return match ? [Number(match[1])] : [];
    });
    assert.equal(savedSteps[0], latestStep + 5);

    const reference = new TrainingRun(address, "reference");
    await reference.waitFor(/^finished at step 60$/);
    assert.equal((await reference.finish()).code, 0);
    const resumedEnd = await rt.latestCheckpoint("trainer-0");
    const referenceEnd = await rt.latestCheckpoint("reference");
    assert.equal(resumedEnd.metadata.step, 60);
    assert.equal(resumedEnd.sha256, referenceEnd.sha256);
    assert.equal((await rt.getWorker("trainer-0")).state, "DEREGISTERED");
  } finally {
    rt.close();
    await runtime.stop();
  }
});
