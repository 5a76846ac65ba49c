/**
 * The generated part of the contract package stays what `deno task proto`
 * makes from its sources.
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

async function* walk(directory: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(directory)) {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else yield path;
  }
}
