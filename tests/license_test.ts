/** The repository's LICENSE is the MIT license every package declares. */
import assert from "node:assert/strict";

const REPO = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, REPO));

Deno.test("LICENSE is the MIT license, which the JSR packages and the Python package declare", () => {
  assert.match(read("LICENSE"), /^MIT License\n\nCopyright \(c\) \d{4} /);
  for (const manifest of ["sdk/deno.json", "proto/deno.json"]) {
    assert.equal(JSON.parse(read(manifest)).license, "MIT", manifest);
  }
  assert.match(read("sdk/python/pyproject.toml"), /^license = "MIT"$/m);
});
