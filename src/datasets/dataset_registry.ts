/**
 * The dataset registry: named URIs with metadata, one record per dataset in
 * the store (`datasets/<name>.json`), read from the store on every request.
 */
import { PulseError } from "../errors.ts";
import { datasetKeyOf, DATASETS_PREFIX } from "../keys.ts";
import { DATASET_PATH_LENGTH_MAX } from "../limits.ts";
import type { ObjectStore } from "../storage/store.ts";
import {
  decodePageToken,
  encodePageToken,
  type Metadata,
  pageSize,
  validateId,
  validateMetadata,
  validateText,
} from "../validation.ts";

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

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Registers and lists datasets. */
export class DatasetRegistry {
  #store: ObjectStore;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /** Registers a dataset, or replaces the path and metadata of a registered one. */
  async register(
    name: string,
    path: string,
    metadata: Metadata,
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
    const record: DatasetRecord = {
      name,
      path,
      metadata,
      registered_at: existing?.registered_at ?? new Date().toISOString(),
    };
    await this.#store.put(datasetKeyOf(name), encoder.encode(JSON.stringify(record)));
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
    const size = pageSize("list datasets", requestedPageSize);
    const startAfter = decodePageToken("list datasets", pageToken, DATASETS_PREFIX);
    // One key more than the page tells whether there is a next page.
    const infos = await this.#store.list(DATASETS_PREFIX, {
      startAfter,
      limit: size + 1,
    });
    const page = infos.slice(0, size);
    const records = await Promise.all(
      page.map((info) => this.#readKey(info.key)),
    );
    return {
      datasets: records.filter((r) => r !== undefined).map(toDataset),
      nextPageToken: infos.length > size ? encodePageToken(page[page.length - 1]!.key) : "",
    };
  }

  #read(name: string): Promise<DatasetRecord | undefined> {
    return this.#readKey(datasetKeyOf(name));
  }

  async #readKey(key: string): Promise<DatasetRecord | undefined> {
    const bytes = await this.#store.get(key);
    return bytes === undefined ? undefined : JSON.parse(decoder.decode(bytes)) as DatasetRecord;
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
