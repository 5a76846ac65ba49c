/**
 * The contract every `ObjectStore` backend passes: one suite, registered once
 * per backend by `storeContract(name, open)`. Each case opens a fresh, empty
 * store, checks what it writes by reading it back byte for byte, and cleans up.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { LIST_KEYS_MAX, listAll } from "../../src/storage/store.ts";
import type { ObjectStore } from "../../src/storage/store.ts";

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
