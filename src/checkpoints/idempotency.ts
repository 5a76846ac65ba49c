/**
 * Idempotent saves: a save repeated with the same (worker id, idempotency
 * key) returns the checkpoint of the first instead of making a second, on
 * whichever replica of the bucket each attempt lands.
 *
 * A save claims its key in the store before it writes any byte: a
 * conditional write (`putIfAbsent`) of the idempotency record, naming the
 * checkpoint id it will commit, made once the save's lease
 * (`save_lease.ts`, renewed while it runs) is written. Of two saves given one
 * key at once, on two replicas, one writes the record; the other finds it and
 *
 * - returns the checkpoint once the claim's manifest exists (it polls every
 *   `IDEMPOTENCY_CLAIM_POLL_MS`, for at most `claimWaitMs`, then fails with
 *   UNAVAILABLE so that the client retries; a client that leaves ends the
 *   wait at once);
 * - takes the claim over when it is provably dead: no live lease names its
 *   checkpoint (the replica that claimed it crashed, at most
 *   `storage.lease_ms` ago, or its save failed) and its manifest does not
 *   exist. Of the replicas that find one claim dead, the one that writes the
 *   takeover marker of that checkpoint (`putIfAbsent` again) replaces the
 *   record with a claim of its own and saves; the others wait on that one.
 *
 * Before its commit a save checks that the record still names it, so a
 * replica that was paused past its lease does not commit beside the one that
 * took over (a check, then the write: a pause between the two is the window
 * that remains).
 *
 * Where the store has no conditional writes (an S3 server that ignores
 * `If-None-Match`, such as s3rver) `putIfAbsent` is exact within one process
 * only: two replicas given one key at the same moment may then both save.
 * On the fs store (one runtime) a claim is alive exactly while this process
 * runs its save, so a claim left by a crash is taken over at once.
 *
 * Saves with one key in this process run one after the other, so that each
 * later one sees what the first committed.
 */
import { PulseError } from "../errors.ts";
import { idempotencyRecordKeyOf, idempotencyTakeoverKeyOf } from "../keys.ts";
import { IDEMPOTENCY_CLAIM_POLL_MS } from "../limits.ts";
import { log } from "../log.ts";
import {
  encodeRecord,
  fieldsProblem,
  readRecord,
  type RecordShape,
  writeRecord,
} from "../storage/records.ts";
import type { ObjectStore } from "../storage/store.ts";
import { isCheckpointId, newCheckpointId } from "./checkpoint_id.ts";
import type { SaveHold, SaveHolds } from "./save_lease.ts";

/** What the store holds for a claimed idempotency key. */
interface IdempotencyRecord {
  checkpoint_id: string;
  /** The replica that claimed it, for operators (absent in older records). */
  replica?: string;
}

/** How a save with an idempotency key is carried out (`Idempotency.saveOnce`). */
export interface OnceSave<T> {
  /** What the save of `checkpointId` made, if it committed. */
  committed(checkpointId: string): Promise<T | undefined>;
  /** Saves as `checkpointId` under `hold`; `hold.check` also checks the claim. */
  save(checkpointId: string, hold: SaveHold): Promise<T>;
}

/** Options of `Idempotency`, for saves across replicas. */
export interface IdempotencyOptions {
  /** The holds of saves, which tell whether a claim's save is alive. */
  holds: SaveHolds;
  /** This runtime's replica id, written in its claims. */
  replicaId: string;
  /** Longest wait for a claim another save holds (then UNAVAILABLE). */
  claimWaitMs: number;
}

const TARGET = "pulse::checkpoint";

const IDEMPOTENCY_RECORD: RecordShape<IdempotencyRecord> = {
  name: "idempotency record",
  problem: (value) =>
    fieldsProblem(value, { checkpoint_id: "string" }) ??
      (isCheckpointId((value as IdempotencyRecord).checkpoint_id)
        ? undefined
        : "checkpoint_id is not a checkpoint id"),
};

/** The idempotency records of a store, and the saves in progress by key. */
export class Idempotency {
  readonly #store: ObjectStore;
  readonly #options: IdempotencyOptions | undefined;
  // The last save queued per key, so that the next one waits for it.
  readonly #saves = new Map<string, Promise<unknown>>();

  /** @param options absent, `saveOnce` cannot be used (record access only) */
  constructor(store: ObjectStore, options?: IdempotencyOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Runs `save` once every save queued before it with the same key has settled. */
  async serialized<T>(
    workerId: string,
    idempotencyKey: string,
    save: () => Promise<T>,
  ): Promise<T> {
    const lockKey = `${workerId}\n${idempotencyKey}`;
    const previous = this.#saves.get(lockKey);
    const run = (async () => {
      await previous?.catch(() => {});
      return await save();
    })();
    this.#saves.set(lockKey, run);
    try {
      return await run;
    } finally {
      if (this.#saves.get(lockKey) === run) this.#saves.delete(lockKey);
    }
  }

  /**
   * Records that the save with this key commits `checkpointId`, unless a
   * claim is there already (a conditional write).
   * @returns whether this call claimed the key
   */
  async claim(workerId: string, idempotencyKey: string, checkpointId: string): Promise<boolean> {
    const record: IdempotencyRecord = {
      checkpoint_id: checkpointId,
      replica: this.#options?.replicaId ?? "",
    };
    const key = idempotencyRecordKeyOf(workerId, idempotencyKey);
    return await this.#store.putIfAbsent(key, encodeRecord(record));
  }

  /**
   * Makes one checkpoint for the key, whichever replica each attempt reaches:
   * returns what the claim's save committed, waits for a live claim, takes a
   * dead one over, or claims the key and saves (see the module doc).
   * @throws {PulseError} UNAVAILABLE after `claimWaitMs` of waiting for a
   *   claim that stays alive; ABORTED when `signal` fires meanwhile
   */
  async saveOnce<T>(
    workerId: string,
    idempotencyKey: string,
    run: OnceSave<T>,
    signal: AbortSignal,
  ): Promise<T> {
    const options = this.#options!;
    const deadline = Date.now() + options.claimWaitMs;
    while (true) {
      const claimed = await this.find(workerId, idempotencyKey);
      if (claimed === undefined) {
        const result = await this.#claimAndSave(workerId, idempotencyKey, run, false);
        if (result !== LOST) return result;
        continue;
      }
      const committed = await run.committed(claimed);
      if (committed !== undefined) return committed;
      if (await options.holds.isAlive(claimed)) {
        await waitForClaim({ workerId, idempotencyKey, claimed, deadline, signal });
        continue;
      }
      // Committed between the first look and the lease's end?
      const late = await run.committed(claimed);
      if (late !== undefined) return late;
      const marker = idempotencyTakeoverKeyOf(workerId, idempotencyKey, claimed);
      const took = await this.#store.putIfAbsent(
        marker,
        encodeRecord({ replica: options.replicaId, at: new Date().toISOString() }),
      );
      if (!took) continue; // another replica took it over: wait on its claim
      log.info(TARGET, "Idempotency claim taken over: its save is gone", {
        worker_id: workerId,
        checkpoint_id: claimed,
      });
      const result = await this.#claimAndSave(workerId, idempotencyKey, run, true);
      if (result !== LOST) return result;
    }
  }

  // Opens the hold of a new checkpoint id, claims the key for it (replacing
  // a dead claim when `replace`), and saves; LOST when another claimed first.
  async #claimAndSave<T>(
    workerId: string,
    idempotencyKey: string,
    run: OnceSave<T>,
    replace: boolean,
  ): Promise<T | typeof LOST> {
    const options = this.#options!;
    const checkpointId = newCheckpointId();
    const hold = await options.holds.open(checkpointId, workerId);
    try {
      if (replace) {
        const record: IdempotencyRecord = {
          checkpoint_id: checkpointId,
          replica: options.replicaId,
        };
        await writeRecord(this.#store, idempotencyRecordKeyOf(workerId, idempotencyKey), record);
      } else if (!await this.claim(workerId, idempotencyKey, checkpointId)) {
        return LOST;
      }
      return await run.save(checkpointId, {
        cover: (sha256) => hold.cover(sha256),
        release: () => hold.release(),
        check: async (action) => {
          await hold.check(action);
          await this.assertClaimed(workerId, idempotencyKey, checkpointId);
        },
      });
    } finally {
      await hold.release();
    }
  }

  /**
   * Throws unless the key's record still names `checkpointId`: a replica
   * paused past its lease must not commit beside the one that took over.
   * @throws {PulseError} ABORTED
   */
  async assertClaimed(
    workerId: string,
    idempotencyKey: string,
    checkpointId: string,
  ): Promise<void> {
    const claimed = await this.find(workerId, idempotencyKey);
    if (claimed === checkpointId) return;
    throw new PulseError(
      "ABORTED",
      `Cannot save checkpoint: idempotency key ${
        JSON.stringify(idempotencyKey)
      } of worker ${workerId} was taken over by another save (this one's lease lapsed); nothing was committed`,
    );
  }

  /**
   * The checkpoint id a save with this key claimed; undefined if none did.
   * @throws {PulseError} DATA_LOSS naming the key of a damaged record
   */
  async find(workerId: string, idempotencyKey: string): Promise<string | undefined> {
    const key = idempotencyRecordKeyOf(workerId, idempotencyKey);
    return (await readRecord(this.#store, key, IDEMPOTENCY_RECORD))?.checkpoint_id;
  }

  /**
   * Forgets a key's claim if it still names `checkpointId`, so that a later
   * save with the key makes a new checkpoint. A claim that names another
   * checkpoint (a retry's, made once `checkpointId` was gone) is kept: that
   * checkpoint is what the key means now. Run it `serialized` with the saves
   * of the key, so that no save of this process claims the key between the
   * check and the deletion.
   * @returns whether the claim was deleted
   */
  async delete(workerId: string, idempotencyKey: string, checkpointId: string): Promise<boolean> {
    if (await this.find(workerId, idempotencyKey) !== checkpointId) return false;
    await this.#store.delete(idempotencyRecordKeyOf(workerId, idempotencyKey));
    return true;
  }
}

// What `#claimAndSave` answers when another save claimed the key first.
const LOST: unique symbol = Symbol("lost");

// Waits a poll interval for a claim another save holds.
async function waitForClaim(wait: {
  workerId: string;
  idempotencyKey: string;
  claimed: string;
  deadline: number;
  signal: AbortSignal;
}): Promise<void> {
  if (Date.now() + IDEMPOTENCY_CLAIM_POLL_MS > wait.deadline) {
    throw new PulseError(
      "UNAVAILABLE",
      `Cannot save checkpoint: a save with idempotency key ${
        JSON.stringify(wait.idempotencyKey)
      } of worker ${wait.workerId} (checkpoint ${wait.claimed}) is still in progress on another replica; retry later`,
    );
  }
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(
        new PulseError(
          "ABORTED",
          "Cannot save checkpoint: the client cancelled the call before it completed",
        ),
      );
    };
    const timer = setTimeout(() => {
      wait.signal.removeEventListener("abort", onAbort);
      resolve();
    }, IDEMPOTENCY_CLAIM_POLL_MS);
    if (wait.signal.aborted) onAbort();
    else wait.signal.addEventListener("abort", onAbort, { once: true });
  });
}
