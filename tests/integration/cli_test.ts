/** The executable's command line: help, version, config check, and bad values exiting 2. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startFlags } from "../support/runtime.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function run(args: string[], env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir();
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      ...await startFlags(),
      `${ROOT}main.ts`,
      ...args,
    ],
    cwd: dir,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("--help lists the commands and every flag", async () => {
  const { code, stdout } = await run(["--help"]);
  assert.equal(code, 0);
  for (
    const word of [
      "serve",
      "config check",
      "version",
      "--config",
      "--grpc-addr",
      "--metrics-addr",
      "--data-dir",
      "--storage-backend",
      "--log-level",
    ]
  ) {
    assert.ok(stdout.includes(word), word);
  }
});

Deno.test("version prints the version and the Deno it runs on", async () => {
  const { code, stdout } = await run(["version"]);
  assert.equal(code, 0);
  assert.match(
    stdout,
    new RegExp(`^pulse-runtime \\d+\\.\\d+\\.\\d+ \\(deno ${Deno.version.deno}\\)\\n$`),
  );
});

Deno.test("config check prints the effective configuration", async () => {
  const { code, stdout } = await run(["config", "check", "--data-dir", "/srv/pulse"], {
    PULSE_LOG_LEVEL: "debug",
  });
  assert.equal(code, 0);
  assert.match(stdout, /^storage\.path = "\/srv\/pulse"$/m);
  assert.match(stdout, /^logging\.level = "debug"$/m);
});

Deno.test("a bad value exits 2 with one line naming the key, the value and what is allowed", async (t) => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [
      ["serve"],
      { PULSE_GRPC_ADDR: "localhost" },
      /^Invalid configuration: server\.grpc_addr = "localhost" \(from PULSE_GRPC_ADDR\): expected host:port with a port from 0 to 65535\n$/,
    ],
    [
      ["serve", "--log-level", "chatty"],
      {},
      /^Invalid configuration: logging\.level = "chatty" \(from --log-level\): expected one of trace, debug, info, warn, error\n$/,
    ],
    [
      ["serve", "--config", "/nonexistent.toml"],
      {},
      /^Cannot read config file \/nonexistent\.toml: .*\n$/,
    ],
    [["serve", "--bogus"], {}, /^Unknown option '--bogus'.*; see --help\n$/],
    [["launch"], {}, /^Unknown command "launch"; see --help\n$/],
  ];
  for (const [args, env, message] of cases) {
    await t.step(args.join(" ") + " " + JSON.stringify(env), async () => {
      const { code, stderr, stdout } = await run(args, env);
      assert.equal(code, 2);
      assert.match(stderr, message);
      assert.equal(stdout, "");
    });
  }
});
