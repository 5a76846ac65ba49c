/**
 * Bad input through a real runtime: each case gets its status code and a
 * message naming the field (and the limit), and afterwards the runtime still
 * serves and a checkpoint saved before loads intact.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { PulseError, type Runtime } from "@pulsecheckpoint/sdk";
import { toStruct } from "@pulsecheckpoint/proto";
import {
  GRPC_MESSAGE_BYTES_MAX,
  ID_LENGTH_MAX,
  METADATA_BYTES_MAX,
  PAGE_SIZE_MAX,
} from "../../src/limits.ts";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { rawClient, rawSaveError } from "../support/raw_client.ts";
import { startRuntime } from "../support/runtime.ts";

type Case = [string, (rt: Runtime) => Promise<unknown>, string, RegExp];

const CASES: Case[] = [
  [
    "worker id with a slash",
    (rt) => rt.registerWorker("a/b"),
    "INVALID_ARGUMENT",
    /worker_id "a\/b" must be/,
  ],
  [
    "worker id too long",
    (rt) => rt.registerWorker("w".repeat(ID_LENGTH_MAX + 1)),
    "INVALID_ARGUMENT",
    new RegExp(`limit is ${ID_LENGTH_MAX}`),
  ],
  [
    "empty worker id",
    (rt) => rt.heartbeat(""),
    "INVALID_ARGUMENT",
    /worker_id is empty/,
  ],
  [
    "metadata too large",
    (rt) =>
      rt.registerWorker("w2", {
        metadata: { blob: "x".repeat(METADATA_BYTES_MAX) },
      }),
    "INVALID_ARGUMENT",
    new RegExp(`metadata is \\d+ bytes, limit is ${METADATA_BYTES_MAX}`),
  ],
  [
    "heartbeat of an unknown worker",
    (rt) => rt.heartbeat("ghost"),
    "NOT_FOUND",
    /worker ghost is not registered/,
  ],
  [
    "heartbeat after deregistering",
    (rt) => rt.heartbeat("gone"),
    "FAILED_PRECONDITION",
    /worker gone is deregistered/,
  ],
  [
    "get an unknown worker",
    (rt) => rt.getWorker("ghost"),
    "NOT_FOUND",
    /worker ghost/,
  ],
  [
    "dataset with an empty path",
    (rt) => rt.registerDataset("d1", { path: "" }),
    "INVALID_ARGUMENT",
    /path is empty/,
  ],
  [
    "dataset name with a space",
    (rt) => rt.registerDataset("d 1", { path: "s3://b/d" }),
    "INVALID_ARGUMENT",
    /name "d 1"/,
  ],
  [
    "get an unknown dataset",
    (rt) => rt.getDataset("nope"),
    "NOT_FOUND",
    /dataset nope is not registered/,
  ],
  [
    "save for an unregistered worker",
    (rt) => rt.saveCheckpoint({ workerId: "ghost", data: new Uint8Array(10) }),
    "NOT_FOUND",
    /Cannot save checkpoint: worker ghost is not registered/,
  ],
  [
    "idempotency key too long",
    (rt) =>
      rt.saveCheckpoint({
        workerId: "w1",
        data: new Uint8Array(1),
        idempotencyKey: "k".repeat(300),
      }),
    "INVALID_ARGUMENT",
    /idempotency_key is 300 characters, limit is 256/,
  ],
  [
    "malformed checkpoint id",
    (rt) => rt.loadCheckpoint("w1", { checkpointId: "chk_x" }),
    "INVALID_ARGUMENT",
    /checkpoint_id "chk_x"/,
  ],
  [
    "unknown checkpoint id",
    (rt) => rt.getCheckpoint("w1", "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    "NOT_FOUND",
    /checkpoint chk_01ARZ3NDEKTSV4RRFFQ69G5FAV of worker w1 does not exist/,
  ],
  [
    "latest of a worker without checkpoints",
    (rt) => rt.loadCheckpoint("w2"),
    "NOT_FOUND",
    /worker w2 has no checkpoint/,
  ],
  [
    "page too large",
    (rt) => rt.listCheckpoints("w1", { pageSize: PAGE_SIZE_MAX + 1 }),
    "INVALID_ARGUMENT",
    new RegExp(`limit is ${PAGE_SIZE_MAX}`),
  ],
  [
    "foreign page token",
    (rt) => rt.listWorkers({ pageToken: "bm9wZQ" }),
    "INVALID_ARGUMENT",
    /page_token/,
  ],
];

Deno.test("every bad input gets its status code and the runtime stays healthy", async (t) => {
  const runtime = await startRuntime();
  const rt = runtime.client();
  const raw = rawClient(runtime.grpcAddress, { "grpc.max_send_message_length": -1 });
  try {
    await rt.registerWorker("w1");
    await rt.registerWorker("w2");
    await rt.registerWorker("gone");
    await rt.deregisterWorker("gone");
    const kept = randomBytes(1000);
    const before = await rt.saveCheckpoint({ workerId: "w1", data: kept });

    for (const [name, call, code, message] of CASES) {
      await t.step(name, async () => {
        await assert.rejects(call(rt), (error: unknown) => {
          assert.ok(error instanceof PulseError, String(error));
          assert.equal(error.code, code, error.message);
          assert.match(error.message, message);
          return true;
        });
      });
    }
    await t.step("save whose first message is data", async () => {
      const error = await rawSaveError(raw, [{ data: new Uint8Array(5) }]);
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
      assert.match(error.details, /the first message must carry the header/);
    });
    await t.step("save with no message at all", async () => {
      const error = await rawSaveError(raw, []);
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    });
    await t.step("save with a second header", async () => {
      const header = {
        header: {
          worker_id: "w1",
          metadata: toStruct({}),
          idempotency_key: "",
        },
      };
      const error = await rawSaveError(raw, [
        header,
        { data: new Uint8Array(5) },
        header,
      ]);
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
      assert.match(
        error.details,
        /message 2 carries a header; only the first may/,
      );
    });
    await t.step("a data message above the message size limit", async () => {
      const header = {
        header: {
          worker_id: "w1",
          metadata: toStruct({}),
          idempotency_key: "",
        },
      };
      const error = await rawSaveError(raw, [header, {
        data: new Uint8Array(GRPC_MESSAGE_BYTES_MAX + 1),
      }]);
      assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(error.details, /larger than max/);
    });
    const header = {
      header: {
        worker_id: "w1",
        metadata: toStruct({}),
        idempotency_key: "",
        expect_trailer: true,
      },
    };
    const five = new Uint8Array(5);
    await t.step("save whose stream ends without the trailer its header promised", async () => {
      const error = await rawSaveError(raw, [header, { data: five }]);
      assert.equal(error.code, grpc.status.ABORTED);
      assert.match(error.details, /ended after 5 bytes without a trailer/);
    });
    await t.step("save whose trailer gives another size", async () => {
      const error = await rawSaveError(raw, [header, { data: five }, {
        trailer: { size_bytes: 6, sha256: "" },
      }]);
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
      assert.match(error.details, /trailer.size_bytes is 6 but 5 bytes arrived/);
    });
    await t.step("save whose trailer gives another SHA-256", async () => {
      const error = await rawSaveError(raw, [header, { data: five }, {
        trailer: { size_bytes: 5, sha256: sha256Hex(new Uint8Array(5).fill(1)) },
      }]);
      assert.equal(error.code, grpc.status.DATA_LOSS);
      assert.match(error.details, /not to trailer.sha256/);
    });
    await t.step("save with a message after the trailer", async () => {
      const error = await rawSaveError(raw, [header, { trailer: { size_bytes: 0, sha256: "" } }, {
        data: five,
      }]);
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
      assert.match(error.details, /message 2 follows the trailer/);
    });
    const infinite = { fields: { loss: { number_value: Infinity } } };
    await t.step(
      "metadata with a number JSON cannot hold, by every method that takes metadata",
      async () => {
        const register = (method: string, request: object) =>
          new Promise<grpc.ServiceError>((resolve, reject) =>
            raw[method](request, (error: grpc.ServiceError | null) => {
              if (error) resolve(error);
              else reject(new Error(`${method} succeeded`));
            })
          );
        for (
          const error of [
            await register("RegisterWorker", { worker_id: "w3", metadata: infinite }),
            await register("RegisterDataset", { name: "d3", path: "s3://b/d", metadata: infinite }),
            await rawSaveError(raw, [{ header: { worker_id: "w1", metadata: infinite } }, {
              data: five,
            }]),
          ]
        ) {
          assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
          assert.match(error.details, /metadata.loss is Infinity; metadata numbers must be finite/);
        }
        assert.deepEqual((await rt.listWorkers()).items.map((w) => w.workerId).sort(), [
          "gone",
          "w1",
          "w2",
        ]);
      },
    );

    await rt.heartbeat("w1");
    const loaded = await rt.loadCheckpoint("w1");
    assert.equal(loaded.checkpoint.checkpointId, before.checkpointId);
    assert.deepEqual(loaded.data, kept);
  } finally {
    raw.close();
    rt.close();
    await runtime.stop();
  }
});
