/**
 * At most maxPendingSaves saves of one worker run at once: a third waits for
 * one to end, another worker's does not; through a real runtime, a third
 * save's bytes are not read until one of the first two ends.
 */
import assert from "node:assert/strict";
import { PendingSaves } from "../../sdk/pending_saves.ts";
import { startRuntime } from "../support/runtime.ts";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  return { open, opened };
}

Deno.test("PendingSaves runs two saves of a key at once, the third when one ends; other keys run", async () => {
  const pending = new PendingSaves(2);
  const started: string[] = [];
  const gates = [gate(), gate(), gate()];
  const save = (name: string, index: number) =>
    pending.run("w1", async () => {
      started.push(name);
      await gates[index]!.opened;
      return name;
    });
  const runs = [save("a", 0), save("b", 1), save("c", 2)];
  const other = pending.run("w2", () => Promise.resolve("other"));
  assert.equal(await other, "other");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(started, ["a", "b"], "the third waits");
  gates[1]!.open();
  assert.equal(await runs[1], "b");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(started, ["a", "b", "c"]);
  gates[0]!.open();
  gates[2]!.open();
  assert.deepEqual(await Promise.all(runs), ["a", "b", "c"]);
});

Deno.test("a Runtime with maxPendingSaves 1 reads a worker's second save only after the first ended", async () => {
  const runtime = await startRuntime();
  const rt = runtime.client({ maxPendingSaves: 1, directTransfer: false });
  try {
    await rt.registerWorker("w1");
    const first = gate();
    const read: string[] = [];
    const bytes = async function* (name: string, wait?: Promise<void>) {
      read.push(name);
      await wait;
      yield new Uint8Array([1, 2, 3]);
    };
    const one = rt.saveCheckpoint({ workerId: "w1", data: bytes("one", first.opened) });
    const two = rt.saveCheckpoint({ workerId: "w1", data: bytes("two") });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(read, ["one"], "the second save waits for the first");
    first.open();
    await Promise.all([one, two]);
    assert.deepEqual(read, ["one", "two"]);
  } finally {
    rt.close();
    await runtime.stop();
  }
});
