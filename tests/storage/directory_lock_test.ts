/**
 * One fs store serves one process: a second open of the same directory is
 * refused with FAILED_PRECONDITION naming the holder (pid and since when),
 * and succeeds once the first store is closed. A lock file left behind by a
 * holder that is gone does not count: only a held lock does. (Two runtime
 * processes, and kill -9, are in tests/integration/data_dir_lock_test.ts.)
 */
import assert from "node:assert/strict";
import { PulseError } from "../../src/errors.ts";
import { LOCK_FILE } from "../../src/storage/directory_lock.ts";
import { FsStore } from "../../src/storage/fs_store.ts";

Deno.test("FsStore.open() refuses a directory another open store holds, naming the holder, until it is closed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pulse-lock-" });
  try {
    const before = Date.now();
    const first = await FsStore.open(dir);
    const holder = JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`));
    assert.equal(holder.pid, Deno.pid);
    assert.ok(Date.parse(holder.since) >= before - 1000, holder.since);
    await first.put("objects/kept", new Uint8Array([1, 2, 3]));

    await assert.rejects(FsStore.open(dir), (error: unknown) => {
      assert.ok(error instanceof PulseError);
      assert.equal(error.code, "FAILED_PRECONDITION");
      assert.equal(
        error.message,
        `the data directory ${dir} is in use by another runtime (pid ${Deno.pid}, since ${holder.since}); one fs store serves one runtime`,
      );
      return true;
    });
    // The refused open touched nothing: the holder's word and objects are intact.
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`)), holder);
    assert.deepEqual(await first.get("objects/kept"), new Uint8Array([1, 2, 3]));

    await first.close();
    const second = await FsStore.open(dir);
    try {
      assert.deepEqual(await second.get("objects/kept"), new Uint8Array([1, 2, 3]));
      // The lock file is no object.
      assert.deepEqual((await second.list("")).map((info) => info.key), ["objects/kept"]);
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
