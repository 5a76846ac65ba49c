/**
 * The Helm chart deploy/helm/pulse-runtime, checked without a cluster:
 * `helm lint --strict` and `helm template` with each value set of its ci/
 * directory, value sets that must fail the render with a message naming
 * what to change, `kubernetes-validate --strict` on what it renders (for the
 * oldest Kubernetes the chart supports and the newest the tool knows), and
 * the wiring read back from the rendered manifests: probes, mounts, env,
 * security context, ports, resources. The rendered config.toml and the
 * container's environment are loaded by the runtime's own `loadConfig`, so
 * a render that the runtime would refuse (exit 2) fails here.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ConfigError, loadConfig, SETTINGS } from "../../src/config.ts";
import { dockerfileEnv, findTool, missingTool, REPO, run } from "./_tools.ts";

const CHART = `${REPO}/deploy/helm/pulse-runtime`;
const VALUE_SETS = ["fs-values.yaml", "s3-values.yaml", "minio-tls-values.yaml"];
/** The chart's kubeVersion floor (native gRPC probes are GA there) and the newest schemas of kubernetes-validate. */
const KUBERNETES_VERSIONS = ["1.27.0", "1.37.0"];

const noHelm = missingTool("helm");
const noKubernetesValidate = missingTool("kubernetes-validate");
const HELM = findTool("helm") ?? "helm";

type Manifest = Record<string, unknown> & {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
};
type Env = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: SecretKeyRef; fieldRef?: { fieldPath: string } };
};
type SecretKeyRef = { name: string; key: string };
interface Container {
  name: string;
  image: string;
  args: string[];
  workingDir: string;
  ports: { name: string; containerPort: number }[];
  env: Env[];
  volumeMounts: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  startupProbe: Record<string, unknown>;
  readinessProbe: Record<string, unknown>;
  livenessProbe: Record<string, unknown>;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
}
interface PodSpec {
  containers: Container[];
  volumes: Record<string, unknown>[];
  securityContext: Record<string, unknown>;
  serviceAccountName: string;
  automountServiceAccountToken: boolean;
  enableServiceLinks: boolean;
  terminationGracePeriodSeconds: number;
}

/** `helm template` of the chart with value files of ci/ and `--set` pairs. */
async function helmTemplate(files: string[], set: string[] = []) {
  return await run(HELM, [
    "template",
    "pulse",
    CHART,
    "--namespace",
    "ml",
    "--kube-version",
    KUBERNETES_VERSIONS[0]!,
    ...files.flatMap((file) => ["--values", `${CHART}/ci/${file}`]),
    ...set.flatMap((pair) => ["--set", pair]),
  ]);
}

const renders = new Map<string, Manifest[]>();

/** The manifests rendered from one value set (rendered once). */
async function rendered(file: string): Promise<Manifest[]> {
  const cached = renders.get(file);
  if (cached !== undefined) return cached;
  const result = await helmTemplate([file]);
  assert.equal(result.code, 0, result.stderr);
  const manifests = parseAllDocuments(result.stdout)
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
  renders.set(file, manifests);
  return manifests;
}

function only(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `one ${kind} expected, found ${found.length}`);
  return found[0]!;
}

async function deployment(file: string) {
  const manifest = only(await rendered(file), "Deployment");
  const spec = manifest.spec as {
    replicas: number;
    strategy: { type: string; rollingUpdate?: Record<string, number> };
    template: { metadata: { annotations: Record<string, string> }; spec: PodSpec };
  };
  const pod = spec.template.spec;
  assert.equal(pod.containers.length, 1);
  return {
    spec,
    pod,
    container: pod.containers[0]!,
    annotations: spec.template.metadata.annotations,
  };
}

function envOf(container: Container): Map<string, Env> {
  return new Map(container.env.map((entry) => [entry.name, entry]));
}

/** The image's user from the Dockerfile's USER line, e.g. [10001, 10001]. */
function dockerfileUser(): number[] {
  const user = Deno.readTextFileSync(`${REPO}/Dockerfile`).match(/^USER (\d+):(\d+)$/m);
  assert.ok(user, "the Dockerfile has no numeric USER uid:gid");
  return [Number(user[1]), Number(user[2])];
}

Deno.test({
  name: "helm lint --strict passes the chart with each value set of ci/",
  ignore: noHelm,
  fn: async (t) => {
    for (const file of VALUE_SETS) {
      await t.step(file, async () => {
        const result = await run(HELM, [
          "lint",
          "--strict",
          CHART,
          "--kube-version",
          KUBERNETES_VERSIONS[0]!,
          "--values",
          `${CHART}/ci/${file}`,
        ]);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      });
    }
  },
});

Deno.test({
  name: "helm lint rejects values that the schema does not allow",
  ignore: noHelm,
  fn: async () => {
    const result = await run(HELM, [
      "lint",
      CHART,
      "--values",
      `${CHART}/ci/fs-values.yaml`,
      "--set",
      "storage.backnd=s3",
      "--set",
      "auth.tokens[0].role=root",
    ]);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /additional properties 'backnd' not allowed/);
    assert.match(result.stdout, /auth\/tokens\/0\/role/);
  },
});

Deno.test({
  name: "kubernetes-validate --strict accepts what each value set renders",
  ignore: noHelm || noKubernetesValidate,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "helm_validate_" });
    try {
      for (const file of VALUE_SETS) {
        const result = await helmTemplate([file]);
        assert.equal(result.code, 0, result.stderr);
        const path = `${dir}/${file}`;
        await Deno.writeTextFile(path, result.stdout);
        for (const version of KUBERNETES_VERSIONS) {
          await t.step(`${file}, Kubernetes ${version}`, async () => {
            const check = await run("kubernetes-validate", ["--strict", "-k", version, path]);
            assert.equal(check.code, 0, check.stdout + check.stderr);
            const kinds = (await rendered(file)).length;
            const passed = check.stdout.match(/ passed for resource /g) ?? [];
            assert.equal(passed.length, kinds, check.stdout);
          });
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "kubernetes-validate --strict rejects an unknown field and a wrong type",
  ignore: noKubernetesValidate,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "kubernetes_validate_" });
    try {
      const rejects = async (name: string, spec: string, message: RegExp) => {
        await Deno.writeTextFile(
          `${dir}/${name}.yaml`,
          `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n${spec}`,
        );
        const check = await run("kubernetes-validate", [
          "--strict",
          "-k",
          "1.27.0",
          `${dir}/${name}.yaml`,
        ]);
        assert.notEqual(check.code, 0, check.stdout);
        assert.match(check.stdout + check.stderr, message);
      };
      await rejects("unknown", "  portz: []\n", /portz/);
      await rejects("type", "  ports:\n    - port: many\n", /'many' is not of type 'integer'/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "the chart refuses, naming what to change, values the runtime would not start with or that could lose data",
  ignore: noHelm,
  fn: async (t) => {
    const refused = async (files: string[], set: string[], message: RegExp) => {
      const result = await helmTemplate(files, set);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, message);
    };
    await t.step("the defaults: no tokens, no allowAnonymous", async () => {
      await refused(
        [],
        [],
        /Set auth\.tokens \(or auth\.existingSecret, a Secret holding them as JSON\) or auth\.allowAnonymous=true: .*refuses to start \(exit status 2\)/,
      );
    });
    await t.step("fs with replicaCount 2", async () => {
      await refused(
        ["fs-values.yaml"],
        ["replicaCount=2"],
        /replicaCount is 2, but storage\.backend fs keeps the store in one data directory on one PersistentVolume, which only one runtime may use: set replicaCount to 1 \(or 0 to stop it\), or use storage\.backend s3/,
      );
    });
    await t.step("a grace period not longer than the drain", async () => {
      await refused(
        ["fs-values.yaml"],
        ["terminationGracePeriodSeconds=30"],
        /terminationGracePeriodSeconds \(30 s\) must be longer than config\.server\.drain_timeout_ms \(30000 ms\)/,
      );
      await refused(
        ["s3-values.yaml"],
        ["config.server.drain_timeout_ms=90000"],
        /terminationGracePeriodSeconds \(75 s\) must be longer than config\.server\.drain_timeout_ms \(90000 ms\)/,
      );
    });
    await t.step("config setting what the chart sets", async () => {
      await refused(
        ["fs-values.yaml"],
        ["config.storage.backend=s3"],
        /config\.storage\.backend is set by the chart from other values/,
      );
      await refused(
        ["fs-values.yaml"],
        ["config.server.grpc_addr=0.0.0.0:1"],
        /config\.server\.grpc_addr is set by the chart/,
      );
    });
    await t.step("extraEnv setting what the chart sets", async () => {
      await refused(
        ["fs-values.yaml"],
        ["extraEnv[0].name=PULSE_AUTH_TOKENS", "extraEnv[0].value=[]"],
        /extraEnv sets PULSE_AUTH_TOKENS, which the chart sets/,
      );
    });
    await t.step("tokens both in values and in an existing Secret", async () => {
      await refused(
        ["fs-values.yaml"],
        ["auth.existingSecret=other"],
        /Set auth\.tokens or auth\.existingSecret, not both/,
      );
    });
    await t.step("s3 without a bucket", async () => {
      await refused(["s3-values.yaml"], ["storage.s3.bucket="], /storage\.s3\.bucket must be set/);
    });
  },
});

Deno.test({
  name: "fs: one replica recreated, not rolled, on a PersistentVolumeClaim mounted at /app/data",
  ignore: noHelm,
  fn: async () => {
    const manifests = await rendered("fs-values.yaml");
    assert.deepEqual(manifests.map((m) => m.kind).sort(), [
      "ConfigMap",
      "Deployment",
      "PersistentVolumeClaim",
      "Secret",
      "Service",
      "ServiceAccount",
    ]);
    const { spec, pod, container } = await deployment("fs-values.yaml");
    assert.equal(spec.replicas, 1);
    assert.deepEqual(spec.strategy, { type: "Recreate" });
    const claim = only(manifests, "PersistentVolumeClaim");
    assert.equal(claim.metadata.annotations?.["helm.sh/resource-policy"], "keep");
    assert.deepEqual((claim.spec as Record<string, unknown>).accessModes, ["ReadWriteOnce"]);
    assert.deepEqual(pod.volumes.find((v) => v.name === "data"), {
      name: "data",
      persistentVolumeClaim: { claimName: claim.metadata.name },
    });
    assert.deepEqual(container.volumeMounts.find((m) => m.name === "data"), {
      name: "data",
      mountPath: "/app/data",
    });
    // The volume is writable by the image's user through its group.
    assert.equal(pod.securityContext.fsGroup, dockerfileUser()[1]);
    // replicaCount 0 stops the runtime and keeps the claim.
    const stopped = await helmTemplate(["fs-values.yaml"], ["replicaCount=0"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /^ {2}replicas: 0$/m);
    assert.match(stopped.stdout, /^kind: PersistentVolumeClaim$/m);
  },
});

Deno.test({
  name: "s3: three replicas rolled one at a time, no volume to write, IRSA on the service account",
  ignore: noHelm,
  fn: async () => {
    const manifests = await rendered("s3-values.yaml");
    assert.deepEqual(manifests.map((m) => m.kind).sort(), [
      "ConfigMap",
      "Deployment",
      "Service",
      "ServiceAccount",
    ]);
    const { spec, pod, container } = await deployment("s3-values.yaml");
    assert.equal(spec.replicas, 3);
    assert.deepEqual(spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    assert.deepEqual(pod.volumes.map((v) => v.name), ["config"]);
    assert.deepEqual(container.volumeMounts.map((m) => m.mountPath), ["/app/config.toml"]);
    const account = only(manifests, "ServiceAccount");
    assert.equal(pod.serviceAccountName, account.metadata.name);
    assert.equal(
      account.metadata.annotations?.["eks.amazonaws.com/role-arn"],
      "arn:aws:iam::123456789012:role/pulse-runtime",
    );
    // No static keys: the AWS SDK's chain finds the web identity token.
    assert.equal(envOf(container).has("AWS_ACCESS_KEY_ID"), false);
    // Each replica is named by its pod.
    assert.deepEqual(envOf(container).get("PULSE_REPLICA_ID")?.valueFrom, {
      fieldRef: { fieldPath: "metadata.name" },
    });
  },
});

Deno.test({
  name: "the container runs serve in /app with config.toml from the ConfigMap, read-only",
  ignore: noHelm,
  fn: async (t) => {
    for (const file of VALUE_SETS) {
      await t.step(file, async () => {
        const { pod, container, annotations } = await deployment(file);
        const configMap = only(await rendered(file), "ConfigMap");
        assert.deepEqual(container.args, ["serve"]);
        assert.equal(container.workingDir, "/app");
        assert.match(container.image, /^ghcr\.io\/your-org\/pulsecheckpoint-runtime:0\.1\.0$/);
        assert.deepEqual(container.volumeMounts[0], {
          name: "config",
          mountPath: "/app/config.toml",
          subPath: "config.toml",
          readOnly: true,
        });
        assert.deepEqual(pod.volumes[0], {
          name: "config",
          configMap: { name: configMap.metadata.name },
        });
        assert.deepEqual(Object.keys(configMap.data as object), ["config.toml"]);
        // A subPath mount is never updated: the checksum rolls the pods instead.
        assert.match(annotations["checksum/config"] ?? "", /^[0-9a-f]{64}$/);
      });
    }
  },
});

Deno.test({
  name: "probes ask gRPC health on the gRPC port, or /healthz and /readyz when gRPC is TLS",
  ignore: noHelm,
  fn: async (t) => {
    await t.step("plaintext gRPC: the kubelet's gRPC probe", async () => {
      for (const file of ["fs-values.yaml", "s3-values.yaml"]) {
        const { container } = await deployment(file);
        const grpcPort = container.ports.find((p) => p.name === "grpc")!.containerPort;
        assert.equal(grpcPort, 50051);
        for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
          assert.deepEqual(container[probe].grpc, { port: grpcPort }, `${file} ${probe}`);
          assert.equal(container[probe].httpGet, undefined);
        }
        // A restart cuts saves in flight: only after a minute of failures.
        const liveness = container.livenessProbe as {
          periodSeconds: number;
          failureThreshold: number;
        };
        assert.ok(liveness.periodSeconds * liveness.failureThreshold >= 60);
      }
    });
    await t.step("TLS: HTTP on the metrics port, which the kubelet can reach", async () => {
      const { container } = await deployment("minio-tls-values.yaml");
      assert.deepEqual(container.startupProbe.httpGet, { path: "/healthz", port: "metrics" });
      assert.deepEqual(container.readinessProbe.httpGet, { path: "/readyz", port: "metrics" });
      assert.deepEqual(container.livenessProbe.httpGet, { path: "/healthz", port: "metrics" });
      assert.equal(container.readinessProbe.grpc, undefined);
    });
    await t.step("probes.type http without TLS", async () => {
      const result = await helmTemplate(["fs-values.yaml"], ["probes.type=http"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /readinessProbe:\n\s+httpGet:\n\s+path: \/readyz/);
    });
  },
});

Deno.test({
  name: "tokens reach the runtime as PULSE_AUTH_TOKENS from a Secret, never in the ConfigMap",
  ignore: noHelm,
  fn: async (t) => {
    await t.step("auth.tokens: the chart's Secret holds them as JSON", async () => {
      const manifests = await rendered("fs-values.yaml");
      const secret = only(manifests, "Secret");
      const { container, annotations } = await deployment("fs-values.yaml");
      assert.deepEqual(envOf(container).get("PULSE_AUTH_TOKENS")?.valueFrom, {
        secretKeyRef: { name: secret.metadata.name, key: "tokens.json" },
      });
      const data = secret.data as Record<string, string>;
      const tokens = JSON.parse(atob(data["tokens.json"]!));
      assert.deepEqual(tokens.map((token: { name: string }) => token.name), ["ops", "team-a"]);
      assert.match(annotations["checksum/tokens"] ?? "", /^[0-9a-f]{64}$/);
      const toml = (only(manifests, "ConfigMap").data as Record<string, string>)["config.toml"]!;
      const settings = toml.split("\n").filter((line) => !line.startsWith("#"));
      assert.deepEqual(settings.filter((line) => /sha256|tokens/.test(line)), []);
    });
    await t.step("auth.existingSecret: its key", async () => {
      const { container } = await deployment("s3-values.yaml");
      assert.deepEqual(envOf(container).get("PULSE_AUTH_TOKENS")?.valueFrom, {
        secretKeyRef: { name: "pulse-auth-tokens", key: "tokens.json" },
      });
    });
    await t.step("auth.allowAnonymous: no tokens at all", async () => {
      const { container } = await deployment("minio-tls-values.yaml");
      assert.equal(envOf(container).has("PULSE_AUTH_TOKENS"), false);
    });
  },
});

Deno.test({
  name: "the pod runs as the image's non-root user with a read-only root filesystem",
  ignore: noHelm,
  fn: async (t) => {
    const [uid, gid] = dockerfileUser();
    for (const file of VALUE_SETS) {
      await t.step(file, async () => {
        const { pod, container } = await deployment(file);
        assert.deepEqual(pod.securityContext, {
          runAsNonRoot: true,
          runAsUser: uid,
          runAsGroup: gid,
          fsGroup: gid,
          fsGroupChangePolicy: "OnRootMismatch",
          seccompProfile: { type: "RuntimeDefault" },
        });
        assert.deepEqual(container.securityContext, {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ["ALL"] },
        });
        // Writable only where the runtime writes (./data), and only with fs.
        const writable = container.volumeMounts.filter((m) => m.readOnly !== true)
          .map((m) => m.mountPath);
        assert.deepEqual(writable, file === "fs-values.yaml" ? ["/app/data"] : []);
        assert.equal(pod.automountServiceAccountToken, false);
      });
    }
  },
});

Deno.test({
  name: "the Service exposes gRPC 50051 and metrics 9090, annotated for Prometheus",
  ignore: noHelm,
  fn: async () => {
    const service = only(await rendered("fs-values.yaml"), "Service");
    const { container } = await deployment("fs-values.yaml");
    assert.deepEqual((service.spec as Record<string, unknown>).ports, [
      { name: "grpc", port: 50051, targetPort: "grpc", protocol: "TCP" },
      { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" },
    ]);
    assert.deepEqual(container.ports.map((p) => [p.name, p.containerPort]), [
      ["grpc", 50051],
      ["metrics", 9090],
    ]);
    assert.deepEqual(service.metadata.annotations, {
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "9090",
      "prometheus.io/path": "/metrics",
    });
    const selector = (service.spec as { selector: Record<string, string> }).selector;
    const podLabels = (only(await rendered("fs-values.yaml"), "Deployment").spec as {
      template: { metadata: { labels: Record<string, string> } };
    }).template.metadata.labels;
    for (const [key, value] of Object.entries(selector)) assert.equal(podLabels[key], value);
  },
});

Deno.test({
  name:
    "memory: 512Mi requested and a 1Gi limit (the benchmarked peak is about 450 MiB); the grace period outlasts the drain",
  ignore: noHelm,
  fn: async () => {
    const { pod, container } = await deployment("fs-values.yaml");
    assert.deepEqual(container.resources, {
      requests: { cpu: "500m", memory: "512Mi" },
      limits: { memory: "1Gi" },
    });
    assert.equal(pod.terminationGracePeriodSeconds, 45);
    assert.ok(
      pod.terminationGracePeriodSeconds * 1000 > SETTINGS["server.drain_timeout_ms"].default,
    );
    assert.equal((await deployment("s3-values.yaml")).pod.terminationGracePeriodSeconds, 75);
  },
});

/** Stand-ins for the values of Secrets made outside the chart. */
const OUTSIDE_SECRETS: Record<string, string> = {
  "pulse-auth-tokens/tokens.json": JSON.stringify([{
    name: "ops",
    sha256: "0".repeat(64),
    role: "admin",
  }]),
  "minio-credentials/rootUser": "minioadmin",
  "minio-credentials/rootPassword": "minioadmin",
};

/** The container's environment as the runtime sees it: the image's ENV, then the pod's. */
function podEnvironment(manifests: Manifest[], container: Container): Map<string, string> {
  const secrets = new Map<string, Record<string, string>>(
    manifests.filter((m) => m.kind === "Secret")
      .map((m) => [m.metadata.name, m.data as Record<string, string>]),
  );
  const env = new Map(Object.entries(dockerfileEnv()));
  for (const entry of container.env) {
    const ref = entry.valueFrom?.secretKeyRef;
    if (ref === undefined) {
      env.set(entry.name, entry.value ?? "");
      continue;
    }
    const inChart = secrets.get(ref.name)?.[ref.key];
    const value = inChart === undefined ? OUTSIDE_SECRETS[`${ref.name}/${ref.key}`] : atob(inChart);
    assert.ok(value !== undefined, `no stand-in for Secret ${ref.name} key ${ref.key}`);
    env.set(entry.name, value);
  }
  return env;
}

Deno.test({
  name: "the runtime's loadConfig accepts each rendered config.toml with the pod's environment",
  ignore: noHelm,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "helm_config_" });
    try {
      const load = async (file: string, extraEnvNames: string[] = []) => {
        const manifests = await rendered(file);
        const { container } = await deployment(file);
        const path = `${dir}/${file}.toml`;
        const toml = (only(manifests, "ConfigMap").data as Record<string, string>)["config.toml"]!;
        await Deno.writeTextFile(path, toml);
        const env = podEnvironment(manifests, container);
        return loadConfig({
          file: path,
          env: (name) => env.get(name),
          envNames: () => [...env.keys(), ...extraEnvNames],
          flags: {},
        });
      };
      await t.step("fs-values.yaml", async () => {
        assert.deepEqual(Object.keys(dockerfileEnv()).sort(), [
          "PULSE_GRPC_ADDR",
          "PULSE_METRICS_ADDR",
        ]);
        const config = await load("fs-values.yaml");
        assert.equal(config["server.grpc_addr"], "0.0.0.0:50051");
        assert.equal(config["server.metrics_addr"], "0.0.0.0:9090");
        assert.equal(config["storage.backend"], "fs");
        assert.equal(config["storage.path"], "./data"); // /app/data, the volume
        assert.deepEqual(config["auth.tokens"].map((token) => [token.name, token.role]), [
          ["ops", "admin"],
          ["team-a", "worker"],
        ]);
        assert.equal(config["auth.allow_anonymous"], false);
        assert.equal(config["server.drain_timeout_ms"], 30_000);
      });
      await t.step("s3-values.yaml", async () => {
        const config = await load("s3-values.yaml");
        assert.equal(config["storage.backend"], "s3");
        assert.equal(config["storage.bucket"], "your-org-pulse-checkpoints");
        assert.equal(config["storage.region"], "eu-west-1");
        assert.equal(config["storage.prefix"], "team-a/");
        assert.equal(config["storage.endpoint"], "");
        assert.equal(config["limits.saves_max"], 128);
        assert.equal(config["server.drain_timeout_ms"], 60_000);
        assert.equal(config["logging.level"], "debug");
        assert.equal(config["auth.tokens"].length, 1);
      });
      await t.step("minio-tls-values.yaml", async () => {
        const config = await load("minio-tls-values.yaml");
        assert.equal(config["server.grpc_addr"], "[::]:50051");
        assert.equal(config["storage.endpoint"], "http://minio.minio.svc:9000");
        assert.equal(config["storage.force_path_style"], true);
        assert.equal(config["storage.create_bucket"], true);
        assert.equal(config["auth.allow_anonymous"], true);
        assert.deepEqual(config["auth.tokens"], []);
        // Under the working directory, the only place the runtime may read.
        assert.equal(config["server.tls_cert"], "/app/tls/tls.crt");
        assert.equal(config["server.tls_key"], "/app/tls/tls.key");
        assert.equal(config["server.tls_client_ca"], "/app/tls/ca.crt");
        const { container } = await deployment("minio-tls-values.yaml");
        assert.deepEqual(container.volumeMounts.find((m) => m.name === "tls"), {
          name: "tls",
          mountPath: "/app/tls",
          readOnly: true,
        });
      });
      await t.step(
        "Kubernetes' service links would stop it: the chart turns them off",
        async () => {
          // A Service named pulse-runtime gives every pod of the namespace
          // PULSE_RUNTIME_SERVICE_HOST and more, unless enableServiceLinks is false.
          await assert.rejects(
            () => load("fs-values.yaml", ["PULSE_RUNTIME_SERVICE_HOST"]),
            (error) =>
              error instanceof ConfigError &&
              /unknown environment variable PULSE_RUNTIME_SERVICE_HOST/.test(error.message),
          );
          for (const file of VALUE_SETS) {
            assert.equal((await deployment(file)).pod.enableServiceLinks, false, file);
          }
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "the settings the chart sets itself are the runtime's, with their variables listed for extraEnv",
  ignore: noHelm,
  fn: () => {
    // Read from the chart's helpers: the settings refused under `config`,
    // and the variables refused in `extraEnv`.
    const helpers = Deno.readTextFileSync(`${CHART}/templates/_helpers.tpl`);
    const block = (name: string) => {
      const match = helpers.match(
        new RegExp(`define "pulse-runtime\\.${name}" -}}\\n([\\s\\S]*?)\\n{{- end }}`),
      );
      assert.ok(match, `no ${name} in _helpers.tpl`);
      return match[1]!;
    };
    const settings = [...block("chartSettings").matchAll(/^(\w+): \[([^\]]*)\]$/gm)]
      .flatMap((m) => m[2]!.split(", ").map((key) => `${m[1]}.${key}`));
    const variables = [...block("chartEnv").matchAll(/^- (\S+)$/gm)].map((m) => m[1]!);
    const byName = SETTINGS as Record<string, { env?: string }>;
    for (const name of settings) assert.ok(name in byName, `${name} is not a setting`);
    assert.deepEqual(
      variables.sort(),
      ["PULSE_CONFIG", ...settings.map((name) => byName[name]!.env!)].sort(),
    );
  },
});
