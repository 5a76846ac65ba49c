/**
 * Least privilege: the runtime runs with the permission flags of
 * `deno task start`, every file and system one of them scoped, never
 * prompts, and cannot write outside ./data or read outside its working
 * directory: a configuration that needs more fails at start with one line
 * naming the setting, the path and how to allow it.
 */
import assert from "node:assert/strict";
import { startFlags, startRuntime } from "../support/runtime.ts";

Deno.test("the start task's flags never grant all permissions, and never prompt", async () => {
  const deno = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.match(deno.tasks.start, /^deno run --no-prompt /);
  const flags = await startFlags();
  assert.ok(!flags.includes("-A") && !flags.includes("--allow-all"));
  // The environment is read whole, so that a misspelled PULSE_* variable is
  // refused; files, the system and subprocesses stay scoped or denied.
  for (const kind of ["read", "write", "sys"]) {
    const flag = flags.find((f) => f.startsWith(`--allow-${kind}`));
    assert.ok(flag?.includes("="), `--allow-${kind} is scoped: ${flag}`);
  }
  assert.ok(!flags.some((f) => f.startsWith("--allow-run") || f.startsWith("--allow-ffi")));
});

Deno.test("the runtime cannot write outside ./data: a data directory elsewhere fails to start", async () => {
  const outside = await Deno.makeTempDir({ prefix: "pulse-outside-" });
  await assert.rejects(
    startRuntime({ env: { PULSE_DATA_DIR: `${outside}/store` } }),
    (error: Error) =>
      /Cannot start: storage\.path [^ ]*pulse-outside-[^ ]*: the runtime has no permission to (read|write) it \(Deno's --allow-(read|write)\); .*--allow-(read|write)=/
        .test(error.message),
  );
  assert.deepEqual([...Deno.readDirSync(outside)], []); // nothing was created there
  await Deno.remove(outside);
});

Deno.test("the runtime cannot read outside its directory: a certificate elsewhere fails to start", async () => {
  const outside = await Deno.makeTempDir({ prefix: "pulse-outside-" });
  await Deno.writeTextFile(`${outside}/server.pem`, "not read");
  await assert.rejects(
    startRuntime({
      env: { PULSE_TLS_CERT: `${outside}/server.pem`, PULSE_TLS_KEY: `${outside}/server.pem` },
    }),
    (error: Error) =>
      /Cannot start: server\.tls_cert [^ ]*server\.pem: the runtime has no permission to read it/
        .test(error.message),
  );
  await Deno.remove(outside, { recursive: true });
});
