/**
 * DatasetRegistry on a real fs store in a temporary directory, without a
 * runtime: registration and re-registration, NOT_FOUND, paging, what a new
 * registry on the same store sees, and damaged records.
 */
import assert from "node:assert/strict";
import { DatasetRegistry } from "../../src/datasets/dataset_registry.ts";
import { datasetKeyOf } from "../../src/keys.ts";
import { FsStore } from "../../src/storage/fs_store.ts";

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "pulse-datasets-" });
  const store = await FsStore.open(dir);
  return {
    store,
    datasets: new DatasetRegistry(store),
    [Symbol.asyncDispose]: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a damaged dataset record is DATA_LOSS naming its key, for get, list and register", async () => {
  await using s = await setup();
  const key = datasetKeyOf("d1");
  await s.store.put(key, new TextEncoder().encode(JSON.stringify({ name: "d1", path: 7 })));
  const damaged = {
    name: "PulseError",
    code: "DATA_LOSS",
    message: `Cannot read dataset record ${key}: path is not a string`,
  };
  await assert.rejects(s.datasets.get("d1"), damaged);
  await assert.rejects(s.datasets.list(0, ""), damaged);
  await assert.rejects(s.datasets.register("d1", "s3://bucket/d1", {}), damaged);
});
