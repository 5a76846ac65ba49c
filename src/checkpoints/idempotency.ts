/**
 * Idempotent saves: a save repeated with the same (worker id, idempotency
 * key) returns the checkpoint of the first instead of making a second.
 *
 * A save claims its key in the store (the idempotency record, naming the
 * checkpoint id it will commit) before it writes any byte; a retry finds the
 * claim and that checkpoint's manifest, or, after a crash, the claim without
 * a manifest, and saves anew. Saves with one key in this process run one
 * after the other, so that each later one sees what the first committed.
 */
import { idempotencyRecordKeyOf } from "../keys.ts";
import { fieldsProblem, readRecord, type RecordShape, writeRecord } from "../storage/records.ts";
import type { ObjectStore } from "../storage/store.ts";
import { isCheckpointId } from "./checkpoint_id.ts";

/** What the store holds for a claimed idempotency key. */
interface IdempotencyRecord {
  checkpoint_id: string;
}

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
  // The last save queued per key, so that the next one waits for it.
  readonly #saves = new Map<string, Promise<unknown>>();

  constructor(store: ObjectStore) {
    this.#store = store;
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

  /** Records that the save with this key commits `checkpointId`. */
  async claim(workerId: string, idempotencyKey: string, checkpointId: string): Promise<void> {
    const record: IdempotencyRecord = { checkpoint_id: checkpointId };
    await writeRecord(this.#store, idempotencyRecordKeyOf(workerId, idempotencyKey), record);
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
