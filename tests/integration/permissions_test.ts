/**
 * Least privilege: the runtime runs with the permission flags of
 * `deno task start`, every one of them scoped, and cannot write outside
 * ./data or read outside its working directory.
 */
import assert from "node:assert/strict";
import { startFlags, startRuntime } from "../support/runtime.ts";

Deno.test("the start task's flags never grant all permissions", async () => {
  const flags = await startFlags();
  assert.ok(!flags.includes("-A") && !flags.includes("--allow-all"));
  for (const kind of ["read", "write", "env", "sys"]) {
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
      /Cannot start: .*Requires write access to "[^"]*pulse-outside-/.test(error.message),
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
      /Cannot start: Cannot read server\.(tls_cert|tls_key) .*Requires read access/.test(
        error.message,
      ),
  );
  await Deno.remove(outside, { recursive: true });
});
