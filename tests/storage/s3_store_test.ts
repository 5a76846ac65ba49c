/**
 * Runs the store contract and the S3-specific cases against real S3 servers:
 * s3rver, started here on a free loopback port for each case; every server
 * named in PULSE_TEST_S3_SERVERS (`name=http://127.0.0.1:port,...`, started
 * by `scripts/ci_s3_servers.sh`); and PULSE_TEST_S3_ENDPOINT when set (with
 * PULSE_TEST_S3_BUCKET and PULSE_TEST_S3_REGION). Credentials come from
 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, set to test values if unset.
 *
 * On shared servers each case works under a prefix of its own and deletes
 * what it wrote.
 */
import { deepStrictEqual, match, rejects, strictEqual } from "node:assert/strict";
import { PulseError } from "../../src/errors.ts";
import { s3RequestsTotal } from "../../src/metrics.ts";
import { S3Store, type S3StoreOptions } from "../../src/storage/s3_store.ts";
import { listAll } from "../../src/storage/store.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { startS3rver } from "../support/s3rver.ts";
import {
  assertBytes,
  type ContractOptions,
  inParallel,
  pattern,
  storeContract,
} from "./store_contract.ts";

if (!Deno.env.get("AWS_ACCESS_KEY_ID")) {
  Deno.env.set("AWS_ACCESS_KEY_ID", "pulsetest");
  Deno.env.set("AWS_SECRET_ACCESS_KEY", "pulsetestsecret");
}

/** A bucket on a server, for the duration of one case. */
interface Target {
  endpoint: string;
  bucket: string;
  region: string;
  /** Whether open() may create the bucket. */
  createBucket: boolean;
  /** Whether cases must delete what they wrote (shared servers). */
  shared: boolean;
  release: () => Promise<void>;
}

/** A server the suite runs against. */
interface TestServer {
  name: string;
  /** Whether the server is known to enforce `If-None-Match: *`. */
  enforcesConditionalWrites?: boolean;
  acquire: () => Promise<Target>;
}

// Servers known to enforce conditional writes; the suite asserts the probe
// finds it on them.
const ENFORCING_SERVERS = new Set(["moto", "seaweedfs", "minio", "aws"]);
// Where a server departs from S3 in ways the contract checks, and why the
// suite accepts it.
const KNOWN_DEVIATIONS: Record<string, ContractOptions> = {
  seaweedfs: {
    // Its filer walks directories: "p/a/b" comes before "p/a-b". Pages and
    // start-after follow the same order, so listings lose no key.
    unsortedAcrossSegments: "SeaweedFS lists a directory's keys before its siblings",
  },
};
const TEST_BUCKET = "pulse-test";
// Deletes in flight when a case cleans up a shared bucket.
const CLEANUP_CONCURRENCY = 16;

const s3rver: TestServer = {
  name: "s3rver",
  enforcesConditionalWrites: false,
  async acquire() {
    const server = await startS3rver();
    return {
      endpoint: server.endpoint,
      bucket: server.bucket,
      region: "us-east-1",
      createBucket: false,
      shared: false,
      release: server.stop,
    };
  },
};

function configuredServers(): TestServer[] {
  const servers: TestServer[] = [];
  const list = Deno.env.get("PULSE_TEST_S3_SERVERS") ?? "";
  for (const entry of list.split(",").map((e) => e.trim()).filter(Boolean)) {
    const separator = entry.indexOf("=");
    if (separator <= 0) {
      throw new Error(
        `PULSE_TEST_S3_SERVERS: expected name=url, got ${JSON.stringify(entry)}`,
      );
    }
    const name = entry.slice(0, separator);
    servers.push(sharedServer(name, entry.slice(separator + 1), TEST_BUCKET));
  }
  const endpoint = Deno.env.get("PULSE_TEST_S3_ENDPOINT");
  if (endpoint) {
    const bucket = Deno.env.get("PULSE_TEST_S3_BUCKET") || TEST_BUCKET;
    servers.push(sharedServer("PULSE_TEST_S3_ENDPOINT", endpoint, bucket));
  }
  return servers;
}

function sharedServer(
  name: string,
  endpoint: string,
  bucket: string,
): TestServer {
  return {
    name,
    enforcesConditionalWrites: ENFORCING_SERVERS.has(name) ? true : undefined,
    acquire: () =>
      Promise.resolve({
        endpoint,
        bucket,
        region: Deno.env.get("PULSE_TEST_S3_REGION") || "us-east-1",
        createBucket: true,
        shared: true,
        release: () => Promise.resolve(),
      }),
  };
}

/** Options of a store on `target` under `prefix`, with `overrides`. */
function s3Options(
  target: Target,
  prefix: string,
  overrides: Partial<S3StoreOptions> = {},
): S3StoreOptions {
  return {
    endpoint: target.endpoint,
    bucket: target.bucket,
    region: target.region,
    prefix,
    forcePathStyle: true,
    createBucket: target.createBucket,
    // Fast retries: test servers recover in milliseconds.
    retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 50 },
    ...overrides,
  };
}

function uniquePrefix(label: string): string {
  return `${label}-${crypto.randomUUID()}/`;
}

// Deletes every object under the store's prefix.
async function deleteAll(store: S3Store): Promise<void> {
  const keys: string[] = [];
  for await (const info of listAll(store, "")) keys.push(info.key);
  await inParallel(keys, CLEANUP_CONCURRENCY, (key) => store.delete(key));
}

async function withStore(
  server: TestServer,
  run: (store: S3Store, target: Target) => Promise<void>,
): Promise<void> {
  const target = await server.acquire();
  try {
    const store = await S3Store.open(s3Options(target, uniquePrefix("case")));
    try {
      await run(store, target);
    } finally {
      if (target.shared) await deleteAll(store);
      await store.close();
    }
  } finally {
    await target.release();
  }
}

async function requestCount(
  operation: string,
  outcome: string,
): Promise<number> {
  const metric = await s3RequestsTotal.get();
  return metric.values.find((value) =>
    value.labels.operation === operation && value.labels.outcome === outcome
  )?.value ?? 0;
}

const SERVERS = [s3rver, ...configuredServers()];

for (const server of SERVERS) {
  storeContract(`S3Store on ${server.name}`, async () => {
    const target = await server.acquire();
    const store = await S3Store.open(
      s3Options(target, uniquePrefix("contract")),
    );
    return {
      store,
      cleanup: async () => {
        if (target.shared) await deleteAll(store);
        await store.close();
        await target.release();
      },
    };
  }, KNOWN_DEVIATIONS[server.name]);

  Deno.test(`S3Store on ${server.name}: open() detects whether the server enforces If-None-Match`, async () => {
    await withStore(server, async (store) => {
      console.log(
        `  ${server.name}: conditional writes ${
          store.conditionalWrites ? "enforced" : "not enforced (HEAD-then-PUT)"
        }`,
      );
      if (server.enforcesConditionalWrites !== undefined) {
        strictEqual(store.conditionalWrites, server.enforcesConditionalWrites);
      }
      // The probe leaves nothing behind.
      deepStrictEqual(await store.list(""), []);
    });
  });

  Deno.test(`S3Store on ${server.name}: putIfAbsent() takes the path the probe chose`, async () => {
    await withStore(server, async (store) => {
      const heads = await requestCount("HeadObject", "ok");
      const data = pattern(100, 1);
      strictEqual(await store.putIfAbsent("claims/path", data), true);
      strictEqual(await store.putIfAbsent("claims/path", pattern(5, 2)), false);
      assertBytes(await store.get("claims/path"), data);
      const headsUsed = (await requestCount("HeadObject", "ok")) - heads;
      // Conditional writes need no HEAD; the fallback does one per call.
      strictEqual(headsUsed, store.conditionalWrites ? 0 : 2);
    });
  });

  Deno.test({
    name: `S3Store on ${server.name}: two stores racing putIfAbsent() on one key, exactly one wins`,
    ignore: server.enforcesConditionalWrites === false,
    async fn() {
      const target = await server.acquire();
      const options = s3Options(target, uniquePrefix("race"));
      const first = await S3Store.open(options);
      const second = await S3Store.open(options);
      try {
        if (!first.conditionalWrites) {
          console.log(
            `  ${server.name}: no conditional writes, race not checked`,
          );
          return;
        }
        for (let round = 0; round < 10; round++) {
          const key = `claims/race-${round}`;
          const payloads = [
            pattern(256 * 1024, round),
            pattern(256 * 1024, round + 100),
          ];
          const results = await Promise.all([
            first.putIfAbsent(key, payloads[0]!),
            second.putIfAbsent(key, payloads[1]!),
          ]);
          deepStrictEqual(
            results.filter(Boolean).length,
            1,
            `round ${round}: ${results}`,
          );
          const winner = results[0] ? payloads[0]! : payloads[1]!;
          assertBytes(await first.get(key), winner);
          assertBytes(await second.get(key), winner);
        }
      } finally {
        if (target.shared) await deleteAll(first);
        await first.close();
        await second.close();
        await target.release();
      }
    },
  });

  Deno.test(`S3Store on ${server.name}: keys live under storage.prefix, listed without it`, async () => {
    const target = await server.acquire();
    const outer = uniquePrefix("outer");
    const root = await S3Store.open(s3Options(target, outer));
    const inner = await S3Store.open(s3Options(target, `${outer}inner/`));
    try {
      const data = pattern(10, 3);
      await inner.put("a/b", data);
      deepStrictEqual((await inner.list("")).map((info) => info.key), ["a/b"]);
      deepStrictEqual((await root.list("")).map((info) => info.key), [
        "inner/a/b",
      ]);
      assertBytes(await root.get("inner/a/b"), data);
      strictEqual(await root.get("a/b"), undefined);
      strictEqual(
        inner.description,
        `s3:${target.endpoint}/${target.bucket}/${outer}inner/`,
      );
    } finally {
      if (target.shared) await deleteAll(root);
      await root.close();
      await inner.close();
      await target.release();
    }
  });

  Deno.test(`S3Store on ${server.name}: open() of a missing bucket fails with failed_precondition naming endpoint and bucket`, async () => {
    const target = await server.acquire();
    try {
      const bucket = `pulse-missing-${crypto.randomUUID().slice(0, 8)}`;
      const options = s3Options({ ...target, bucket }, "", { createBucket: false });
      await rejects(S3Store.open(options), (error: unknown) => {
        strictEqual(
          error instanceof PulseError && error.code,
          "FAILED_PRECONDITION",
        );
        match(
          (error as Error).message,
          new RegExp(`bucket "${bucket}" at ${target.endpoint}`),
        );
        match((error as Error).message, /storage\.create_bucket/);
        return true;
      });
    } finally {
      await target.release();
    }
  });
}

Deno.test("S3Store on s3rver: open() creates a missing bucket when storage.create_bucket is set", async () => {
  const target = await s3rver.acquire();
  try {
    const bucket = "pulse-created";
    const options = s3Options({ ...target, bucket }, "", { createBucket: true });
    const store = await S3Store.open(options);
    await store.put("k", pattern(3, 1));
    await store.close();
    // The bucket now exists: opening without create_bucket succeeds.
    const again = await S3Store.open({ ...options, createBucket: false });
    assertBytes(await again.get("k"), pattern(3, 1));
    await again.close();
  } finally {
    await target.release();
  }
});

Deno.test("S3Store on s3rver: open() with rejected credentials fails with failed_precondition", async () => {
  const target = await s3rver.acquire();
  const accessKeyId = Deno.env.get("AWS_ACCESS_KEY_ID")!;
  Deno.env.set("AWS_ACCESS_KEY_ID", "pulse-unknown-key");
  try {
    await rejects(S3Store.open(s3Options(target, "")), (error: unknown) => {
      strictEqual(
        error instanceof PulseError && error.code,
        "FAILED_PRECONDITION",
      );
      match(
        (error as Error).message,
        /^Cannot open S3 store: bucket "pulse-test" at http:\/\/127\.0\.0\.1:\d+: .*403/,
      );
      return true;
    });
  } finally {
    Deno.env.set("AWS_ACCESS_KEY_ID", accessKeyId);
    await target.release();
  }
});

Deno.test("S3Store: open() of an endpoint where nothing listens fails with unavailable after the retries", async () => {
  // Take a free port and close it again: connections to it are refused.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const endpoint = `http://127.0.0.1:${listener.addr.port}`;
  listener.close();
  const target = {
    endpoint,
    bucket: TEST_BUCKET,
    region: "us-east-1",
    createBucket: false,
    shared: false,
    release: () => Promise.resolve(),
  };
  await rejects(S3Store.open(s3Options(target, "")), (error: unknown) => {
    strictEqual(error instanceof PulseError && error.code, "UNAVAILABLE");
    match(
      (error as Error).message,
      new RegExp(
        `^Cannot open S3 store: bucket "${TEST_BUCKET}" at ${endpoint}: Cannot HeadBucket ${TEST_BUCKET}: S3 request failed after 3 attempts: .*ECONNREFUSED`,
      ),
    );
    return true;
  });
});

Deno.test("S3Store on s3rver: list() follows continuation tokens when the server sends short pages", async () => {
  const server = await startS3rver({ listPageKeysMax: 3 });
  const store = await S3Store.open(
    s3Options({
      ...server,
      region: "us-east-1",
      createBucket: false,
      shared: false,
      release: server.stop,
    }, "p/"),
  );
  try {
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const [i, key] of keys.entries()) await store.put(key, pattern(i, i));
    const lists = await requestCount("ListObjectsV2", "ok");
    deepStrictEqual(
      (await store.list("", { limit: 8 })).map((info) => info.key),
      keys.slice(0, 8),
    );
    strictEqual((await requestCount("ListObjectsV2", "ok")) - lists, 3);
    deepStrictEqual(
      (await store.list("", { startAfter: "k1" })).map((info) => info.key),
      keys.slice(2),
    );
    assertBytes(await store.get("k9"), pattern(9, 9));
  } finally {
    await store.close();
    await server.stop();
  }
});

Deno.test("S3Store through a fault proxy: put() and get() round-trip while 20% of requests fail", async () => {
  const server = await startS3rver();
  const proxy = await startFaultProxy(server.endpoint, {
    seed: 42,
    delayMs: 20,
  });
  const target = {
    endpoint: proxy.endpoint,
    bucket: server.bucket,
    region: "us-east-1",
    createBucket: false,
    shared: false,
    release: server.stop,
  };
  // 0.2^10: a request failing ten times in a row would take ~10^7 requests.
  const store = await S3Store.open(
    s3Options(target, "f/", { retry: { maxAttempts: 10, initialDelayMs: 1, maxDelayMs: 20 } }),
  );
  try {
    proxy.rates = {
      slowDown: 0.07,
      internalError: 0.07,
      drop: 0.06,
      delay: 0.05,
    };
    const retried = await requestCount("GetObject", "retried") +
      await requestCount("PutObject", "retried");
    for (let i = 0; i < 40; i++) {
      const data = pattern(i === 0 ? 2 * 1024 * 1024 : 1000 + i, i);
      await store.put(`objects/${i}`, data);
      assertBytes(await store.get(`objects/${i}`), data);
      assertBytes(
        await store.get(`objects/${i}`, { offset: 10, length: 100 }),
        data.subarray(10, 110),
      );
    }
    strictEqual(await store.putIfAbsent("objects/0", pattern(1, 1)), false);
    deepStrictEqual((await store.list("objects/")).length, 40);
    const { counts } = proxy;
    console.log(`  fault proxy: ${JSON.stringify(counts)}`);
    strictEqual(
      counts.slowDown > 0 && counts.internalError > 0 && counts.dropped > 0,
      true,
    );
    const retriedNow = await requestCount("GetObject", "retried") +
      await requestCount("PutObject", "retried");
    strictEqual(retriedNow - retried >= counts.slowDown, true);
  } finally {
    await store.close();
    await proxy.close();
    await server.stop();
  }
});

Deno.test("S3Store through a fault proxy: put() throws unavailable when the store is down longer than the retry budget", async () => {
  const server = await startS3rver();
  const proxy = await startFaultProxy(server.endpoint);
  const target = {
    endpoint: proxy.endpoint,
    bucket: server.bucket,
    region: "us-east-1",
    createBucket: false,
    shared: false,
    release: server.stop,
  };
  const store = await S3Store.open(s3Options(target, ""));
  try {
    const failed = await requestCount("PutObject", "failed");
    proxy.down = true;
    await rejects(
      store.put("objects/lost", pattern(10, 1)),
      (error: unknown) => {
        strictEqual(error instanceof PulseError && error.code, "UNAVAILABLE");
        match(
          (error as Error).message,
          /^Cannot PutObject objects\/lost: S3 request failed after 3 attempts: /,
        );
        return true;
      },
    );
    strictEqual((await requestCount("PutObject", "failed")) - failed, 1);
    // Back up: the same store works again.
    proxy.down = false;
    await store.put("objects/lost", pattern(10, 1));
    assertBytes(await store.get("objects/lost"), pattern(10, 1));
  } finally {
    await store.close();
    await proxy.close();
    await server.stop();
  }
});

Deno.test("S3Store through a fault proxy: an attempt slower than the request timeout fails and is retried", async () => {
  const server = await startS3rver();
  const proxy = await startFaultProxy(server.endpoint, { delayMs: 1000 });
  const target = {
    endpoint: proxy.endpoint,
    bucket: server.bucket,
    region: "us-east-1",
    createBucket: false,
    shared: false,
    release: server.stop,
  };
  const store = await S3Store.open(
    s3Options(target, "", {
      retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 50 },
      timeouts: { requestMs: 200 },
    }),
  );
  try {
    proxy.rates = { delay: 1 };
    await rejects(store.get("objects/slow"), (error: unknown) => {
      strictEqual(error instanceof PulseError && error.code, "UNAVAILABLE");
      match(
        (error as Error).message,
        /^Cannot GetObject objects\/slow: S3 request failed after 2 attempts: .*TimeoutError|ETIMEDOUT/,
      );
      return true;
    });
    proxy.rates = {};
    await store.put("objects/slow", pattern(5, 5));
    assertBytes(await store.get("objects/slow"), pattern(5, 5));
  } finally {
    await store.close();
    await proxy.close();
    await server.stop();
  }
});
