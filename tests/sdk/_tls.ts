/** Runtimes serving TLS in tests, with the development certificates or others. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";

/** A runtime started in a directory of its own, with certificates in its `certs/`. */
export interface TlsRuntime {
  runtime: RuntimeProcess;
  /** The port it serves gRPC on. */
  port: string;
  stop(): Promise<void>;
}

/** Writes `files` into `certs/` of a new directory and starts a runtime there with `env`. */
export async function startTlsRuntime(
  files: Record<string, string>,
  env: Record<string, string>,
  args: string[] = [],
): Promise<TlsRuntime> {
  const dir = await Deno.makeTempDir({ prefix: "pulse-sdk-tls-" });
  try {
    await Deno.mkdir(`${dir}/certs`);
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/certs/${name}`, text);
    }
    const runtime = await startRuntime({ dir, env, args });
    return {
      runtime,
      port: runtime.grpcAddress.split(":").at(-1)!,
      stop: async () => {
        await runtime.stop();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

/** Runs `body` with a runtime {@linkcode startTlsRuntime} starts, then stops it. */
export async function withTlsRuntime(
  files: Record<string, string>,
  env: Record<string, string>,
  body: (runtime: TlsRuntime) => Promise<void>,
  args: string[] = [],
): Promise<void> {
  const started = await startTlsRuntime(files, env, args);
  try {
    await body(started);
  } finally {
    await started.stop();
  }
}

/** The development certificates of `deno task certs` (scripts/generate_certs.sh), by file name. */
export async function developmentCertificates(): Promise<Record<string, string>> {
  const dir = await Deno.makeTempDir({ prefix: "pulse-sdk-certs-" });
  try {
    const script = fileURLToPath(new URL("../../scripts/generate_certs.sh", import.meta.url));
    const command = new Deno.Command("bash", {
      args: [script, dir],
      stdout: "null",
      stderr: "piped",
    });
    const { code, stderr } = await command.output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const names = ["ca.pem", "server.pem", "server.key", "client.pem", "client.key"];
    return Object.fromEntries(
      await Promise.all(
        names.map(async (name) => [name, await Deno.readTextFile(`${dir}/${name}`)]),
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The environment of a runtime serving TLS with `certs/server.pem`. */
export const TLS_ENV = { PULSE_TLS_CERT: "certs/server.pem", PULSE_TLS_KEY: "certs/server.key" };
