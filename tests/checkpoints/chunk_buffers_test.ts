/**
 * The shared pool of chunk buffers: a wait for a buffer ends with
 * UNAVAILABLE naming storage.chunk_buffer_wait_ms once it lasted that long,
 * with ABORTED at once when its signal fires, and a wait that ended is no
 * longer in the queue (the next buffer released goes to a live waiter, or
 * back to the pool). Real timers, short waits.
 */
import assert from "node:assert/strict";
import { ChunkBuffers } from "../../src/checkpoints/chunk_buffers.ts";
import { PulseError } from "../../src/errors.ts";

const WAIT_MS = 200;

Deno.test("acquire() waits at most waitMs for a buffer, then fails with UNAVAILABLE naming the setting", async () => {
  const buffers = new ChunkBuffers(1, 8, WAIT_MS);
  const held = await buffers.acquire();
  const started = performance.now();
  await assert.rejects(buffers.acquire(), (error: unknown) => {
    assert.ok(error instanceof PulseError);
    assert.equal(error.code, "UNAVAILABLE");
    assert.equal(
      error.message,
      `Cannot save checkpoint: no chunk buffer came free within ${WAIT_MS} ms (storage.chunk_buffer_wait_ms); all 1 (storage.chunk_buffers) are held by other saves; the runtime is busy, retry later`,
    );
    return true;
  });
  const waitedMs = performance.now() - started;
  assert.ok(waitedMs >= WAIT_MS - 5 && waitedMs < WAIT_MS + 1000, `waited ${waitedMs} ms`);
  // The wait that failed left the queue: the buffer goes back to the pool.
  assert.equal(buffers.waiting, 0);
  buffers.release(held);
  assert.equal((await buffers.acquire()).buffer, held.buffer);
});

Deno.test("acquire() stops waiting at once when its signal fires, with ABORTED", async () => {
  const buffers = new ChunkBuffers(1, 8, 60_000);
  const held = await buffers.acquire();
  const cancel = new AbortController();
  const waiting = buffers.acquire(cancel.signal);
  const started = performance.now();
  setTimeout(() => cancel.abort(), 20);
  await assert.rejects(waiting, {
    code: "ABORTED",
    message:
      "Cannot save checkpoint: the client cancelled the call while the save waited for a chunk buffer",
  });
  assert.ok(performance.now() - started < 1000);
  assert.equal(buffers.waiting, 0);
  // Already aborted: refused without waiting.
  await assert.rejects(buffers.acquire(cancel.signal), { code: "ABORTED" });
  // A live waiter behind gets the next buffer released.
  const next = buffers.acquire(new AbortController().signal);
  buffers.release(held);
  assert.equal((await next).buffer, held.buffer);
});
