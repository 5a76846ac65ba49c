/**
 * The contract every `ObjectStore` backend passes: one suite, registered once
 * per backend by `storeContract(name, open)`. Each case opens a fresh, empty
 * store, checks what it writes by reading it back byte for byte, and cleans up.
 *
 * A backend on local files also passes the durability cases: opened over a
 * fault-injecting file layer (`faulty_files.ts`), every object it commits
 * must have its bytes synced before it takes its key and its directory synced
 * after (and each directory it creates, by a sync of its parent), and a write
 * cut by a full disk or a crash must never leave part of an object at its key.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { dirname, join } from "node:path";
import { PulseError } from "../../src/errors.ts";
import { DENO_FILES, type StoreFiles } from "../../src/storage/fs_files.ts";
import { LIST_KEYS_MAX, listAll } from "../../src/storage/store.ts";
import type { ObjectStore } from "../../src/storage/store.ts";
import { CrashError, FaultyFiles, type FileOperation } from "./faulty_files.ts";

/** A fresh, empty store and how to remove it after a case. */
export interface OpenedStore {
  store: ObjectStore;
  cleanup: () => Promise<void>;
}

const MIB = 1024 * 1024;
// One more byte than a chunk: large objects must not be cut at a boundary.
const LARGE_OBJECT_BYTES = 8 * MIB + 1;
// Enough keys for two listing pages.
const MANY_KEYS = LIST_KEYS_MAX + 7;
// Writes in flight while filling a store with many keys.
const FILL_CONCURRENCY = 16;
// Racers of the concurrent putIfAbsent case.
const RACERS = 8;

/** Known deviations of a backend, each with the reason it is accepted. */
export interface ContractOptions {
  /**
   * The backend lists keys of a "directory" before sibling keys that sort
   * before it by bytes ("p/a/b" before "p/a-b"), consistently across pages.
   */
  unsortedAcrossSegments?: string;
  /** For a backend on local files: how to open it over a file layer, for the durability cases. */
  files?: FileBackend;
}

/** How to open a backend on local files over a given file layer. */
export interface FileBackend {
  /** A fresh, empty directory for a store, and its removal. */
  makeRoot(): Promise<{ root: string; cleanup: () => Promise<void> }>;
  /** Opens the store at `root`, doing all its file I/O through `files`. */
  open(root: string, files: StoreFiles): Promise<ObjectStore>;
}

/** Registers the contract's test cases for one backend. */
export function storeContract(
  name: string,
  open: () => Promise<OpenedStore>,
  options: ContractOptions = {},
): void {
  const run = (body: (store: ObjectStore) => Promise<void>) => async () => {
    const { store, cleanup } = await open();
    try {
      await body(store);
    } finally {
      await cleanup();
    }
  };
  const test = (description: string, body: (store: ObjectStore) => Promise<void>) =>
    Deno.test(`${name}: ${description}`, run(body));

  test("put() then get() returns the same bytes, from 0 bytes to 8 MiB + 1", async (store) => {
    for (const size of [0, 1, 1000, LARGE_OBJECT_BYTES]) {
      const data = pattern(size, size);
      await store.put(`objects/size-${size}`, data);
      assertBytes(await store.get(`objects/size-${size}`), data);
    }
  });

  test("put() replaces an existing object whole", async (store) => {
    await store.put("objects/replaced", pattern(5000, 1));
    const second = pattern(10, 2);
    await store.put("objects/replaced", second);
    assertBytes(await store.get("objects/replaced"), second);
    deepStrictEqual((await store.head("objects/replaced"))?.size, 10);
  });

  test("putIfAbsent() writes an absent key, then returns false and keeps the first bytes", async (store) => {
    const first = pattern(3000, 3);
    strictEqual(await store.putIfAbsent("claims/one", first), true);
    assertBytes(await store.get("claims/one"), first);
    strictEqual(
      await store.putIfAbsent("claims/one", pattern(10, 4)),
      false,
    );
    assertBytes(await store.get("claims/one"), first);
    // An empty object counts as present too.
    strictEqual(
      await store.putIfAbsent("claims/empty", new Uint8Array(0)),
      true,
    );
    strictEqual(
      await store.putIfAbsent("claims/empty", pattern(1, 5)),
      false,
    );
    assertBytes(await store.get("claims/empty"), new Uint8Array(0));
  });

  test("concurrent putIfAbsent() of one key: exactly one returns true, and its bytes are stored", async (store) => {
    const payloads = Array.from(
      { length: RACERS },
      (_, i) => pattern(64 + i, i),
    );
    const results = await Promise.all(
      payloads.map((data) => store.putIfAbsent("claims/raced", data)),
    );
    const winners = results.flatMap((won, i) => (won ? [i] : []));
    deepStrictEqual(winners.length, 1, `winners: ${winners}`);
    assertBytes(await store.get("claims/raced"), payloads[winners[0]!]!);
  });

  test("get() with a range returns exactly those bytes, clamped at the end", async (store) => {
    const data = pattern(1000, 6);
    await store.put("objects/ranged", data);
    const cases: [number, number, Uint8Array][] = [
      [0, 1, data.subarray(0, 1)],
      [0, 1000, data],
      [100, 250, data.subarray(100, 350)],
      [999, 1, data.subarray(999)],
      [900, 500, data.subarray(900)], // past the end: clamped
      [1000, 10, new Uint8Array(0)], // starts at the end: empty
      [2000, 10, new Uint8Array(0)], // starts beyond the end: empty
      [10, 0, new Uint8Array(0)], // zero bytes
    ];
    for (const [offset, length, expected] of cases) {
      assertBytes(
        await store.get("objects/ranged", { offset, length }),
        expected,
        `range ${offset}+${length}`,
      );
    }
    strictEqual(
      await store.get("objects/absent", { offset: 0, length: 10 }),
      undefined,
    );
  });

  test("head() tells the size and modification time of an object", async (store) => {
    const before = Date.now();
    const data = pattern(4321, 7);
    await store.put("objects/described", data);
    const info = await store.head("objects/described");
    deepStrictEqual(info?.key, "objects/described");
    deepStrictEqual(info?.size, 4321);
    // Servers keep whole seconds; allow for that and for clock skew.
    const modified = info!.lastModified.getTime();
    const slackMs = 60_000;
    deepStrictEqual(
      modified > before - slackMs && modified < Date.now() + slackMs,
      true,
      `lastModified ${info!.lastModified.toISOString()}`,
    );
    assertBytes(await store.get("objects/described"), data);
  });

  test("absent keys read as undefined, never as errors", async (store) => {
    strictEqual(await store.get("objects/absent"), undefined);
    strictEqual(await store.head("objects/absent"), undefined);
    deepStrictEqual(await store.list("absent/"), []);
    await store.put("objects/present", pattern(3, 8));
    // A key that is a prefix of a present key is still absent.
    strictEqual(await store.get("objects/pres"), undefined);
    strictEqual(await store.head("objects/pres"), undefined);
    assertBytes(await store.get("objects/present"), pattern(3, 8));
  });

  test("list() returns the keys under a prefix in ascending byte order", async (store) => {
    const keys = [
      "sorted/a/b",
      "sorted/a0",
      "sorted/aA",
      "sorted/a_",
      "sorted/aa/z/y",
      "sorted/b",
      "sorted/x-1",
      "sorted/x.2",
      "sorted/x0",
    ];
    const outside = ["sorte", "sortedx", "other/sorted/a"];
    const shuffled = [...keys, ...outside].reverse();
    for (const key of shuffled) {
      await store.put(key, new TextEncoder().encode(key));
    }
    const listed = await store.list("sorted/");
    deepStrictEqual(listed.map((info) => info.key), keys);
    for (const info of listed) {
      deepStrictEqual(info.size, info.key.length);
      assertBytes(await store.get(info.key), new TextEncoder().encode(info.key));
    }
    deepStrictEqual(
      (await store.list("sorted/a")).map((info) => info.key),
      keys.slice(0, 5),
    );
    deepStrictEqual((await store.list("sorted/a/")).map((info) => info.key), ["sorted/a/b"]);
    deepStrictEqual((await store.list("sorted/x.2")).map((info) => info.key), ["sorted/x.2"]);
  });

  // '-' and '.' sort before '/': "a-b" and "a.c" come before "a/b", as in S3.
  // A store that walks directories may list "a/b" first.
  const acrossSegments = options.unsortedAcrossSegments;
  Deno.test({
    name: `${name}: list() sorts "p/a/b" after its siblings "p/a-b" and "p/a.c", by bytes` +
      (acrossSegments ? ` (known deviation: ${acrossSegments})` : ""),
    ignore: acrossSegments !== undefined,
    fn: run(async (store) => {
      const keys = ["p/a-b", "p/a.c", "p/a/b", "p/a/c", "p/a0"];
      for (const key of [...keys].reverse()) {
        await store.put(key, new TextEncoder().encode(key));
      }
      deepStrictEqual((await store.list("p/")).map((info) => info.key), keys);
      deepStrictEqual(
        (await store.list("p/", { startAfter: "p/a.c", limit: 2 })).map((info) => info.key),
        ["p/a/b", "p/a/c"],
      );
      deepStrictEqual(
        (await store.list("p/", { startAfter: "p/a/c" })).map((info) => info.key),
        ["p/a0"],
      );
      for (const key of keys) {
        assertBytes(await store.get(key), new TextEncoder().encode(key));
      }
    }),
  });

  test(`list() honours startAfter and limit, and pages across more than ${LIST_KEYS_MAX} keys`, async (store) => {
    const keys = Array.from(
      { length: MANY_KEYS },
      (_, i) => `many/k${String(i).padStart(5, "0")}`,
    );
    await inParallel(
      keys,
      FILL_CONCURRENCY,
      (key, i) => store.put(key, pattern(i % 7, i)),
    );
    await store.put("manx", pattern(1, 0));

    const first = await store.list("many/");
    deepStrictEqual(first.length, LIST_KEYS_MAX);
    deepStrictEqual(
      first.map((info) => info.key),
      keys.slice(0, LIST_KEYS_MAX),
    );
    const rest = await store.list("many/", { startAfter: first.at(-1)!.key });
    deepStrictEqual(rest.map((info) => info.key), keys.slice(LIST_KEYS_MAX));
    deepStrictEqual(
      rest.map((info) => info.size),
      [0, 1, 2, 3, 4, 5, 6].map(
        (_, i) => (LIST_KEYS_MAX + i) % 7,
      ),
    );

    deepStrictEqual(
      (await store.list("many/", { limit: 3 })).map((info) => info.key),
      keys.slice(0, 3),
    );
    deepStrictEqual(
      (await store.list("many/", { startAfter: keys[10], limit: 2 })).map(
        (info) => info.key,
      ),
      keys.slice(11, 13),
    );
    // startAfter need not be a key, and may sort before the prefix.
    deepStrictEqual(
      (await store.list("many/", { startAfter: "many/k00004x", limit: 1 }))
        .map((info) => info.key),
      [keys[5]],
    );
    deepStrictEqual(
      (await store.list("many/", { startAfter: "a", limit: 1 })).map(
        (info) => info.key,
      ),
      [keys[0]],
    );
    deepStrictEqual(await store.list("many/", { startAfter: keys.at(-1) }), []);
    deepStrictEqual(await store.list("many/", { limit: 0 }), []);
    // The limit never exceeds LIST_KEYS_MAX.
    deepStrictEqual(
      (await store.list("many/", { limit: LIST_KEYS_MAX + 5 })).length,
      LIST_KEYS_MAX,
    );

    const all: string[] = [];
    for await (const info of listAll(store, "many/")) all.push(info.key);
    deepStrictEqual(all, keys);
    for (const i of [0, 999, 1000, MANY_KEYS - 1]) {
      assertBytes(await store.get(keys[i]!), pattern(i % 7, i));
    }
  });

  test("delete() removes an object and is idempotent", async (store) => {
    const data = pattern(100, 9);
    await store.put("objects/deleted", data);
    await store.put("objects/kept", data);
    await store.delete("objects/deleted");
    strictEqual(await store.get("objects/deleted"), undefined);
    strictEqual(await store.head("objects/deleted"), undefined);
    await store.delete("objects/deleted");
    await store.delete("objects/never-written");
    deepStrictEqual((await store.list("objects/")).map((info) => info.key), [
      "objects/kept",
    ]);
    assertBytes(await store.get("objects/kept"), data);
    // A deleted key can be claimed again.
    strictEqual(await store.putIfAbsent("objects/deleted", data), true);
    assertBytes(await store.get("objects/deleted"), data);
  });

  if (options.files !== undefined) durabilityContract(name, options.files);
}

/** A store over a fault-injecting file layer, and how to restart it on the real files. */
interface FaultyStore {
  store: ObjectStore;
  files: FaultyFiles;
  /** The store's root, as the file layer sees it (symbolic links resolved). */
  root: string;
  /** Closes the store (as a crash would leave it) and opens it again on the real files. */
  restart(): Promise<ObjectStore>;
}

// Objects of the durability cases: larger than a write cut at CUT_BYTES.
const OBJECT_BYTES = 64 * 1024;
const CUT_BYTES = 1000;

// The durability cases of a backend on local files.
function durabilityContract(name: string, backend: FileBackend): void {
  const test = (description: string, body: (opened: FaultyStore) => Promise<void>) =>
    Deno.test(`${name}: ${description}`, async () => {
      const { root, cleanup } = await backend.makeRoot();
      const files = new FaultyFiles();
      const opened: ObjectStore[] = [await backend.open(root, files)];
      try {
        await body({
          store: opened[0]!,
          files,
          root: await Deno.realPath(root),
          restart: async () => {
            await opened.at(-1)!.close();
            opened.push(await backend.open(root, DENO_FILES));
            return opened.at(-1)!;
          },
        });
      } finally {
        await opened.at(-1)!.close();
        await cleanup();
      }
    });

  test("put() and putIfAbsent() sync an object's bytes before it takes its key, then its directory, and each new directory's parent up to the root", async ({ store, files, root }) => {
    const writes: [string, "put" | "putIfAbsent"][] = [
      ["checkpoints/w1/0001.json", "put"], // creates checkpoints/ and checkpoints/w1/
      ["chunks/ab/ab01", "putIfAbsent"], // creates chunks/ and chunks/ab/
      ["checkpoints/w1/0002.json", "put"], // into a directory that exists
      ["checkpoints/w1/0001.json", "put"], // replaces an object
      ["chunks/ab/ab02", "putIfAbsent"],
    ];
    for (const [index, [key, method]] of writes.entries()) {
      const path = join(root, ...key.split("/"));
      const created = await missingDirectories(root, dirname(path));
      const from = files.operations.length;
      await store[method](key, pattern(OBJECT_BYTES, index));
      const operations = files.operations.slice(from);
      assertPlacedDurably(operations, path);
      for (const directory of created) {
        ok(
          indexOf(operations, "syncDirectory", dirname(directory)) >= 0,
          `${method}(${key}) created ${directory} but did not sync ${dirname(directory)}`,
        );
      }
    }
    assertBytes(await store.get("checkpoints/w1/0001.json"), pattern(OBJECT_BYTES, 3));
    assertBytes(await store.get("chunks/ab/ab02"), pattern(OBJECT_BYTES, 4));
  });

  test("delete() syncs the directory the object was in", async ({ store, files, root }) => {
    await store.put("checkpoints/w1/0001.json", pattern(100, 1));
    const from = files.operations.length;
    await store.delete("checkpoints/w1/0001.json");
    const operations = files.operations.slice(from);
    const path = join(root, "checkpoints", "w1", "0001.json");
    const removed = indexOf(operations, "remove", path);
    ok(removed >= 0, "the file was removed");
    ok(
      indexOf(operations, "syncDirectory", dirname(path), removed) > removed,
      "its directory was synced after the removal",
    );
    strictEqual(await store.get("checkpoints/w1/0001.json"), undefined);
  });

  test("put() cut by a crash mid-write leaves the old object, or none, at its key after a restart", async ({ store, files, restart }) => {
    const old = pattern(OBJECT_BYTES, 1);
    await store.put("objects/replaced", old);
    files.cutWrites({ afterBytes: CUT_BYTES, how: "crash" });
    await rejects(store.put("objects/replaced", pattern(OBJECT_BYTES, 2)), CrashError);
    await rejects(store.put("objects/new", pattern(OBJECT_BYTES, 3)), CrashError);
    const restarted = await restart();
    assertBytes(await restarted.get("objects/replaced"), old);
    strictEqual(await restarted.get("objects/new"), undefined);
    deepStrictEqual((await restarted.list("objects/")).map((info) => info.key), [
      "objects/replaced",
    ]);
  });

  test("putIfAbsent() cut by a full disk leaves nothing at its key, and the same bytes again are stored whole", async ({ store, files }) => {
    const chunk = pattern(OBJECT_BYTES, 4);
    files.cutWrites({ afterBytes: CUT_BYTES, how: "ENOSPC" });
    await rejects(
      store.putIfAbsent("chunks/cd/cd01", chunk),
      (error) => error instanceof PulseError && error.code === "RESOURCE_EXHAUSTED",
    );
    strictEqual(await store.get("chunks/cd/cd01"), undefined);
    strictEqual(await store.head("chunks/cd/cd01"), undefined);
    // Saved again, with no garbage collection in between: written whole.
    strictEqual(await store.putIfAbsent("chunks/cd/cd01", chunk), true);
    assertBytes(await store.get("chunks/cd/cd01"), chunk);
  });

  test("putIfAbsent() cut by a crash mid-write leaves nothing at its key after a restart, and the same bytes again are stored whole", async ({ store, files, restart }) => {
    const chunk = pattern(OBJECT_BYTES, 5);
    files.cutWrites({ afterBytes: CUT_BYTES, how: "crash" });
    await rejects(store.putIfAbsent("chunks/ef/ef01", chunk), CrashError);
    const restarted = await restart();
    strictEqual(await restarted.get("chunks/ef/ef01"), undefined);
    deepStrictEqual(await restarted.list("chunks/"), []);
    strictEqual(await restarted.putIfAbsent("chunks/ef/ef01", chunk), true);
    assertBytes(await restarted.get("chunks/ef/ef01"), chunk);
  });
}

// The directories from `directory` up to (not including) `root` that do not exist yet.
async function missingDirectories(root: string, directory: string): Promise<string[]> {
  const missing: string[] = [];
  for (let at = directory; at !== root && at.startsWith(root); at = dirname(at)) {
    try {
      await Deno.stat(at);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      missing.push(at);
    }
  }
  return missing;
}

function indexOf(
  operations: FileOperation[],
  op: FileOperation["op"],
  path: string,
  from = 0,
): number {
  const index = operations.slice(from).findIndex((o) => o.op === op && o.path === path);
  return index < 0 ? -1 : from + index;
}

// Asserts that the object at `path` was written elsewhere, synced, renamed or
// linked to `path`, and that its directory was synced after that.
function assertPlacedDurably(operations: FileOperation[], path: string): void {
  const placed = operations.findLastIndex((o) =>
    (o.op === "rename" || o.op === "link") && o.to === path
  );
  ok(placed >= 0, `${path} was not renamed or linked into place: ${JSON.stringify(operations)}`);
  const written = operations[placed]!.path;
  const lastWrite = operations.findLastIndex((o, i) =>
    i < placed && o.op === "write" && o.path === written
  );
  ok(lastWrite >= 0, `${written} was written before it became ${path}`);
  const synced = indexOf(operations, "sync", written, lastWrite);
  ok(synced > lastWrite && synced < placed, `${written} was not synced before it became ${path}`);
  ok(
    indexOf(operations, "syncDirectory", dirname(path), placed) > placed,
    `${dirname(path)} was not synced after ${path} was placed`,
  );
}

/** Bytes that differ by position and seed, so that swaps and shifts show. */
export function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

/** Asserts that `actual` holds exactly the bytes of `expected`. */
export function assertBytes(
  actual: Uint8Array | undefined,
  expected: Uint8Array,
  context = "",
): void {
  const where = context ? ` (${context})` : "";
  if (actual === undefined) {
    throw new Error(`Expected ${expected.length} bytes, got undefined${where}`);
  }
  deepStrictEqual(actual.length, expected.length, `length${where}`);
  const index = actual.findIndex((byte, i) => byte !== expected[i]);
  deepStrictEqual(index, -1, `first differing byte${where}`);
}

/** Runs `work` on every item, at most `concurrency` at a time. */
export async function inParallel<T>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
