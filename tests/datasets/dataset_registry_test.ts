/**
 * DatasetRegistry on a real fs store in a temporary directory, without a
 * runtime: registration and re-registration, NOT_FOUND, paging, what a new
 * registry on the same store sees, and damaged records.
 */
import assert from "node:assert/strict";
import { DatasetRegistry } from "../../src/datasets/dataset_registry.ts";
import { datasetKeyOf } from "../../src/keys.ts";
import { tempFsStore } from "../support/temp_fs_store.ts";

async function setup() {
  const temp = await tempFsStore("pulse-datasets-");
  return Object.assign(temp, { datasets: new DatasetRegistry(temp.store) });
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

Deno.test("register() records a dataset; registering again keeps registered_at and takes the new path and metadata", async () => {
  await using s = await setup();
  const before = Date.now();
  const first = await s.datasets.register("d1", "s3://bucket/v1", { rows: 10 });
  assert.equal(first.name, "d1");
  assert.equal(first.path, "s3://bucket/v1");
  assert.deepEqual(first.metadata, { rows: 10 });
  assert.ok(first.registeredAt.getTime() >= before && first.registeredAt.getTime() <= Date.now());
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = await s.datasets.register("d1", "s3://bucket/v2", { rows: 20 });
  assert.deepEqual(second, { ...first, path: "s3://bucket/v2", metadata: { rows: 20 } });
  assert.deepEqual(await s.datasets.get("d1"), second);
});

Deno.test("registering a dataset again with another path is ALREADY_EXISTS unless the caller may move it; the same path takes new metadata", async () => {
  await using s = await setup();
  await s.datasets.register("b-train", "s3://team-b/train", { rows: 1 });
  const worker = { mayMove: false };
  await assert.rejects(s.datasets.register("b-train", "s3://attacker/poison", {}, worker), {
    code: "ALREADY_EXISTS",
    message:
      "Cannot register dataset: dataset b-train is registered with path s3://team-b/train; only an admin token may give it another",
  });
  assert.equal((await s.datasets.get("b-train")).path, "s3://team-b/train");
  const again = await s.datasets.register("b-train", "s3://team-b/train", { rows: 2 }, worker);
  assert.deepEqual(again.metadata, { rows: 2 });
  const moved = await s.datasets.register("b-train", "s3://team-b/v2", {}, { mayMove: true });
  assert.equal(moved.path, "s3://team-b/v2");
});

Deno.test("get() of an unknown dataset is NOT_FOUND, and bad names and paths are INVALID_ARGUMENT", async () => {
  await using s = await setup();
  await assert.rejects(s.datasets.get("nothing"), {
    code: "NOT_FOUND",
    message: "Cannot get dataset: dataset nothing is not registered",
  });
  await assert.rejects(s.datasets.register("d1", "", {}), {
    code: "INVALID_ARGUMENT",
    message: "Cannot register dataset: path is empty",
  });
  await assert.rejects(s.datasets.register("../d1", "s3://b/d", {}), { code: "INVALID_ARGUMENT" });
  await assert.rejects(s.datasets.get(""), {
    code: "INVALID_ARGUMENT",
    message: "Cannot get dataset: name is empty",
  });
});

Deno.test("list() pages through datasets by name", async () => {
  await using s = await setup();
  for (const name of ["c", "a", "e", "b", "d"]) {
    await s.datasets.register(name, `s3://b/${name}`, {});
  }
  const first = await s.datasets.list(2, "");
  const second = await s.datasets.list(2, first.nextPageToken);
  const third = await s.datasets.list(2, second.nextPageToken);
  assert.deepEqual(
    [first, second, third].map((page) => page.datasets.map((d) => d.name)),
    [["a", "b"], ["c", "d"], ["e"]],
  );
  assert.equal(third.nextPageToken, "");
  assert.equal((await s.datasets.list(5, "")).nextPageToken, "");
  await assert.rejects(s.datasets.list(2, "bm90LWEtZGF0YXNldA"), {
    code: "INVALID_ARGUMENT",
    message: "Cannot list datasets: page_token is not valid here",
  });
});

Deno.test("a new registry on the same store sees every dataset as registered", async () => {
  await using s = await setup();
  const registered = [
    await s.datasets.register("train", "s3://bucket/train", { split: "train" }),
    await s.datasets.register("eval", "s3://bucket/eval", { split: "eval" }),
  ];
  const again = new DatasetRegistry(s.store);
  assert.deepEqual(await again.get("train"), registered[0]);
  assert.deepEqual((await again.list(0, "")).datasets, [registered[1], registered[0]]);
});
