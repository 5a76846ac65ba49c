/**
 * docker-compose.yml: two replicas of the runtime on one MinIO bucket,
 * created first, Prometheus and Grafana wired to them. Docker is not available here, so the
 * file is parsed and its wiring checked; the runtime's environment is checked
 * against the runtime's own settings and parsers.
 */
import assert from "node:assert/strict";
import { ConfigError, loadConfig, SETTINGS } from "../../src/config.ts";
import { asRecord, dockerfileEnv, findTool, readYaml, REPO, run } from "./_tools.ts";

interface Service {
  image?: string;
  build?: string;
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
}

function services(): Record<string, Service> {
  const compose = asRecord(readYaml("docker-compose.yml"), "compose");
  return compose.services as Record<string, Service>;
}

Deno.test("compose runs minio, its init job, two runtime replicas, prometheus and grafana", () => {
  assert.deepEqual(Object.keys(services()).sort(), [
    "grafana",
    "minio",
    "minio-init",
    "prometheus",
    "runtime",
    "runtime-2",
  ]);
  for (const [name, service] of Object.entries(services())) {
    if (service.image !== undefined) {
      assert.match(service.image, /:[\w.-]+$/, `${name} image is pinned`);
      assert.doesNotMatch(service.image, /:latest$/, `${name} image is pinned`);
    }
  }
});

Deno.test("the runtime is built here and uses the S3 backend on MinIO", () => {
  const runtime = services().runtime!;
  assert.equal(runtime.build, ".");
  assert.deepEqual(
    Object.fromEntries(
      Object.entries(runtime.environment ?? {}).filter(([k]) =>
        /^PULSE_(STORAGE_BACKEND|S3_ENDPOINT|S3_BUCKET|S3_FORCE_PATH_STYLE)$|^AWS_/
          .test(k)
      ),
    ),
    {
      PULSE_STORAGE_BACKEND: "s3",
      PULSE_S3_ENDPOINT: "http://minio:9000",
      PULSE_S3_BUCKET: "checkpoints",
      PULSE_S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: "minioadmin",
      AWS_SECRET_ACCESS_KEY: "minioadmin",
    },
  );
  assert.deepEqual(runtime.ports, ["127.0.0.1:50051:50051", "127.0.0.1:9090:9090"]);
  assert.deepEqual(runtime.depends_on, {
    "minio-init": { condition: "service_completed_successfully" },
  });
});

Deno.test("the second replica is the first on the same bucket, with its own replica id and ports", () => {
  const { runtime, "runtime-2": second } = services();
  const { PULSE_REPLICA_ID: firstId, ...firstEnv } = runtime!.environment ?? {};
  const { PULSE_REPLICA_ID: secondId, ...secondEnv } = second!.environment ?? {};
  assert.deepEqual(secondEnv, firstEnv);
  assert.equal(firstId, "runtime-1");
  assert.equal(secondId, "runtime-2");
  assert.equal(second!.build, runtime!.build);
  assert.equal(second!.image, runtime!.image);
  assert.deepEqual(second!.depends_on, runtime!.depends_on);
  assert.deepEqual(second!.ports, ["127.0.0.1:50052:50051", "127.0.0.1:9092:9090"]);
  const prometheus = readYaml("observability/prometheus/prometheus.yml") as {
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  const job = prometheus.scrape_configs.find((c) => c.job_name === "pulse-runtime")!;
  assert.deepEqual(job.static_configs.flatMap((c) => c.targets), [
    "runtime:9090",
    "runtime-2:9090",
  ]);
});

Deno.test("every PULSE_ variable of the runtime is a setting with a valid value", () => {
  const byEnv = new Map(
    Object.entries(SETTINGS).flatMap(([name, spec]) =>
      "env" in spec && spec.env ? [[spec.env, { name, spec }] as const] : []
    ),
  );
  const environments = [services().runtime!, services()["runtime-2"]!].map((service) =>
    Object.entries(service.environment ?? {})
  );
  for (const [key, value] of environments.flat()) {
    if (!key.startsWith("PULSE_")) continue;
    const setting = byEnv.get(key);
    assert.ok(setting, `${key} is not a setting of the runtime`);
    const parsed = (setting.spec.parse as (raw: unknown) => unknown)(value);
    assert.ok(
      !(typeof parsed === "object" && parsed !== null && "allowed" in parsed),
      `${key}=${value} is invalid for ${setting.name}`,
    );
  }
});

Deno.test("every port is published on the host's loopback only", () => {
  for (const [name, service] of Object.entries(services())) {
    for (const port of service.ports ?? []) {
      assert.match(port, /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${port}`);
    }
  }
});

Deno.test("the runtime's environment, over the image's, loads as the runtime would start it", async (t) => {
  // The image's ENV listens on 0.0.0.0; the compose file's environment
  // overrides it. No config.toml is mounted, so the image's own applies:
  // the repository's config.toml, copied into /app.
  const load = (environment: Record<string, string>) => {
    const env = new Map(Object.entries({ ...dockerfileEnv(), ...environment }));
    return loadConfig({
      file: `${REPO}/config.toml`,
      env: (name) => env.get(name),
      envNames: () => [...env.keys()],
      flags: {},
    });
  };
  const environment = services().runtime!.environment ?? {};
  await t.step("as written: starts, on every interface, anonymous, on MinIO", () => {
    const config = load(environment);
    assert.equal(config["server.grpc_addr"], "0.0.0.0:50051");
    assert.equal(config["server.metrics_addr"], "0.0.0.0:9090");
    assert.equal(config["auth.allow_anonymous"], true);
    assert.equal(config["storage.backend"], "s3");
    assert.equal(config["storage.endpoint"], "http://minio:9000");
  });
  await t.step("without PULSE_AUTH_ALLOW_ANONYMOUS it would exit 2", () => {
    const { PULSE_AUTH_ALLOW_ANONYMOUS: _, ...rest } = environment;
    assert.throws(
      () => load(rest),
      (error) => error instanceof ConfigError && /beyond loopback/.test(error.message),
    );
  });
});

Deno.test("minio-init waits for MinIO and creates the bucket the runtime uses", () => {
  const init = services()["minio-init"]!;
  assert.deepEqual(init.depends_on, { minio: { condition: "service_healthy" } });
  const script = [init.command].flat().join(" ");
  const bucket = services().runtime!.environment!.PULSE_S3_BUCKET;
  assert.match(script, /mc alias set local http:\/\/minio:9000 minioadmin minioadmin/);
  assert.match(script, new RegExp(`mc mb --ignore-existing local/${bucket}\\b`));
  const minio = services().minio!;
  assert.equal(minio.environment?.MINIO_ROOT_USER, "minioadmin");
  assert.equal(minio.environment?.MINIO_ROOT_PASSWORD, "minioadmin");
});

Deno.test("prometheus and grafana mount the repository's files", () => {
  const { prometheus, grafana } = services();
  assert.ok(
    prometheus!.volumes?.includes("./observability/prometheus:/etc/prometheus:ro"),
  );
  assert.ok(
    [prometheus!.command].flat().includes(
      "--config.file=/etc/prometheus/prometheus.yml",
    ),
  );
  assert.deepEqual(grafana!.ports, ["127.0.0.1:3000:3000"]);
  assert.equal(grafana!.environment?.GF_SECURITY_ADMIN_USER, "admin");
  assert.equal(grafana!.environment?.GF_SECURITY_ADMIN_PASSWORD, "admin");
  assert.ok(
    grafana!.volumes?.includes(
      "./observability/grafana/provisioning:/etc/grafana/provisioning:ro",
    ),
  );
  for (const service of Object.values(services())) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(":")[0]!;
      if (!source.startsWith("./")) continue;
      Deno.statSync(`${REPO}/${source}`); // throws if the mounted path is missing
    }
  }
});

// The docker CLI may be installed without the compose plugin or an engine;
// `docker compose config` needs only the plugin.
const hasCompose = findTool("docker") !== undefined &&
  new Deno.Command("docker", {
    args: ["compose", "version"],
    stdout: "null",
    stderr: "null",
  }).outputSync().success;

Deno.test({
  name: "docker compose config accepts the file",
  ignore: !hasCompose,
  fn: async () => {
    const result = await run("docker", ["compose", "config", "--quiet"]);
    assert.equal(result.code, 0, result.stderr);
  },
});
if (!hasCompose) {
  console.warn(
    "SKIPPING `docker compose config`: docker compose is not installed; the compose file is checked by parsing only.",
  );
}
