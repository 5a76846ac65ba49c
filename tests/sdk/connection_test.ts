/**
 * How the SDK connects: address schemes, TLS (server-verified and mutual)
 * against an in-process gRPC server with openssl-made certificates, TLS to a
 * real runtime addressed by IP, the bearer token on every kind of call, and
 * gRPC statuses turned into PulseErrors.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { PulseError, Runtime, type TlsOptions } from "@pulsecheckpoint/sdk";
import { CHUNK_BYTES } from "@pulsecheckpoint/proto/protocol";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { developmentCertificates, TLS_ENV, withTlsRuntime } from "./_tls.ts";
import { mismatch, startConnectionTargets, type TlsFiles } from "./_connection_cases.ts";
import {
  type FakeRuntime,
  LOADED_BYTES,
  makeCertificates,
  startFakeRuntime,
  type TestCertificates,
} from "./_fake_runtime.ts";

function assertInvalid(make: () => unknown, message: RegExp): void {
  assert.throws(make, (error) => {
    assert.ok(error instanceof PulseError, String(error));
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.match(error.message, /^Cannot create Runtime: /);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("new Runtime() accepts grpc://, grpcs:// and host:port, and rejects other addresses", async (t) => {
  for (
    const address of [
      "grpc://localhost:50051",
      "grpcs://localhost:50051",
      "localhost:50051",
      "grpc://[::1]:50051",
      "grpc://127.0.0.1:50051/",
    ]
  ) {
    await t.step(`accepts ${address}`, () => {
      new Runtime(address).close();
    });
  }
  const bad: [string, RegExp][] = [
    ["http://localhost:50051", /has scheme http:; allowed are grpc:\/\/ and grpcs:\/\//],
    ["grpc://localhost:50051/pulse", /must be scheme:\/\/host:port and nothing more/],
    ["grpc://user:pw@localhost:50051", /must be scheme:\/\/host:port/],
    ["grpc://", /must be scheme:\/\/host:port/],
    ["grpc://local host:1", /is not an address/],
  ];
  for (const [address, message] of bad) {
    await t.step(`rejects ${address}`, () => {
      assertInvalid(() => new Runtime(address), message);
    });
  }
  await t.step("rejects tls options with a plaintext address", () => {
    assertInvalid(
      () => new Runtime("grpc://localhost:50051", { tls: {} }),
      /tls options were given for the plaintext address "grpc:\/\/localhost:50051"; use grpcs:\/\//,
    );
  });
  await t.step("rejects a client certificate without its key", () => {
    assertInvalid(
      () => new Runtime("grpcs://localhost:50051", { tls: { cert: "x" } }),
      /tls\.cert and tls\.key must be given together/,
    );
  });
  await t.step("rejects a token that cannot be a header value", () => {
    for (const token of ["", "two words", "line\nbreak", "é"]) {
      assertInvalid(
        () => new Runtime("grpc://localhost:50051", { token }),
        /token must be 1 or more printable ASCII characters/,
      );
    }
  });
});

async function withFake(
  tls: { certificates: TestCertificates; requireClientCert: boolean } | undefined,
  body: (fake: FakeRuntime) => Promise<void>,
): Promise<void> {
  const fake = await startFakeRuntime(tls);
  try {
    await body(fake);
  } finally {
    await fake.close();
  }
}

Deno.test("the token goes out as authorization: Bearer on unary, client-streaming and server-streaming calls", async () => {
  await withFake(undefined, async (fake) => {
    const rt = new Runtime(`grpc://${fake.address}`, { token: "s3cr3t.token" });
    try {
      await rt.heartbeat("w1");
      await rt.saveCheckpoint({ workerId: "w1", data: new Uint8Array(10) });
      const loaded = await rt.loadCheckpoint("w1");
      assert.deepEqual(loaded.data, LOADED_BYTES);
    } finally {
      rt.close();
    }
    assert.deepEqual(fake.calls, [
      { method: "Heartbeat", authorization: "Bearer s3cr3t.token" },
      { method: "SaveCheckpoint", authorization: "Bearer s3cr3t.token" },
      { method: "GetCheckpoint", authorization: "Bearer s3cr3t.token" },
      { method: "LoadCheckpoint", authorization: "Bearer s3cr3t.token" },
    ]);
    const anonymous = new Runtime(`grpc://${fake.address}`);
    try {
      await anonymous.heartbeat("w1");
    } finally {
      anonymous.close();
    }
    assert.equal(fake.calls.at(-1)?.authorization, undefined);
  });
});

Deno.test("grpcs:// connects over TLS, verified against the given CA, and mutual TLS presents the client certificate", async (t) => {
  const certificates = await makeCertificates();
  await t.step("server TLS with a private CA", async () => {
    await withFake({ certificates, requireClientCert: false }, async (fake) => {
      const port = fake.address.split(":")[1];
      const rt = new Runtime(`grpcs://localhost:${port}`, {
        token: "t",
        tls: { ca: certificates.ca },
      });
      try {
        assert.equal((await rt.heartbeat("w1")).heartbeatIntervalMs, 10_000);
      } finally {
        rt.close();
      }
      assert.equal(fake.calls[0]?.authorization, "Bearer t");
    });
  });
  await t.step("a CA that did not sign the server's certificate is refused", async () => {
    await withFake({ certificates, requireClientCert: false }, async (fake) => {
      const port = fake.address.split(":")[1];
      const rt = new Runtime(`grpcs://localhost:${port}`, {
        tls: { ca: new TextEncoder().encode(certificates.otherCa) },
        retry: false,
      });
      try {
        await assert.rejects(
          rt.heartbeat("w1"),
          (error) => error instanceof PulseError && error.code === "UNAVAILABLE",
        );
      } finally {
        rt.close();
      }
      assert.equal(fake.calls.length, 0);
    });
  });
  await t.step(
    "serverName verifies a certificate whose name is not the address's host",
    async () => {
      await withFake({ certificates, requireClientCert: false }, async (fake) => {
        const rt = new Runtime(`grpcs://${fake.address}`, {
          tls: { ca: certificates.ca, serverName: "localhost" },
        });
        try {
          await rt.heartbeat("w1");
        } finally {
          rt.close();
        }
      });
    },
  );
  await t.step("mutual TLS", async () => {
    await withFake({ certificates, requireClientCert: true }, async (fake) => {
      const port = fake.address.split(":")[1];
      const withCert = new Runtime(`grpcs://localhost:${port}`, {
        tls: {
          ca: certificates.ca,
          cert: certificates.clientCert,
          key: certificates.clientKey,
        },
      });
      const withoutCert = new Runtime(`grpcs://localhost:${port}`, {
        tls: { ca: certificates.ca },
        retry: false,
      });
      try {
        await withCert.heartbeat("w1");
        await assert.rejects(
          withoutCert.heartbeat("w1"),
          (error) => error instanceof PulseError && error.code === "UNAVAILABLE",
        );
      } finally {
        withCert.close();
        withoutCert.close();
      }
      assert.equal(fake.calls.length, 1);
    });
  });
});

Deno.test("gRPC statuses become PulseErrors with the code's name and the server's message", async () => {
  await withFake(undefined, async (fake) => {
    const rt = new Runtime(`grpc://${fake.address}`);
    try {
      const cases: [grpc.status, string][] = [
        [grpc.status.PERMISSION_DENIED, "PERMISSION_DENIED"],
        [grpc.status.UNAUTHENTICATED, "UNAUTHENTICATED"],
        [grpc.status.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"],
        [grpc.status.DATA_LOSS, "DATA_LOSS"],
      ];
      for (const [status, name] of cases) {
        fake.failGetWorker = { code: status, details: `Cannot get worker: ${name}` };
        await assert.rejects(rt.getWorker("w1"), (error) => {
          assert.ok(error instanceof PulseError, String(error));
          assert.equal(error.name, "PulseError");
          assert.equal(error.code, name);
          assert.equal(error.message, `Cannot get worker: ${name}`);
          assert.equal((error.cause as grpc.ServiceError).code, status);
          return true;
        });
      }
    } finally {
      rt.close();
    }
  });
});

Deno.test("grpcs:// to an IP address reaches a real TLS runtime whose certificate lists that address", async (t) => {
  const certs = await developmentCertificates();
  await t.step("127.0.0.1, with the development certificate of deno task certs", async () => {
    await withTlsRuntime(certs, TLS_ENV, async ({ port }) => {
      await using rt = new Runtime(`grpcs://127.0.0.1:${port}`, {
        tls: { ca: certs["ca.pem"] },
        retry: false,
      });
      await rt.registerWorker("w1");
      const bytes = randomBytes(CHUNK_BYTES + 5);
      const saved = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
      const loaded = await rt.loadCheckpoint("w1");
      assert.equal(loaded.checkpoint.checkpointId, saved.checkpointId);
      assert.equal(sha256Hex(loaded.data), sha256Hex(bytes));
    });
  });
  await t.step("[::1], with mutual TLS", async () => {
    const env = { ...TLS_ENV, PULSE_TLS_CLIENT_CA: "certs/ca.pem" };
    await withTlsRuntime(certs, env, async ({ port }) => {
      await using rt = new Runtime(`grpcs://[::1]:${port}`, {
        tls: { ca: certs["ca.pem"], cert: certs["client.pem"], key: certs["client.key"] },
        retry: false,
      });
      assert.equal((await rt.registerWorker("w1")).state, "ACTIVE");
    }, ["--grpc-addr", "[::1]:0"]);
  });
});

Deno.test("grpcs:// to an IP address refuses a runtime whose certificate lists only names", async () => {
  const certificates = await makeCertificates();
  const files = {
    "ca.pem": certificates.ca,
    "server.pem": certificates.namesOnlyCert,
    "server.key": certificates.namesOnlyKey,
  };
  await withTlsRuntime(files, TLS_ENV, async ({ port }) => {
    const byName = new Runtime(`grpcs://localhost:${port}`, { tls: { ca: certificates.ca } });
    const byAddress = new Runtime(`grpcs://127.0.0.1:${port}`, {
      tls: { ca: certificates.ca },
      retry: false,
    });
    try {
      await byName.registerWorker("w1"); // the certificate is good for its name
      await assert.rejects(byAddress.heartbeat("w1"), (error) => {
        assert.ok(error instanceof PulseError, String(error));
        assert.equal(error.code, "UNAVAILABLE");
        assert.match(
          error.message,
          /^Cannot send heartbeat: no connection to grpcs:\/\/127\.0\.0\.1:\d+: the runtime's certificate is not valid for 127\.0\.0\.1; /,
        );
        return true;
      });
    } finally {
      byName.close();
      byAddress.close();
    }
  });
});

// TLS settings from the files a case names.
async function tlsOf(files: TlsFiles | undefined): Promise<TlsOptions | undefined> {
  if (files === undefined) return undefined;
  const read = (path: string | undefined) =>
    path === undefined ? undefined : Deno.readTextFile(path);
  return {
    ca: await read(files.ca),
    cert: await read(files.cert),
    key: await read(files.key),
    serverName: files.serverName,
  };
}

Deno.test("on loopback, TLS by IP address connects, and every connection that cannot be made fails with UNAVAILABLE naming the address and the likely cause", async (t) => {
  const targets = await startConnectionTargets();
  try {
    for (const testCase of targets.cases) {
      await t.step(testCase.name, async () => {
        await using rt = new Runtime(testCase.address, {
          tls: await tlsOf(testCase.tls),
          retry: false,
        });
        const outcome = await rt.registerWorker("w1").then(
          () => ({ ok: true as const }),
          (error) => {
            assert.ok(error instanceof PulseError, String(error));
            return { code: error.code, message: error.message };
          },
        );
        assert.equal(mismatch(testCase, "register worker", outcome), undefined);
      });
    }
  } finally {
    await targets.stop();
  }
});

Deno.test("an UNAVAILABLE of the runtime's own keeps its message", async () => {
  const fake = await startFakeRuntime();
  fake.failGetWorker = { code: grpc.status.UNAVAILABLE, details: "Cannot get worker: store down" };
  try {
    await using rt = new Runtime(`grpc://${fake.address}`, { retry: false });
    await assert.rejects(
      rt.getWorker("w1"),
      (error) => error instanceof PulseError && error.message === "Cannot get worker: store down",
    );
  } finally {
    await fake.close();
  }
});
