/** Configuration: precedence of its sources, and one-line errors for bad values. */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../src/config.ts";

async function withConfigFile(
  text: string,
  run: (path: string) => void,
): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".toml" });
  try {
    await Deno.writeTextFile(path, text);
    run(path);
  } finally {
    await Deno.remove(path);
  }
}

function env(
  values: Record<string, string>,
): (name: string) => string | undefined {
  return (name) => values[name];
}

Deno.test("loadConfig() takes defaults < file < environment < flags", async () => {
  await withConfigFile(
    '[server]\ngrpc_addr = "127.0.0.1:1000"\nmetrics_addr = "127.0.0.1:2000"\n[storage]\npath = "/from-file"\n',
    (file) => {
      const config = loadConfig({
        file,
        env: env({
          PULSE_METRICS_ADDR: "127.0.0.1:3000",
          PULSE_DATA_DIR: "/from-env",
        }),
        flags: { "data-dir": "/from-flag" },
      });
      assert.equal(config["server.grpc_addr"], "127.0.0.1:1000"); // file
      assert.equal(config["server.metrics_addr"], "127.0.0.1:3000"); // env over file
      assert.equal(config["storage.path"], "/from-flag"); // flag over env over file
      assert.equal(config["retry.max_attempts"], 3); // default
      assert.equal(config["server.heartbeat_timeout_ms"], 30_000);
    },
  );
});

Deno.test("loadConfig() reads PULSE_CONFIG when no file is named", async () => {
  await withConfigFile('[storage]\nbackend = "s3"\n', (file) => {
    const config = loadConfig({ env: env({ PULSE_CONFIG: file }), flags: {} });
    assert.equal(config["storage.backend"], "s3");
  });
});

Deno.test("loadConfig() parses numbers and booleans from the environment", () => {
  const config = loadConfig({
    file: "/dev/null",
    env: env({ PULSE_MAX_RETRIES: "7", PULSE_S3_FORCE_PATH_STYLE: "true" }),
    flags: {},
  });
  assert.equal(config["retry.max_attempts"], 7);
  assert.equal(config["storage.force_path_style"], true);
});

Deno.test("loadConfig() names the key, the value, its source and what is allowed", async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { PULSE_GRPC_ADDR: "nonsense" },
      /^Invalid configuration: server\.grpc_addr = "nonsense" \(from PULSE_GRPC_ADDR\): expected host:port/,
    ],
    [
      { PULSE_STORAGE_BACKEND: "ftp" },
      /storage\.backend = "ftp" \(from PULSE_STORAGE_BACKEND\): expected one of fs, s3$/,
    ],
    [
      { PULSE_MAX_RETRIES: "0" },
      /retry\.max_attempts = "0" \(from PULSE_MAX_RETRIES\): expected an integer from 1 to 100$/,
    ],
    [
      { PULSE_LOG_LEVEL: "loud" },
      /logging\.level = "loud" .*expected one of trace, debug, info, warn, error$/,
    ],
  ];
  for (const [values, message] of cases) {
    await t.step(Object.keys(values)[0]!, () => {
      assert.throws(
        () => loadConfig({ file: "/dev/null", env: env(values), flags: {} }),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }
});

Deno.test("loadConfig() rejects unknown keys and a missing named file", async () => {
  await withConfigFile('[storage]\nbukket = "x"\n', (file) => {
    assert.throws(() => loadConfig({ file, env: env({}), flags: {} }), {
      name: "ConfigError",
      message: `Invalid configuration: unknown key storage.bukket in ${file}`,
    });
  });
  assert.throws(
    () => loadConfig({ file: "/nonexistent/pulse.toml", env: env({}), flags: {} }),
    {
      name: "ConfigError",
      message: /^Cannot read config file \/nonexistent\/pulse\.toml/,
    },
  );
});

Deno.test("the shipped config.toml runs the embedded fs store in ./data", () => {
  const file = new URL("../config.toml", import.meta.url).pathname;
  const config = loadConfig({ file, env: env({}), flags: {} });
  assert.equal(config["storage.backend"], "fs");
  assert.equal(config["storage.path"], "./data");
  assert.equal(config["server.grpc_addr"], "127.0.0.1:50051");
  assert.equal(config["server.metrics_addr"], "127.0.0.1:9090");
  assert.equal(config["storage.endpoint"], "", "the S3 section works for AWS as it is");
  assert.equal(config["storage.force_path_style"], false);
});

const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);

Deno.test("loadConfig() refuses two tokens of one name or one sha256, naming both", async (t) => {
  const file = await Deno.makeTempFile({ suffix: ".toml" });
  try {
    const cases: [string, RegExp][] = [
      [
        `[[auth.tokens]]\nname = "ci"\nsha256 = "${SHA_A}"\nrole = "worker"\n` +
        `[[auth.tokens]]\nname = "ci"\nsha256 = "${SHA_B}"\nrole = "admin"\n`,
        /^Invalid configuration: auth\.tokens "ci" \(entry 1\) and "ci" \(entry 2\) have the name "ci"; every token needs a name and a secret of its own$/,
      ],
      [
        `[[auth.tokens]]\nname = "team-a"\nsha256 = "${SHA_A}"\nrole = "worker"\n` +
        `[[auth.tokens]]\nname = "ops"\nsha256 = "${SHA_A.toUpperCase()}"\nrole = "admin"\n`,
        /^Invalid configuration: auth\.tokens "team-a" \(entry 1\) and "ops" \(entry 2\) have one sha256;/,
      ],
    ];
    for (const [toml, message] of cases) {
      await t.step(message.source.slice(0, 60), async () => {
        await Deno.writeTextFile(file, toml);
        assert.throws(() => loadConfig({ file, env: env({}), flags: {} }), {
          name: "ConfigError",
          message,
        });
      });
    }
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("loadConfig() takes tokens from PULSE_AUTH_TOKENS as a JSON array", () => {
  const tokens = [{ name: "team-a", sha256: SHA_A, role: "worker", workers: "a-*" }];
  const config = loadConfig({
    file: "/dev/null",
    env: env({ PULSE_AUTH_TOKENS: JSON.stringify(tokens) }),
    flags: {},
  });
  assert.deepEqual(config["auth.tokens"], [{ ...tokens[0], datasets: "*", jobs: "*" }]);
  assert.throws(
    () => loadConfig({ file: "/dev/null", env: env({ PULSE_AUTH_TOKENS: "[{" }), flags: {} }),
    { name: "ConfigError", message: /auth\.tokens = "\[\{" \(from PULSE_AUTH_TOKENS\)/ },
  );
});

Deno.test("loadConfig() refuses to serve everyone as admin beyond loopback unless told to", () => {
  const load = (vars: Record<string, string>) =>
    loadConfig({ file: "/dev/null", env: env(vars), flags: {} });
  assert.equal(load({})["server.grpc_addr"], "127.0.0.1:50051", "loopback by default");
  assert.throws(() => load({ PULSE_GRPC_ADDR: "0.0.0.0:50051" }), {
    name: "ConfigError",
    message: /server\.grpc_addr 0\.0\.0\.0:50051 is beyond loopback and no \[\[auth\.tokens\]\]/,
  });
  assert.equal(
    load({ PULSE_GRPC_ADDR: "0.0.0.0:50051", PULSE_AUTH_ALLOW_ANONYMOUS: "true" })[
      "auth.allow_anonymous"
    ],
    true,
  );
  const tokens = JSON.stringify([{ name: "a", sha256: SHA_A, role: "admin" }]);
  assert.equal(
    load({ PULSE_GRPC_ADDR: "[::]:50051", PULSE_AUTH_TOKENS: tokens })["server.grpc_addr"],
    "[::]:50051",
  );
});
