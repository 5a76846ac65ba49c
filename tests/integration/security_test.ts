/**
 * Attempts to get in: TLS and mutual TLS, bearer tokens with roles and worker
 * globs, request metadata limits, an unauthenticated 64 MiB upload, size and
 * concurrency limits, and the warning when authentication is off. Every case
 * runs against a real runtime process; certificates come from
 * scripts/generate_certs.sh (openssl).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { PulseError, Runtime } from "@pulsecheckpoint/sdk";
import { loadPulsePackage, toStruct } from "@pulsecheckpoint/proto";
import { REQUEST_METADATA_BYTES_MAX, REQUEST_METADATA_ENTRIES_MAX } from "../../src/limits.ts";
import { randomBytes } from "../support/bytes.ts";
import { type RawClient, rawClient } from "../support/raw_client.ts";
import { startRuntime } from "../support/runtime.ts";
import { tempDir } from "../support/temp_dirs.ts";

const MIB = 1024 * 1024;
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TOKENS = { admin: "admin-secret-1", teamA: "team-a-secret-2", reader: "reader-secret-3" };

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A directory with certificates in certs/ and the given config.toml. */
async function runtimeDir(configToml = ""): Promise<string> {
  const dir = await tempDir("pulse-security-");
  const { code } = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/generate_certs.sh`, `${dir}/certs`],
    stdout: "null",
    stderr: "inherit",
  }).output();
  assert.equal(code, 0);
  await Deno.writeTextFile(`${dir}/config.toml`, configToml);
  return dir;
}

async function pem(dir: string, name: string): Promise<string> {
  return await Deno.readTextFile(`${dir}/certs/${name}`);
}

function code(error: unknown): string {
  assert.ok(error instanceof PulseError, String(error));
  return error.code;
}

const TLS_ENV = { PULSE_TLS_CERT: "certs/server.pem", PULSE_TLS_KEY: "certs/server.key" };

Deno.test("TLS: clients that trust the CA are served; plaintext clients are refused", async () => {
  const dir = await runtimeDir();
  const runtime = await startRuntime({ dir, env: TLS_ENV });
  const port = runtime.grpcAddress.split(":")[1];
  const secure = new Runtime(`grpcs://localhost:${port}`, {
    tls: { ca: await pem(dir, "ca.pem") },
    retry: false,
  });
  const plain = new Runtime(`grpc://localhost:${port}`, { retry: false });
  try {
    await secure.registerWorker("w1");
    const saved = await secure.saveCheckpoint({ workerId: "w1", data: randomBytes(1000) });
    assert.equal((await secure.latestCheckpoint("w1")).checkpointId, saved.checkpointId);
    await assert.rejects(plain.heartbeat("w1"), (error) => code(error) === "UNAVAILABLE");
  } finally {
    secure.close();
    plain.close();
    await runtime.stop();
  }
});

Deno.test("mutual TLS: a client certificate signed by the client CA is required", async () => {
  const dir = await runtimeDir();
  const runtime = await startRuntime({
    dir,
    env: { ...TLS_ENV, PULSE_TLS_CLIENT_CA: "certs/ca.pem" },
  });
  const port = runtime.grpcAddress.split(":")[1];
  const ca = await pem(dir, "ca.pem");
  const withCert = new Runtime(`grpcs://localhost:${port}`, {
    tls: { ca, cert: await pem(dir, "client.pem"), key: await pem(dir, "client.key") },
    retry: false,
  });
  const withoutCert = new Runtime(`grpcs://localhost:${port}`, { tls: { ca }, retry: false });
  // A certificate the runtime's client CA did not sign: its own CA, made anew.
  const strangerDir = await runtimeDir();
  const stranger = new Runtime(`grpcs://localhost:${port}`, {
    tls: {
      ca,
      cert: await pem(strangerDir, "client.pem"),
      key: await pem(strangerDir, "client.key"),
    },
    retry: false,
  });
  try {
    await withCert.registerWorker("w1");
    await assert.rejects(withoutCert.heartbeat("w1"), (error) => code(error) === "UNAVAILABLE");
    await assert.rejects(stranger.heartbeat("w1"), (error) => code(error) === "UNAVAILABLE");
  } finally {
    withCert.close();
    withoutCert.close();
    stranger.close();
    await runtime.stop();
  }
});

const TOKENS_TOML = `
[[auth.tokens]]
name = "ops"
sha256 = "${sha256(TOKENS.admin)}"
role = "admin"

[[auth.tokens]]
name = "team-a"
sha256 = "${sha256(TOKENS.teamA)}"
role = "worker"
workers = "team-a-*"
datasets = "team-a-*"

[[auth.tokens]]
name = "dashboards"
sha256 = "${sha256(TOKENS.reader)}"
role = "reader"
`;

Deno.test("tokens: unknown or missing is UNAUTHENTICATED, outside its rights PERMISSION_DENIED", async (t) => {
  const dir = await runtimeDir(TOKENS_TOML);
  const runtime = await startRuntime({ dir });
  const at = (token?: string) =>
    new Runtime(`grpc://${runtime.grpcAddress}`, { token, retry: false });
  const admin = at(TOKENS.admin);
  const teamA = at(TOKENS.teamA);
  const reader = at(TOKENS.reader);
  const anonymous = at();
  const forged = at("not-a-token");
  try {
    await admin.registerWorker("team-b-1");
    const theirs = await admin.saveCheckpoint({ workerId: "team-b-1", data: randomBytes(100) });

    await t.step("no token and an unknown token are UNAUTHENTICATED", async () => {
      await assert.rejects(
        anonymous.heartbeat("team-b-1"),
        (error) => code(error) === "UNAUTHENTICATED",
      );
      await assert.rejects(forged.listDatasets(), (error) => code(error) === "UNAUTHENTICATED");
    });
    await t.step("a worker token acts for its own workers", async () => {
      await teamA.registerWorker("team-a-1");
      const mine = await teamA.saveCheckpoint({ workerId: "team-a-1", data: randomBytes(100) });
      assert.equal(
        (await teamA.loadCheckpoint("team-a-1")).checkpoint.checkpointId,
        mine.checkpointId,
      );
      await teamA.registerDataset("team-a-train", { path: "s3://bucket/a" });
      assert.equal((await teamA.getDataset("team-a-train")).path, "s3://bucket/a");
    });
    await t.step("a worker token can do nothing with other teams' datasets", async () => {
      await admin.registerDataset("b-train", { path: "s3://bucket/b" });
      const denied = (error: unknown) =>
        code(error) === "PERMISSION_DENIED" &&
        /token team-a may act only for datasets team-a-\*/.test((error as Error).message);
      await assert.rejects(
        teamA.registerDataset("b-train", { path: "s3://attacker/poison" }),
        denied,
      );
      await assert.rejects(teamA.getDataset("b-train"), denied);
      await assert.rejects(teamA.listDatasets(), denied);
      assert.equal((await admin.getDataset("b-train")).path, "s3://bucket/b");
    });
    await t.step("a worker token can do nothing for other workers", async () => {
      const denied = (error: unknown) =>
        code(error) === "PERMISSION_DENIED" &&
        /token team-a may act only for workers team-a-\*/.test((error as Error).message);
      await assert.rejects(teamA.registerWorker("team-b-2"), denied);
      await assert.rejects(teamA.heartbeat("team-b-1"), denied);
      await assert.rejects(
        teamA.saveCheckpoint({ workerId: "team-b-1", data: randomBytes(10) }),
        denied,
      );
      await assert.rejects(teamA.loadCheckpoint("team-b-1"), denied);
      await assert.rejects(teamA.listCheckpoints("team-b-1"), denied);
      await assert.rejects(teamA.deleteCheckpoint("team-b-1", theirs.checkpointId), denied);
      await assert.rejects(teamA.listWorkers(), (error) => code(error) === "PERMISSION_DENIED");
    });
    await t.step("a reader token reads and writes nothing", async () => {
      assert.equal(
        (await reader.loadCheckpoint("team-b-1")).checkpoint.checkpointId,
        theirs.checkpointId,
      );
      assert.equal((await reader.listWorkers()).items.length, 2);
      const denied = (error: unknown) =>
        code(error) === "PERMISSION_DENIED" && /role reader/.test((error as Error).message);
      await assert.rejects(reader.registerWorker("reader-1"), denied);
      await assert.rejects(
        reader.saveCheckpoint({ workerId: "team-b-1", data: randomBytes(10) }),
        denied,
      );
      await assert.rejects(reader.deleteCheckpoint("team-b-1", theirs.checkpointId), denied);
    });
    await t.step("what was denied changed nothing", async () => {
      const listed = await admin.listCheckpoints("team-b-1");
      assert.deepEqual(listed.items.map((c) => c.checkpointId), [theirs.checkpointId]);
    });
    await t.step("health checks need no token", async () => {
      const Health = grpc.makeGenericClientConstructor(
        loadPulsePackage()["grpc.health.v1.Health"] as grpc.ServiceDefinition,
        "Health",
      );
      const health = new Health(
        runtime.grpcAddress,
        grpc.credentials.createInsecure(),
      ) as RawClient;
      const response = await new Promise<{ status: string }>((resolve, reject) =>
        health.Check(
          { service: "" },
          (error: unknown, response: { status: string }) =>
            error ? reject(error) : resolve(response),
        )
      );
      assert.equal(response.status, "SERVING");
      health.close();
    });
    await t.step("tokens never reach the logs", () => {
      assert.ok(runtime.logs.length > 0);
      const logs = runtime.logs.join("\n");
      for (const token of [...Object.values(TOKENS), "not-a-token"]) {
        assert.ok(!logs.includes(token));
      }
    });
  } finally {
    for (const client of [admin, teamA, reader, anonymous, forged]) client.close();
    await runtime.stop();
  }
});

Deno.test("an unauthenticated upload is refused on its metadata, before any byte of it is sent", async () => {
  const dir = await runtimeDir(TOKENS_TOML);
  const runtime = await startRuntime({ dir });
  const client = rawClient(runtime.grpcAddress);
  try {
    // The call opens with its header message and nothing more: the refusal
    // must come without a data byte, and without the call ending.
    const status = await new Promise<grpc.ServiceError>((resolve, reject) => {
      const call = client.SaveCheckpoint((error: grpc.ServiceError | null) =>
        error ? resolve(error) : reject(new Error("the upload was accepted"))
      );
      call.on("error", () => {});
      call.write({ header: { worker_id: "w1", metadata: toStruct({}), idempotency_key: "" } });
    });
    assert.equal(status.code, grpc.status.UNAUTHENTICATED);
    const metrics = await (await fetch(`${runtime.metricsUrl}/metrics`)).text();
    assert.match(metrics, /^pulse_checkpoint_saves_in_progress 0$/m); // the handler never ran
  } finally {
    client.close();
    await runtime.stop();
  }
});

Deno.test("request metadata beyond its limits is RESOURCE_EXHAUSTED", async () => {
  const runtime = await startRuntime();
  const client = rawClient(runtime.grpcAddress);
  const heartbeat = (metadata: grpc.Metadata) =>
    new Promise<grpc.ServiceError | null>((resolve) =>
      client.Heartbeat(
        { worker_id: "w1" },
        metadata,
        (error: grpc.ServiceError | null) => resolve(error),
      )
    );
  try {
    const many = new grpc.Metadata();
    for (let i = 0; i <= REQUEST_METADATA_ENTRIES_MAX; i++) many.set(`x-entry-${i}`, "v");
    const manyError = await heartbeat(many);
    assert.equal(manyError?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(manyError!.details, new RegExp(`limit is ${REQUEST_METADATA_ENTRIES_MAX}$`));

    const large = new grpc.Metadata();
    large.set("x-large", "v".repeat(REQUEST_METADATA_BYTES_MAX));
    const largeError = await heartbeat(large);
    assert.equal(largeError?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(largeError!.details, new RegExp(`bytes, limit is ${REQUEST_METADATA_BYTES_MAX}$`));

    const small = new grpc.Metadata();
    small.set("x-fine", "v");
    assert.equal((await heartbeat(small))?.code, grpc.status.NOT_FOUND); // reached the handler
  } finally {
    client.close();
    await runtime.stop();
  }
});

Deno.test("a checkpoint above limits.checkpoint_bytes_max is RESOURCE_EXHAUSTED; others are unaffected", async () => {
  const runtime = await startRuntime({ env: { PULSE_CHECKPOINT_BYTES_MAX: String(10 * MIB) } });
  const rt = runtime.client();
  try {
    await rt.registerWorker("big");
    await rt.registerWorker("small");
    const [tooBig, fine] = await Promise.allSettled([
      rt.saveCheckpoint({ workerId: "big", data: randomBytes(11 * MIB) }),
      rt.saveCheckpoint({ workerId: "small", data: randomBytes(5 * MIB) }),
    ]);
    assert.equal(fine.status, "fulfilled");
    assert.equal(tooBig.status, "rejected");
    const error = (tooBig as PromiseRejectedResult).reason;
    assert.equal(code(error), "RESOURCE_EXHAUSTED");
    assert.match(
      error.message,
      new RegExp(`larger than ${10 * MIB} bytes, the limit \\(limits.checkpoint_bytes_max\\)`),
    );
    assert.deepEqual((await rt.listCheckpoints("big")).items, []);
    await rt.heartbeat("small");
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("with no tokens and auth.allow_anonymous, listening beyond loopback logs a loud warning; on loopback it does not", async () => {
  const open = await startRuntime({
    args: ["--grpc-addr", "0.0.0.0:0"],
    env: { PULSE_AUTH_ALLOW_ANONYMOUS: "true" },
  });
  await open.stop();
  assert.ok(open.logs.some((line) => line.includes("AUTHENTICATION IS OFF")));
  const local = await startRuntime();
  await local.stop();
  assert.ok(!local.logs.some((line) => line.includes("AUTHENTICATION IS OFF")));
});

Deno.test("with grpc-js tracing every request header, no bearer token reaches any output, and every line is JSON", async () => {
  const dir = await runtimeDir(TOKENS_TOML);
  const runtime = await startRuntime({
    dir,
    env: { GRPC_TRACE: "all", GRPC_VERBOSITY: "DEBUG", PULSE_LOG_LEVEL: "debug" },
  });
  const admin = new Runtime(`grpc://${runtime.grpcAddress}`, { token: TOKENS.admin });
  const forged = new Runtime(`grpc://${runtime.grpcAddress}`, {
    token: "forged-secret-9",
    retry: false,
  });
  try {
    await admin.registerWorker("team-a-1");
    await admin.heartbeat("team-a-1");
    await assert.rejects(forged.heartbeat("team-a-1"));
  } finally {
    admin.close();
    forged.close();
    await runtime.stop();
  }
  const output = runtime.logs.join("\n");
  // The trace printed the headers, with the token's value hidden.
  assert.match(output, /"target":"grpc-js".*received headers.*authorization.*\[redacted\]/);
  for (const token of [TOKENS.admin, "forged-secret-9"]) assert.ok(!output.includes(token), token);
  for (const line of runtime.logs.filter((line) => line.trim() !== "")) {
    assert.doesNotThrow(() => JSON.parse(line), `not a JSON line: ${line}`);
  }
});

Deno.test("TLS starts under the runtime's permissions with GRPC_DEFAULT_SSL_ROOTS_FILE_PATH naming a file it may not read", async () => {
  const dir = await runtimeDir();
  const roots = await Deno.makeTempFile({ prefix: "pulse-roots-", suffix: ".pem" });
  await Deno.copyFile(`${dir}/certs/ca.pem`, roots); // outside the runtime's directory
  const runtime = await startRuntime({
    dir,
    env: { ...TLS_ENV, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: roots },
  });
  const rt = new Runtime(`grpcs://localhost:${runtime.grpcAddress.split(":").at(-1)}`, {
    tls: { ca: await pem(dir, "ca.pem") },
  });
  try {
    await rt.registerWorker("w1");
    assert.match(runtime.logs.join("\n"), /"message":"Runtime started".*"tls":"on"/);
  } finally {
    rt.close();
    await runtime.stop();
    await Deno.remove(roots);
  }
});

Deno.test("a worker token cannot move a dataset to another path; an admin token can", async () => {
  const dir = await runtimeDir(TOKENS_TOML);
  const runtime = await startRuntime({ dir });
  const address = `grpc://${runtime.grpcAddress}`;
  const teamA = new Runtime(address, { token: TOKENS.teamA, retry: false });
  const admin = new Runtime(address, { token: TOKENS.admin, retry: false });
  try {
    await teamA.registerDataset("team-a-train", { path: "s3://team-a/train" });
    const moved = teamA.registerDataset("team-a-train", { path: "s3://attacker/poison" });
    await assert.rejects(moved, {
      code: "ALREADY_EXISTS",
      message: /dataset team-a-train is registered with path s3:\/\/team-a\/train/,
    });
    assert.equal((await admin.getDataset("team-a-train")).path, "s3://team-a/train");
    await admin.registerDataset("team-a-train", { path: "s3://team-a/train-v2" });
    assert.equal((await teamA.getDataset("team-a-train")).path, "s3://team-a/train-v2");
  } finally {
    teamA.close();
    admin.close();
    await runtime.stop();
  }
});
