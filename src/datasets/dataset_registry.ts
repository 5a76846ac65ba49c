/**
 * The dataset registry: named URIs with metadata, one record per dataset in
 * the store (`datasets/<name>.json`), read from the store on every request.
 */
import { PulseError } from "../errors.ts";
import { datasetKeyOf, DATASETS_PREFIX } from "../keys.ts";
import { DATASET_PATH_LENGTH_MAX } from "../limits.ts";
import {
  fieldsProblem,
  listRecords,
  readRecord,
  type RecordShape,
  writeRecord,
} from "../storage/records.ts";
import type { ObjectStore } from "../storage/store.ts";
import { type Metadata, validateId, validateMetadata, validateText } from "../validation.ts";

/** A dataset as clients see it. */
export interface Dataset {
  name: string;
  path: string;
  metadata: Metadata;
  registeredAt: Date;
}

interface DatasetRecord {
  name: string;
  path: string;
  metadata: Metadata;
  registered_at: string;
}

const DATASET_RECORD: RecordShape<DatasetRecord> = {
  name: "dataset record",
  problem: (value) =>
    fieldsProblem(value, {
      name: "string",
      path: "string",
      metadata: "object",
      registered_at: "date",
    }),
};

/** Registers and lists datasets. */
export class DatasetRegistry {
  #store: ObjectStore;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /**
   * Registers a dataset, or replaces the metadata of a registered one (and
   * its path, when `options.mayMove`: an admin's call).
   * @throws {PulseError} ALREADY_EXISTS when the dataset is registered with
   *   another path and the caller may not move it
   */
  async register(
    name: string,
    path: string,
    metadata: Metadata,
    options: { mayMove: boolean } = { mayMove: true },
  ): Promise<Dataset> {
    validateId("register dataset", "name", name);
    if (path.length === 0) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        "Cannot register dataset: path is empty",
      );
    }
    validateText("register dataset", "path", path, DATASET_PATH_LENGTH_MAX);
    validateMetadata("register dataset", "metadata", metadata);
    const existing = await this.#read(name);
    if (existing !== undefined && existing.path !== path && !options.mayMove) {
      throw new PulseError(
        "ALREADY_EXISTS",
        `Cannot register dataset: dataset ${name} is registered with path ${existing.path}; only an admin token may give it another`,
      );
    }
    const record: DatasetRecord = {
      name,
      path,
      metadata,
      registered_at: existing?.registered_at ?? new Date().toISOString(),
    };
    await writeRecord(this.#store, datasetKeyOf(name), record);
    return toDataset(record);
  }

  /** Returns a dataset. */
  async get(name: string): Promise<Dataset> {
    validateId("get dataset", "name", name);
    const record = await this.#read(name);
    if (record === undefined) {
      throw new PulseError(
        "NOT_FOUND",
        `Cannot get dataset: dataset ${name} is not registered`,
      );
    }
    return toDataset(record);
  }

  /** Lists datasets by name, a page at a time. */
  async list(
    requestedPageSize: number,
    pageToken: string,
  ): Promise<{ datasets: Dataset[]; nextPageToken: string }> {
    const page = await listRecords(this.#store, DATASET_RECORD, {
      action: "list datasets",
      prefix: DATASETS_PREFIX,
      pageSize: requestedPageSize,
      pageToken,
    });
    return { datasets: page.records.map(toDataset), nextPageToken: page.nextPageToken };
  }

  #read(name: string): Promise<DatasetRecord | undefined> {
    return readRecord(this.#store, datasetKeyOf(name), DATASET_RECORD);
  }
}

function toDataset(record: DatasetRecord): Dataset {
  return {
    name: record.name,
    path: record.path,
    metadata: record.metadata,
    registeredAt: new Date(record.registered_at),
  };
}
