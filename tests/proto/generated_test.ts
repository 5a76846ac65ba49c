/**
 * The generated part of the contract package stays what `deno task proto`
 * makes from its sources, and the generated message types bind their users:
 * a field renamed in pulse.proto fails `deno check` wherever it is used.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { renderAll } from "../../scripts/generate_proto.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("deno task proto leaves every generated file as checked in, and no other", async () => {
  const files = await renderAll();
  for (const [path, text] of files) {
    assert.equal(
      await Deno.readTextFile(`${ROOT}${path}`),
      text,
      `${path} is stale: run deno task proto`,
    );
  }
  const generated = [...files.keys()].filter((path) => path.startsWith("proto/generated/"));
  const present: string[] = [];
  for await (const path of walk(`${ROOT}proto/generated`)) present.push(path.slice(ROOT.length));
  assert.deepEqual(
    present.sort(),
    generated.sort(),
    "proto/generated/ holds files deno task proto does not make",
  );
});

Deno.test("a field renamed in pulse.proto fails deno check in the runtime and the SDK", async () => {
  // A copy of the repository, with Checkpoint.sha256 renamed and the types
  // regenerated, is type-checked as `deno task check` does it.
  const copy = await Deno.makeTempDir({ prefix: "pulse-proto-rename-" });
  try {
    const listed = await git(["ls-files", "-z"]);
    for (const path of listed.split("\0").filter((p) => p !== "")) {
      const target = `${copy}/${path}`;
      await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(`${ROOT}${path}`, target).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted, not yet committed
      });
    }
    await Deno.symlink(`${ROOT}node_modules`, `${copy}/node_modules`);
    const proto = await Deno.readTextFile(`${copy}/proto/pulse.proto`);
    const renamed = proto.replace(
      /(message Checkpoint \{[^}]*?)string sha256 = 4;/s,
      "$1string content_sha256 = 4;",
    );
    assert(renamed !== proto, "Checkpoint.sha256 not found in pulse.proto");
    await Deno.writeTextFile(`${copy}/proto/pulse.proto`, renamed);
    await deno(copy, ["run", "-A", "scripts/generate_proto.ts"], true);
    const check = await deno(copy, ["check", "main.ts", "sdk/mod.ts"], false);
    assert(!check.success, "deno check passed with a renamed field");
    assert(check.output.includes("'sha256'"), check.output);
    for (const user of ["src/api/", "sdk/"]) {
      assert(check.output.includes(`${copy}/${user}`), `no error in ${user}:\n${check.output}`);
    }
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});

async function deno(cwd: string, args: string[], mustSucceed: boolean) {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  if (mustSucceed && !success) throw new Error(`deno ${args.join(" ")} failed:\n${output}`);
  return { success, output };
}

async function git(args: string[]): Promise<string> {
  const { stdout } = await new Deno.Command("git", { args, cwd: ROOT, stdout: "piped" }).output();
  return new TextDecoder().decode(stdout);
}

async function* walk(directory: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(directory)) {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else yield path;
  }
}
