/** The executable's command line: help, version, config check, and bad values exiting 2. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { inheritedEnv, startFlags } from "../support/runtime.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function run(
  args: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const dir = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
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
    clearEnv: true,
    env: { ...inheritedEnv(), ...env },
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

Deno.test("version, --version and -V print the version and the Deno it runs on", async () => {
  for (const args of [["version"], ["--version"], ["-V"]]) {
    const { code, stdout } = await run(args);
    assert.equal(code, 0);
    assert.match(
      stdout,
      new RegExp(`^pulse-runtime \\d+\\.\\d+\\.\\d+ \\(deno ${Deno.version.deno}\\)\\n$`),
    );
  }
});

Deno.test("no arguments print the help, as --help does, without starting anything", async () => {
  const bare = await run([]);
  const help = await run(["--help"]);
  assert.equal(bare.code, 0);
  assert.equal(bare.stdout, help.stdout);
  assert.match(bare.stdout, /^PulseCheckpoint Runtime .*\n\nUsage: pulse-runtime <command>/);
  assert.equal(bare.stderr, "");
});

Deno.test("bare deno task cli prints the help, with the CLI's narrower permissions", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "cli"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(text, /Usage: pulse-runtime <command>/);
  assert.match(text, /Admin commands/);
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
  const cases: [string[], Record<string, string>, RegExp, Record<string, string>?][] = [
    [
      ["serve"],
      { PULSE_GRPC_ADDR: "localhost" },
      /^Invalid configuration: server\.grpc_addr = "localhost" \(from PULSE_GRPC_ADDR\): expected host:port or \[ipv6\]:port, with an IP address or DNS name and a port from 0 to 65535\n$/,
    ],
    [
      ["serve", "--grpc-addr", "0.0.0.0:0"],
      {},
      /^Invalid configuration: server\.grpc_addr 0\.0\.0\.0:0 is beyond loopback and no \[\[auth\.tokens\]\] are configured, .* or set auth\.allow_anonymous = true \(PULSE_AUTH_ALLOW_ANONYMOUS=true\)\n$/,
    ],
    [
      ["serve"],
      { PULSE_GRPC_ADDR: "127.evil.example:50051" },
      /^Invalid configuration: server\.grpc_addr 127\.evil\.example:50051 is beyond loopback/,
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
    [
      ["serve"],
      { PULSE_GRPC_ADRR: "127.0.0.1:1" },
      /^Invalid configuration: unknown environment variable PULSE_GRPC_ADRR; did you mean PULSE_GRPC_ADDR\? \(README\.md lists every setting\)\n$/,
    ],
    [["serve", "--bogus"], {}, /^Unknown option '--bogus'.*; see --help\n$/],
    [["launch"], {}, /^Unknown command "launch"; see --help\n$/],
  ];
  cases.push([
    ["config", "check", "--config", "broken.toml"],
    {},
    /^Cannot parse config file broken\.toml: line 2, column \d+: .*\n$/,
    { "broken.toml": '[server]\ngrpc_addr = "127.0.0.1:1\n' },
  ]);
  for (const [args, env, message, files] of cases) {
    await t.step(args.join(" ") + " " + JSON.stringify(env), async () => {
      const { code, stderr, stdout } = await run(args, env, files);
      assert.equal(code, 2);
      assert.match(stderr, message);
      assert.equal(stdout, "");
    });
  }
});
