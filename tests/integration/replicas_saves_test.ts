/**
 * Saves through several runtime processes (replicas) on one S3 bucket:
 *
 * - a slow stream save on replica A holds its chunks in the store: RunGc
 *   with grace 0 on replica B, while the save's chunks are durable but no
 *   manifest names them yet, deletes none of them (it counts them
 *   protected); the save then commits and loads byte-exact through B;
 * - two replicas given one idempotency key make one checkpoint: a save on B
 *   that finds A's save of the key in progress waits for it and answers A's
 *   checkpoint; many pairs of saves started at once with shared keys make
 *   one checkpoint per key;
 * - a claim whose replica was killed (-9) mid-save is taken over once its
 *   lease has lapsed: the save through B completes, and it is the key's only
 *   checkpoint.
 *
 * The idempotency cases need conditional writes, so they run on the servers
 * of PULSE_TEST_S3_SERVERS (moto, SeaweedFS) and not on s3rver, which
 * ignores them; the GC case runs on all.
 * The SDK clients here take the stream path (`directTransfer: false`): the
 * cases are the runtime's own, and two clients PUTting one chunk at once
 * straight to moto get HTTP 500s from it that real S3 answers with 412 or 409.
 */
import assert from "node:assert/strict";
import type * as grpc from "@grpc/grpc-js";
import { toStruct } from "@pulsecheckpoint/proto";
import { Runtime } from "@pulsecheckpoint/sdk";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { type RawClient, rawClient } from "../support/raw_client.ts";
import { startReplicas } from "../support/replicas.ts";
import {
  assertSameBytes,
  listKeys,
  loadBytes,
  s3TestServers,
  stopRuntime,
  withTarget,
} from "../support/s3_targets.ts";

const LEASE_MS = 4000;
// The settings of every replica here: short leases, so that a dead claim
// lapses quickly; a long idle timeout, for saves the test holds open on a
// loaded machine; room for the racing pairs of one worker.
const SETTINGS = {
  PULSE_STORAGE_LEASE_MS: String(LEASE_MS),
  PULSE_SAVE_IDLE_TIMEOUT_MS: "120000",
  PULSE_SAVES_PER_WORKER_MAX: "32",
};
const PIECE_BYTES = 1024 * 1024;

/** A save streamed by hand, piece by piece, whose answer comes at the end. */
function openSave(client: RawClient, workerId: string, idempotencyKey: string) {
  let call: grpc.ClientWritableStream<unknown>;
  const answer = new Promise<{ checkpoint: { checkpoint_id: string; sha256: string } }>(
    (resolve, reject) => {
      call = client.SaveCheckpoint((error: grpc.ServiceError | null, response: never) =>
        error ? reject(error) : resolve(response)
      );
    },
  );
  call!.write({
    header: { worker_id: workerId, metadata: toStruct({}), idempotency_key: idempotencyKey },
  });
  return {
    answer,
    // In pieces of 1 MiB at most: the message limit the runtime sets.
    send: (bytes: Uint8Array) => {
      for (let offset = 0; offset < bytes.length; offset += PIECE_BYTES) {
        call.write({ data: bytes.subarray(offset, offset + PIECE_BYTES) });
      }
    },
    end: () => call.end(),
  };
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 900; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function runGc(client: RawClient): Promise<{ chunks_deleted: string; chunks_protected: string }> {
  return new Promise((resolve, reject) => {
    client.RunGc(
      { grace_ms: 0 },
      (error: Error | null, answer: never) => error ? reject(error) : resolve(answer),
    );
  });
}

for (const server of s3TestServers()) {
  Deno.test(`[${server.name}] GC with grace 0 on one replica deletes no chunk of a slow save on another, which then commits and loads byte-exact`, async () => {
    await withTarget(server, "replicas-slow-save", async (target) => {
      const [a, b] = await startReplicas(target, 2, SETTINGS);
      const [clientA, clientB] = [rawClient(a!.grpcAddress), rawClient(b!.grpcAddress)];
      const rt = b!.client();
      try {
        await rt.registerWorker("w1");
        const bytes = randomBytes(3 * CHUNK_BYTES + 1000);
        const save = openSave(clientA, "w1", "");
        save.answer.catch(() => {}); // awaited below
        save.send(bytes.subarray(0, 2 * CHUNK_BYTES));
        // Both full chunks durable, no manifest yet: only the save's lease keeps them.
        await until("two chunks", async () => (await listKeys(target, "chunks/")).length === 2);
        // Longer than a lease: the save renews it meanwhile.
        await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 1.5));
        const report = await runGc(clientB);
        assert.equal(Number(report.chunks_deleted), 0);
        assert.equal(Number(report.chunks_protected), 2);
        assert.equal((await listKeys(target, "chunks/")).length, 2);
        save.send(bytes.subarray(2 * CHUNK_BYTES));
        save.end();
        const { checkpoint } = await save.answer;
        assert.equal(checkpoint.sha256, sha256Hex(bytes));
        assertSameBytes(await loadBytes(rt, "w1", checkpoint.checkpoint_id), bytes, "loaded via B");
        // Committed: its lease is gone.
        assert.deepEqual(await listKeys(target, `leases/${checkpoint.checkpoint_id}/`), []);
      } finally {
        rt.close();
        clientA.close();
        clientB.close();
        await Promise.all([a!, b!].map(stopRuntime));
      }
    });
  });

  if (server.name === "s3rver") continue; // no conditional writes: see the module doc
  Deno.test(`[${server.name}] a save given the idempotency key of a save in progress on another replica waits for it and answers its checkpoint`, async () => {
    await withTarget(server, "replicas-idempotency", async (target) => {
      const [a, b] = await startReplicas(target, 2, SETTINGS);
      const clientA = rawClient(a!.grpcAddress);
      const rtB = new Runtime(`grpc://${b!.grpcAddress}`, { retry: false, directTransfer: false });
      try {
        await rtB.registerWorker("w1");
        const bytes = randomBytes(CHUNK_BYTES + 500);
        const first = openSave(clientA, "w1", "step-1");
        {
          first.send(bytes.subarray(0, 100));
          await until(
            "the claim",
            async () => (await listKeys(target, "idempotency/")).length === 1,
          );
        }
        let secondDone = false;
        const second = rtB.saveCheckpoint({ workerId: "w1", data: bytes, idempotencyKey: "step-1" })
          .finally(() => secondDone = true);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.equal(secondDone, false, "B answered before A's save committed");
        first.send(bytes.subarray(100));
        first.end();
        const { checkpoint } = await first.answer;
        assert.equal((await second).checkpointId, checkpoint.checkpoint_id);
        assert.equal((await listKeys(target, "checkpoints/")).length, 1);

        // Pairs started at once, one save of each pair on each replica.
        const rtA = new Runtime(`grpc://${a!.grpcAddress}`, {
          retry: false,
          directTransfer: false,
        });
        const keys = Array.from({ length: 8 }, (_, index) => `race-${index}`);
        const pairs = await Promise.all(keys.map((key) => {
          const data = randomBytes(CHUNK_BYTES + 1);
          return Promise.all(
            [rtA, rtB].map((rt) =>
              rt.saveCheckpoint({ workerId: "w1", data, idempotencyKey: key })
            ),
          );
        }));
        rtA.close();
        for (const [x, y] of pairs) assert.equal(x!.checkpointId, y!.checkpointId);
        assert.equal((await listKeys(target, "checkpoints/")).length, 1 + keys.length);
      } finally {
        rtB.close();
        clientA.close();
        await Promise.all([a!, b!].map(stopRuntime));
      }
    });
  });

  Deno.test(`[${server.name}] the idempotency claim of a replica killed mid-save is taken over once its lease lapsed, and makes the key's only checkpoint`, async () => {
    await withTarget(server, "replicas-takeover", async (target) => {
      const [a, b] = await startReplicas(target, 2, SETTINGS);
      const clientA = rawClient(a!.grpcAddress);
      const rtB = new Runtime(`grpc://${b!.grpcAddress}`, { retry: false, directTransfer: false });
      try {
        await rtB.registerWorker("w1");
        const bytes = randomBytes(CHUNK_BYTES + 500);
        const doomed = openSave(clientA, "w1", "step-9");
        doomed.answer.catch(() => {});
        doomed.send(bytes.subarray(0, 100));
        await until("the claim", async () => (await listKeys(target, "idempotency/")).length === 1);
        await a!.kill();
        const saved = await rtB.saveCheckpoint({
          workerId: "w1",
          data: bytes,
          idempotencyKey: "step-9",
        });
        assert.equal(saved.sha256, sha256Hex(bytes));
        assertSameBytes(await loadBytes(rtB, "w1", saved.checkpointId), bytes, "loaded via B");
        assert.equal((await listKeys(target, "checkpoints/")).length, 1);
        assert.equal(
          (await rtB.saveCheckpoint({ workerId: "w1", data: bytes, idempotencyKey: "step-9" }))
            .checkpointId,
          saved.checkpointId,
        );
        assert.ok(b!.logs.some((line) => line.includes("Idempotency claim taken over")));
      } finally {
        rtB.close();
        clientA.close();
        await Promise.all([a!, b!].map(stopRuntime));
      }
    });
  });
}
