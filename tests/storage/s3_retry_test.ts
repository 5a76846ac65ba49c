/**
 * Unit tests of the S3 retry wrapper on fake time: a fake clock records the
 * backoffs instead of sleeping, and errors are built as the AWS SDK builds
 * them (name, `$metadata.httpStatusCode`) or as node:http does (`code`).
 */
import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { PulseError } from "../../src/errors.ts";
import { s3RequestDurationSeconds, s3RequestsTotal } from "../../src/metrics.ts";
import {
  backoffDelayMs,
  isRetryable,
  type RetryClock,
  type S3RetryPolicy,
  withRetry,
} from "../../src/storage/s3_retry.ts";

const POLICY: S3RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 1000,
};

/** A clock whose sleeps only advance its time, and whose chance is fixed. */
function fakeClock(chance = 0.5): RetryClock & { sleeps: number[]; advance(ms: number): void } {
  let nowMs = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    advance(ms) {
      nowMs += ms;
    },
    sleep(ms) {
      sleeps.push(ms);
      nowMs += ms;
      return Promise.resolve();
    },
    random: () => chance,
    now: () => nowMs,
  };
}

function s3Error(status: number, name: string, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
  });
}

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A call that throws `errors` in turn, then returns `result`. */
function failing<T>(errors: unknown[], result: T): { call: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    call: () => {
      const error = errors[calls++];
      return error === undefined ? Promise.resolve(result) : Promise.reject(error);
    },
    calls: () => calls,
  };
}

async function requestCount(operation: string, outcome: string): Promise<number> {
  const metric = await s3RequestsTotal.get();
  return metric.values.find((v) => v.labels.operation === operation && v.labels.outcome === outcome)
    ?.value ?? 0;
}

Deno.test("withRetry() retries 503 SlowDown, 500, 429, timeouts and dropped connections, then returns the result", async () => {
  const clock = fakeClock();
  const errors = [
    s3Error(503, "SlowDown", "Please reduce your request rate."),
    s3Error(500, "InternalError"),
    s3Error(429, "TooManyRequests"),
    networkError("ECONNRESET", "read ECONNRESET"),
    networkError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:9"),
    Object.assign(new Error("socket hang up"), { name: "TimeoutError" }),
    new Error("socket hang up"),
  ];
  const { call, calls } = failing(errors, "done");
  const result = await withRetry(
    { operation: "TestRetries", key: "k" },
    call,
    { ...POLICY, maxAttempts: errors.length + 1 },
    clock,
  );
  strictEqual(result, "done");
  strictEqual(calls(), errors.length + 1);
  strictEqual(clock.sleeps.length, errors.length);
});

Deno.test("withRetry() does not retry 403, 404 or 412, and throws unavailable with the answer", async () => {
  for (
    const error of [
      s3Error(403, "AccessDenied", "Access Denied"),
      s3Error(404, "NoSuchBucket"),
      s3Error(412, "PreconditionFailed"),
    ]
  ) {
    const clock = fakeClock();
    const { call, calls } = failing([error], "never");
    await rejects(
      withRetry({ operation: "TestNoRetry", key: "a/b" }, call, POLICY, clock),
      (thrown: unknown) => {
        strictEqual(thrown instanceof PulseError && thrown.code, "UNAVAILABLE");
        strictEqual((thrown as Error).cause, error);
        strictEqual(
          (thrown as Error).message.startsWith("Cannot TestNoRetry a/b: S3 rejected the request: "),
          true,
        );
        return true;
      },
    );
    strictEqual(calls(), 1);
    deepStrictEqual(clock.sleeps, []);
  }
  const denied = failing([s3Error(403, "AccessDenied", "Access Denied")], "never");
  await rejects(
    withRetry({ operation: "TestNoRetry", key: "a/b" }, denied.call, POLICY, fakeClock()),
    {
      message: "Cannot TestNoRetry a/b: S3 rejected the request: 403 AccessDenied: Access Denied",
    },
  );
});

Deno.test("withRetry() throws unavailable after max_attempts, naming operation, key, attempts and reason", async () => {
  const clock = fakeClock();
  const last = s3Error(503, "SlowDown", "Please reduce your request rate.");
  const { call, calls } = failing([
    s3Error(500, "InternalError"),
    networkError("ECONNRESET", "read ECONNRESET"),
    last,
  ], "never");
  const failedBefore = await requestCount("TestExhausted", "failed");
  await rejects(
    withRetry({ operation: "TestExhausted", key: "chunks/ab/abcd" }, call, {
      ...POLICY,
      maxAttempts: 3,
    }, clock),
    (thrown: unknown) => {
      strictEqual(thrown instanceof PulseError && thrown.code, "UNAVAILABLE");
      strictEqual(
        (thrown as Error).message,
        "Cannot TestExhausted chunks/ab/abcd: S3 request failed after 3 attempts: 503 SlowDown: Please reduce your request rate.",
      );
      strictEqual((thrown as Error).cause, last);
      return true;
    },
  );
  strictEqual(calls(), 3);
  strictEqual(clock.sleeps.length, 2);
  strictEqual((await requestCount("TestExhausted", "failed")) - failedBefore, 1);
});

Deno.test("withRetry() with max_attempts 1 makes exactly one attempt", async () => {
  const clock = fakeClock();
  const { call, calls } = failing([s3Error(503, "SlowDown")], "never");
  await rejects(
    withRetry({ operation: "TestOnce", key: "k" }, call, { ...POLICY, maxAttempts: 1 }, clock),
    {
      name: "PulseError",
      message: "Cannot TestOnce k: S3 request failed after 1 attempt: 503 SlowDown",
    },
  );
  strictEqual(calls(), 1);
  deepStrictEqual(clock.sleeps, []);
});

Deno.test("withRetry() lets errors that are no S3 answer nor network failure pass untouched (bugs)", async () => {
  const bug = new TypeError("Cannot read properties of undefined");
  const { call, calls } = failing([bug], "never");
  await rejects(
    withRetry({ operation: "TestBug", key: "k" }, call, POLICY, fakeClock()),
    (thrown: unknown) => thrown === bug,
  );
  strictEqual(calls(), 1);
  const domain = new PulseError("DATA_LOSS", "Cannot load: hash mismatch");
  await rejects(
    withRetry(
      { operation: "TestBug", key: "k" },
      () => Promise.reject(domain),
      POLICY,
      fakeClock(),
    ),
    (thrown: unknown) => thrown === domain,
  );
});

Deno.test("withRetry() backs off with full jitter, doubling from initial_delay_ms, capped at max_delay_ms", async () => {
  const failures = Array.from({ length: 6 }, () => s3Error(503, "SlowDown"));
  const highest = fakeClock(0.999999);
  await withRetry({ operation: "TestBackoff", key: "k" }, failing(failures, 1).call, {
    ...POLICY,
    maxAttempts: 7,
  }, highest);
  // Ceilings 100, 200, 400, 800, then 1000 (capped); the draw is just below.
  deepStrictEqual(highest.sleeps, [99, 199, 399, 799, 999, 999]);

  const lowest = fakeClock(0);
  await withRetry({ operation: "TestBackoff", key: "k" }, failing(failures, 1).call, {
    ...POLICY,
    maxAttempts: 7,
  }, lowest);
  deepStrictEqual(lowest.sleeps, [0, 0, 0, 0, 0, 0]);

  const half = fakeClock(0.5);
  await withRetry({ operation: "TestBackoff", key: "k" }, failing(failures, 1).call, {
    ...POLICY,
    maxAttempts: 7,
  }, half);
  deepStrictEqual(half.sleeps, [50, 100, 200, 400, 500, 500]);

  // Every draw stays within [0, ceiling), whatever the chance.
  for (let retry = 1; retry <= 20; retry++) {
    const ceiling = Math.min(POLICY.maxDelayMs, POLICY.initialDelayMs * 2 ** (retry - 1));
    for (const chance of [0, 0.25, 0.5, 0.75, 0.999999]) {
      const delay = backoffDelayMs(retry, POLICY, () => chance);
      strictEqual(
        delay >= 0 && delay < ceiling,
        true,
        `retry ${retry}, chance ${chance}: ${delay}`,
      );
    }
  }
  // A policy of no delay never sleeps.
  strictEqual(backoffDelayMs(3, { ...POLICY, initialDelayMs: 0 }, () => 0.9), 0);
});

Deno.test("withRetry() counts each attempt by outcome and times each in pulse_s3_request_duration_seconds", async () => {
  const clock = fakeClock();
  const operation = "TestMetrics";
  const before = {
    ok: await requestCount(operation, "ok"),
    retried: await requestCount(operation, "retried"),
    failed: await requestCount(operation, "failed"),
  };
  let calls = 0;
  const call = () => {
    calls++;
    clock.advance(250); // each attempt takes 250 ms of fake time
    return calls <= 2 ? Promise.reject(s3Error(503, "SlowDown")) : Promise.resolve("ok");
  };
  await withRetry({ operation, key: "k" }, call, POLICY, clock);
  strictEqual((await requestCount(operation, "ok")) - before.ok, 1);
  strictEqual((await requestCount(operation, "retried")) - before.retried, 2);
  strictEqual((await requestCount(operation, "failed")) - before.failed, 0);

  const histogram = await s3RequestDurationSeconds.get();
  const count = histogram.values.find((v) =>
    v.metricName === "pulse_s3_request_duration_seconds_count" && v.labels.operation === operation
  );
  const sum = histogram.values.find((v) =>
    v.metricName === "pulse_s3_request_duration_seconds_sum" && v.labels.operation === operation
  );
  strictEqual(count?.value, 3);
  strictEqual(sum?.value, 0.75); // the backoff sleeps are not attempts
});

Deno.test("isRetryable() tells transient failures from answers", () => {
  const cases: [unknown, boolean][] = [
    [s3Error(503, "SlowDown"), true],
    [s3Error(500, "InternalError"), true],
    [s3Error(502, "BadGateway"), true],
    [s3Error(429, "TooManyRequests"), true],
    [s3Error(408, "RequestTimeout"), true],
    [s3Error(400, "BadRequest"), false],
    [s3Error(403, "AccessDenied"), false],
    [s3Error(404, "NoSuchKey"), false],
    [s3Error(409, "ConditionalRequestConflict"), false],
    [s3Error(412, "PreconditionFailed"), false],
    // The SDK flags throttling that arrives with a 400.
    [Object.assign(s3Error(400, "Throttling"), { $retryable: { throttling: true } }), true],
    [networkError("ECONNRESET", "ABORTED"), true],
    [networkError("EPIPE", "write EPIPE"), true],
    [Object.assign(new Error("the request socket timed out"), { name: "TimeoutError" }), true],
    [
      new Error("request failed", { cause: networkError("ECONNREFUSED", "connect ECONNREFUSED") }),
      true,
    ],
    [new TypeError("x is undefined"), false],
    [new PulseError("UNAVAILABLE", "Cannot put: down"), false],
    ["a string", false],
    [undefined, false],
  ];
  for (const [error, expected] of cases) {
    strictEqual(
      isRetryable(error),
      expected,
      `${(error as Error)?.name ?? error} ${(error as Error)?.message ?? ""}`,
    );
  }
});
