/**
 * The admin commands of the executable, run as `deno task cli` runs them
 * (its permission flags read from deno.json) against real runtime processes:
 * tables and JSON, a download written byte-exact with progress on stderr,
 * deletion, garbage collection, exit statuses and one-line errors, tokens
 * from flags and the environment, and TLS.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Checkpoint, Runtime } from "@pulsecheckpoint/sdk";
import { chunkKeyOf } from "../../src/keys.ts";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";
import { tempDir } from "../support/temp_dirs.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MIB = 1024 * 1024;

/** The permission flags of `deno task cli`. */
async function cliFlags(): Promise<string[]> {
  const deno = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  return (deno.tasks.cli as string).split(/\s+/).filter((word) => word.startsWith("--allow-"));
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main.ts <args>` as the cli task does, in `cwd`, with only PATH, HOME and `env`. */
async function cli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  const env: Record<string, string> = { NO_COLOR: "1", ...options.env };
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      ...await cliFlags(),
      `${ROOT}main.ts`,
      ...args,
    ],
    cwd: options.cwd ?? await tempDir("pulse-cli-"),
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Asserts a failure: `code`, nothing on stdout, exactly one line on stderr matching `message`. */
function assertFails(result: CliResult, code: number, message: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^[^\n]+\n$/, "one line");
  assert.match(result.stderr, message);
}

async function withRuntime(
  fn: (runtime: RuntimeProcess, rt: Runtime, addr: string) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const runtime = await startRuntime({ env: { PULSE_GC_INTERVAL_MS: "0", ...env } });
  const rt = runtime.client();
  try {
    await fn(runtime, rt, `grpc://${runtime.grpcAddress}`);
  } finally {
    rt.close();
    await runtime.stop();
  }
}

/** Dates as JSON has them: what --json prints. */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

Deno.test("--help lists the admin commands and their flags", async () => {
  for (const args of [["--help"], ["gc", "--help"]]) {
    const { code, stdout } = await cli(args);
    assert.equal(code, 0);
    for (
      const text of [
        "workers list",
        "workers get ID",
        "datasets list",
        "checkpoints list WORKER",
        "checkpoints get WORKER [ID]",
        "checkpoints download WORKER [ID] --output FILE",
        "checkpoints delete WORKER ID",
        "gc [--dry-run] [--grace DURATION]",
        "scrub [--dry-run]",
        "--addr ADDRESS",
        "PULSE_ADDR",
        "PULSE_TOKEN",
        "--json",
        "--ca FILE",
      ]
    ) {
      assert.ok(stdout.includes(text), `${args.join(" ")}: ${text}`);
    }
  }
});

Deno.test("workers, datasets and checkpoints print as tables and as JSON", async (t) => {
  await withRuntime(async (_runtime, rt, addr) => {
    const env = { PULSE_ADDR: addr };
    await rt.registerWorker("w1", { metadata: { gpu: "A100" } });
    await rt.registerWorker("worker-2");
    await rt.registerDataset("training-data", { path: "s3://bucket/data", metadata: { rows: 7 } });
    const saved: Checkpoint[] = [];
    for (let step = 0; step < 3; step++) {
      saved.push(
        await rt.saveCheckpoint({
          workerId: "w1",
          data: randomBytes(1500 + step),
          metadata: { step },
        }),
      );
    }

    await t.step("workers list", async () => {
      const table = await cli(["workers", "list"], { env });
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trimEnd().split("\n");
      assert.match(lines[0]!, /^WORKER {4}STATE {3}LAST HEARTBEAT {8}REGISTERED {12}METADATA$/);
      assert.match(
        lines[1]!,
        /^w1 {8}ACTIVE {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}\S+Z {2}\{"gpu":"A100"\}$/,
      );
      assert.match(lines[2]!, /^worker-2 {2}ACTIVE {2}.* {2}\{\}$/);
      assert.equal(lines.length, 3);
      const json = await cli(["workers", "list", "--json"], { env });
      assert.deepEqual(JSON.parse(json.stdout), asJson((await rt.listWorkers()).items));
    });

    await t.step("workers get", async () => {
      const fields = await cli(["workers", "get", "w1"], { env });
      assert.equal(fields.code, 0);
      assert.match(fields.stdout, /^Worker: {10}w1\nState: {11}ACTIVE\n/);
      assert.match(fields.stdout, /^Metadata: {8}\{"gpu":"A100"\}$/m);
      const json = await cli(["workers", "get", "w1", "--json"], { env });
      assert.deepEqual(JSON.parse(json.stdout), asJson(await rt.getWorker("w1")));
    });

    await t.step("datasets list", async () => {
      const table = await cli(["datasets", "list"], { env });
      assert.equal(table.code, 0);
      assert.match(
        table.stdout,
        /^DATASET {8}PATH {14}REGISTERED {12}METADATA\ntraining-data {2}s3:\/\/bucket\/data {2}\S+Z {2}\{"rows":7\}\n$/,
      );
      const json = await cli(["datasets", "list", "--json"], { env });
      assert.deepEqual(JSON.parse(json.stdout), asJson((await rt.listDatasets()).items));
    });

    await t.step("checkpoints list, newest first", async () => {
      const table = await cli(["checkpoints", "list", "w1"], { env });
      assert.equal(table.code, 0);
      const lines = table.stdout.trimEnd().split("\n");
      assert.match(lines[0]!, /^CHECKPOINT {22}CREATED {15}SIZE {6}SHA256 {8}METADATA$/);
      assert.deepEqual(
        lines.slice(1).map((line) => line.split(/\s+/)[0]),
        saved.map((c) => c.checkpointId).reverse(),
      );
      assert.match(
        lines[1]!,
        new RegExp(`  1\\.47 KiB  ${saved[2]!.sha256.slice(0, 12)}  \\{"step":2\\}$`),
      );
      const json = await cli(["checkpoints", "list", "w1", "--json"], { env });
      assert.deepEqual(JSON.parse(json.stdout), asJson((await rt.listCheckpoints("w1")).items));
      const empty = await cli(["checkpoints", "list", "worker-2", "--json"], { env });
      assert.equal(empty.stdout, "[]\n");
      const unknown = await cli(["checkpoints", "list", "no-such-worker"], { env });
      assertFails(unknown, 1, /^Error: .*worker no-such-worker.*\(NOT_FOUND\)\n$/);
    });

    await t.step("checkpoints get: the latest, or by id", async () => {
      const latest = await cli(["checkpoints", "get", "w1"], { env });
      assert.equal(latest.code, 0);
      assert.match(latest.stdout, new RegExp(`^Checkpoint: {7}${saved[2]!.checkpointId}$`, "m"));
      assert.match(latest.stdout, /^Size: {13}1\.47 KiB \(1502 bytes\)$/m);
      assert.match(latest.stdout, new RegExp(`^SHA-256: {10}${saved[2]!.sha256}$`, "m"));
      const byId = await cli(["checkpoints", "get", "w1", saved[0]!.checkpointId, "--json"], {
        env,
      });
      assert.deepEqual(JSON.parse(byId.stdout), asJson(saved[0]));
    });
  });
});

Deno.test("checkpoints download streams a checkpoint to a file byte-exact, with progress on stderr", async () => {
  await withRuntime(async (_runtime, rt, addr) => {
    const env = { PULSE_ADDR: addr };
    await rt.registerWorker("w1");
    const bytes = randomBytes(3 * CHUNK_BYTES + 777);
    const big = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
    const dir = await tempDir("pulse-download-");

    const result = await cli([
      "checkpoints",
      "download",
      "w1",
      big.checkpointId,
      "--output",
      "model.bin",
    ], {
      env,
      cwd: dir,
    });
    assert.equal(result.code, 0, result.stderr);
    const written = await Deno.readFile(`${dir}/model.bin`);
    assert.equal(written.length, bytes.length);
    assert.equal(sha256Hex(written), sha256Hex(bytes));
    assert.equal(
      result.stdout,
      `Downloaded ${big.checkpointId} of worker w1 to model.bin: 24.0 MiB (${bytes.length} bytes), sha256 ${big.sha256}\n`,
    );
    // Not a terminal: whole lines, the first with a rate and an ETA, the last at 100%.
    const lines = result.stderr.trimEnd().split("\n");
    assert.ok(lines.length >= 2, result.stderr);
    assert.match(
      lines[0]!,
      /^\[[#-]{24}\] +\d+% {2}[\d.]+ [KM]iB \/ 24\.0 MiB {2}[\d.]+ [KMG]?i?B\/s {2}ETA \S+$/,
    );
    assert.match(
      lines.at(-1)!,
      /^\[#{24}\] 100% {2}24\.0 MiB \/ 24\.0 MiB {2}[\d.]+ [KMG]?i?B\/s {2}in \S+$/,
    );
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((entry) => entry.name),
      ["model.bin"],
      "no temporary file left",
    );

    // The latest, quietly, replacing the file, with JSON.
    const small = await rt.saveCheckpoint({ workerId: "w1", data: randomBytes(MIB) });
    const quiet = await cli([
      "checkpoints",
      "download",
      "w1",
      "-o",
      `${dir}/model.bin`,
      "-q",
      "--json",
    ], { env });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, "");
    assert.deepEqual(JSON.parse(quiet.stdout), {
      ...asJson(small) as object,
      output: `${dir}/model.bin`,
    });
    assert.equal(sha256Hex(await Deno.readFile(`${dir}/model.bin`)), small.sha256);

    const missing = await cli([
      "checkpoints",
      "download",
      "w1",
      "chk_00000000000000000000000000",
      "-o",
      `${dir}/x.bin`,
    ], { env });
    assertFails(
      missing,
      1,
      /^Error: Cannot load checkpoint: checkpoint chk_0{26} of worker w1 does not exist \(NOT_FOUND\)\n$/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["model.bin"]);
  });
});

Deno.test("checkpoints delete removes a checkpoint; gc then reclaims its chunks, a dry run nothing", async () => {
  await withRuntime(async (runtime, rt, addr) => {
    const env = { PULSE_ADDR: addr };
    await rt.registerWorker("w1");
    const bytes = randomBytes(4096);
    const doomed = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
    await rt.saveCheckpoint({ workerId: "w1", data: randomBytes(10) });

    const deleted = await cli(["checkpoints", "delete", "w1", doomed.checkpointId], { env });
    assert.equal(deleted.code, 0);
    assert.equal(deleted.stdout, `Deleted checkpoint ${doomed.checkpointId} of worker w1\n`);
    assertFails(
      await cli(["checkpoints", "get", "w1", doomed.checkpointId], { env }),
      1,
      /^Error: Cannot get checkpoint: checkpoint \S+ of worker w1 does not exist \(NOT_FOUND\)\n$/,
    );

    const chunk = `${runtime.dir}/data/${chunkKeyOf(sha256Hex(bytes))}`;
    const twoHoursAgo = new Date(Date.now() - 7_200_000);
    await Deno.utime(chunk, twoHoursAgo, twoHoursAgo);

    const dry = await cli(["gc", "--dry-run"], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^Garbage collection, dry run: nothing was deleted\n/);
    assert.match(dry.stdout, /^Grace period: {7}1h$/m);
    assert.match(dry.stdout, /^Manifests scanned: {2}1$/m);
    assert.match(dry.stdout, /^Chunks scanned: {5}2 chunks, 4\.01 KiB$/m);
    assert.match(dry.stdout, /^Would delete: {7}1 chunk, 4\.00 KiB$/m);
    await Deno.stat(chunk); // still there

    const recent = await cli(["gc", "--grace", "3h", "--json"], { env });
    assert.equal(JSON.parse(recent.stdout).chunksDeleted, 0, "written 2 h ago: within 3 h");
    assert.equal(JSON.parse(recent.stdout).graceMs, 3 * 3_600_000);

    const real = await cli(["gc", "--grace", "90m"], { env });
    assert.equal(real.code, 0);
    assert.match(real.stdout, /^Garbage collection finished\n/);
    assert.match(real.stdout, /^Grace period: {7}1h30m$/m);
    assert.match(real.stdout, /^Deleted: {12}1 chunk, 4\.00 KiB$/m);
    await assert.rejects(Deno.stat(chunk), Deno.errors.NotFound);
  });
});

Deno.test("scrub lists bad chunks and the checkpoints they break, as a table and as JSON, moves them aside, and exits 1 until they are repaired", async () => {
  await withRuntime(async (runtime, rt, addr) => {
    const env = { PULSE_ADDR: addr };
    await rt.registerWorker("w1");
    const bytes = randomBytes(CHUNK_BYTES + 1000);
    const saved = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
    const sha256 = sha256Hex(bytes.subarray(0, CHUNK_BYTES));
    const path = `${runtime.dir}/data/${chunkKeyOf(sha256)}`;
    const damaged = await Deno.readFile(path);
    damaged[0] = damaged[0]! ^ 0xff;
    await Deno.writeFile(path, damaged);

    const dry = await cli(["scrub", "--dry-run"], { env });
    assert.equal(dry.code, 1, dry.stderr);
    const lines = dry.stdout.trimEnd().split("\n");
    assert.equal(lines[0], "Scrub, dry run: nothing was moved");
    assert.match(lines[1]!, /^CHUNK {61}PROBLEM {2}SIZE {6}MOVED TO {5}CHECKPOINTS$/);
    assert.equal(
      lines[2],
      `${sha256}  corrupt  8.00 MiB  no: dry run  w1/${saved.checkpointId}`,
    );
    assert.match(dry.stdout, /^Chunks scanned: {6}2 chunks, 8\.00 MiB$/m);
    assert.match(dry.stdout, /^Corrupt: {13}1 chunk$/m);
    assert.match(dry.stdout, /^Checkpoints broken: {2}1$/m);
    // Not a terminal: the progress bar ends at 100%, then one line says what was found.
    const errors = dry.stderr.trimEnd().split("\n");
    assert.match(errors.at(-2)!, /^\[#{24}\] 100% {2}8\.00 MiB \/ 8\.00 MiB {2}.* {2}in \S+$/);
    assert.equal(
      errors.at(-1),
      "Scrub found 1 chunk (1 corrupt, 0 missing) breaking 1 checkpoint; a save with their bytes repairs them",
    );
    await Deno.stat(path);

    const moved = await cli(["scrub", "--json", "--quiet"], { env });
    assert.equal(moved.code, 1);
    const report = JSON.parse(moved.stdout);
    assert.deepEqual(report.badChunks, [{
      sha256,
      problem: "corrupt",
      sizeBytes: CHUNK_BYTES,
      checkpoints: [{ workerId: "w1", checkpointId: saved.checkpointId }],
      checkpointsTotal: 1,
      quarantineKey: `quarantine/${sha256}`,
      inUse: false,
    }]);
    assert.deepEqual(
      [report.dryRun, report.chunksScanned, report.chunksCorrupt, report.chunksQuarantined],
      [false, 2, 1, 1],
    );
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);

    await rt.saveCheckpoint({ workerId: "w1", data: bytes }); // repairs it
    const clean = await cli(["scrub"], { env });
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /^Scrub finished: every chunk passed its SHA-256 check\n/);
    assert.match(clean.stderr, /^(\[[#-]{24}\] [^\n]*\n)+$/, "nothing but the progress bar");
    assert.equal(
      sha256Hex((await rt.loadCheckpoint("w1", { checkpointId: saved.checkpointId })).data),
      sha256Hex(bytes),
    );
  });
});

Deno.test("errors exit 1 with one line; usage errors exit 2 with one line", async (t) => {
  await t.step("a runtime that is not there", async () => {
    assertFails(
      await cli(["workers", "list", "--addr", "grpc://127.0.0.1:1"]),
      1,
      /^Error: .*\(UNAVAILABLE\)\n$/,
    );
  });
  const usage: [string[], RegExp][] = [
    [["workers", "frob"], /^Unknown command "workers frob"; see --help\n$/],
    [["workers", "get"], /^Usage: workers get ID; see --help\n$/],
    [["checkpoints", "delete", "w1"], /^Usage: checkpoints delete WORKER ID; see --help\n$/],
    [["checkpoints", "download", "w1"], /^checkpoints download needs --output FILE; see --help\n$/],
    [
      ["workers", "list", "--output", "x"],
      /^--output does not apply to workers list; see --help\n$/,
    ],
    [
      ["gc", "--grace", "5x"],
      /^--grace "5x" is not a duration such as 90s, 30m, 1h or 1h30m; see --help\n$/,
    ],
    [["gc", "--bogus"], /^Unknown option '--bogus'.*; see --help\n$/],
    [["scrub", "--grace", "1h"], /^--grace does not apply to scrub; see --help\n$/],
    [
      ["gc", "--addr", "http://localhost:1"],
      /^Error: Cannot create Runtime: .*scheme http:.*; see --help\n$/,
    ],
    [["gc", "--ca", "/nonexistent.pem"], /^Cannot read --ca \/nonexistent\.pem: .*; see --help\n$/],
  ];
  for (const [args, message] of usage) {
    await t.step(args.join(" "), async () => assertFails(await cli(args), 2, message));
  }
});

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

Deno.test("--token and PULSE_TOKEN reach the runtime; gc needs an admin token", async () => {
  const dir = await tempDir("pulse-cli-auth-");
  await Deno.writeTextFile(
    `${dir}/config.toml`,
    `[[auth.tokens]]
name = "ops"
sha256 = "${sha256("admin-secret")}"
role = "admin"

[[auth.tokens]]
name = "dashboard"
sha256 = "${sha256("reader-secret")}"
role = "reader"
`,
  );
  const runtime = await startRuntime({ dir, env: { PULSE_GC_INTERVAL_MS: "0" } });
  try {
    const env = { PULSE_ADDR: `grpc://${runtime.grpcAddress}` };
    assertFails(await cli(["workers", "list"], { env }), 1, /\(UNAUTHENTICATED\)\n$/);
    const reader = { ...env, PULSE_TOKEN: "reader-secret" };
    assert.equal((await cli(["workers", "list"], { env: reader })).code, 0);
    assertFails(
      await cli(["gc", "--dry-run"], { env: reader }),
      1,
      /^Error: Cannot call RunGc: token dashboard has role reader \(PERMISSION_DENIED\)\n$/,
    );
    const admin = await cli(["gc", "--dry-run", "--token", "admin-secret"], { env: reader });
    assert.equal(admin.code, 0, "the flag wins over the environment");
  } finally {
    await runtime.stop();
  }
});

Deno.test("--ca, --cert and --key connect over TLS and mutual TLS", async () => {
  const dir = await tempDir("pulse-cli-tls-");
  const generated = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/generate_certs.sh`, `${dir}/certs`],
    stdout: "null",
  }).output();
  assert.equal(generated.code, 0);
  const runtime = await startRuntime({
    dir,
    env: {
      PULSE_TLS_CERT: "certs/server.pem",
      PULSE_TLS_KEY: "certs/server.key",
      PULSE_TLS_CLIENT_CA: "certs/ca.pem",
      PULSE_GC_INTERVAL_MS: "0",
    },
  });
  try {
    const port = runtime.grpcAddress.split(":")[1];
    const addr = ["--addr", `grpcs://localhost:${port}`];
    const tls = [
      "--ca",
      `${dir}/certs/ca.pem`,
      "--cert",
      `${dir}/certs/client.pem`,
      "--key",
      `${dir}/certs/client.key`,
    ];
    const listed = await cli(["workers", "list", "--json", ...addr, ...tls]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, "[]\n");
    assertFails(
      await cli(["workers", "list", ...addr, "--ca", `${dir}/certs/ca.pem`]),
      1,
      /\(UNAVAILABLE\)\n$/,
    );
  } finally {
    await runtime.stop();
  }
});
