/**
 * The embedded store: objects are files under a root directory, one per key.
 *
 * Writes go to a temporary file in `<root>/.tmp/`, are fsynced, then renamed
 * (put) or hard-linked (putIfAbsent, which fails if the key exists) into
 * place, and the directory is fsynced: an object is either absent or whole,
 * whenever the process dies. A directory the store creates is made durable
 * too, by an fsync of its parent, and so is every deletion, by an fsync of
 * the directory it was in. All file I/O goes through a `StoreFiles` layer
 * (`fs_files.ts`), the real one unless a test gives another.
 *
 * One store serves one process: an open store holds the lock of its root
 * (`directory_lock.ts`), and a second process cannot open it meanwhile.
 */
import { dirname, join } from "node:path";
import { PulseError } from "../errors.ts";
import { DirectoryLock, LOCK_FILE } from "./directory_lock.ts";
import { DENO_FILES, type StoreFiles } from "./fs_files.ts";
import { LIST_KEYS_MAX } from "./store.ts";
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from "./store.ts";

const TMP_DIR = ".tmp";

/** Options of `FsStore.open`. */
export interface FsStoreOptions {
  /** The file layer; the real file system by default. */
  files?: StoreFiles;
}

/** An `ObjectStore` on the local filesystem. */
export class FsStore implements ObjectStore {
  readonly description: string;
  readonly #root: string;
  readonly #files: StoreFiles;
  readonly #lock: DirectoryLock | undefined;
  #tmpCounter = 0;
  // Directories being created, so that a put into one waits until it is durable.
  readonly #creating = new Map<string, Promise<void>>();
  // putIfAbsent calls in progress by key, so that false means durable.
  readonly #claiming = new Map<string, Promise<boolean>>();

  private constructor(root: string, files: StoreFiles, lock?: DirectoryLock) {
    this.#root = root;
    this.#files = files;
    this.#lock = lock;
    this.description = `fs:${root}`;
  }

  /**
   * Opens the store at `root`, creating it, takes its lock, and removes
   * temporary files a crash left.
   * @throws {PulseError} FAILED_PRECONDITION naming the other process when
   *   one has the store open
   */
  static async open(root: string, options: FsStoreOptions = {}): Promise<FsStore> {
    const files = options.files ?? DENO_FILES;
    await new FsStore(root, files).#ensureDirectory(root);
    // Locked before anything is touched: the temporary files may be another
    // process's writes in progress.
    const lock = await DirectoryLock.acquire(root);
    try {
      await files.remove(join(root, TMP_DIR), { recursive: true }).catch(ignoreNotFound);
      await files.mkdir(join(root, TMP_DIR));
      return new FsStore(await files.realPath(root), files, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const tmp = await this.#writeTemporary(key, data);
    try {
      const path = this.#path(key);
      await this.#ensureDirectory(dirname(path));
      await this.#files.rename(tmp, path);
      await this.#files.syncDirectory(dirname(path));
    } catch (error) {
      await this.#files.remove(tmp).catch(ignoreNotFound);
      throw this.#outOfSpace(key, error);
    }
  }

  putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    // A key being written by another call is not there yet until that call
    // made it durable: wait for it, then it is there.
    const pending = this.#claiming.get(key);
    if (pending !== undefined) return pending.then(() => false, () => this.putIfAbsent(key, data));
    const claim = this.#putIfAbsent(key, data).finally(() => this.#claiming.delete(key));
    this.#claiming.set(key, claim);
    return claim;
  }

  async #putIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const path = this.#path(key);
    if (await this.#exists(path)) return false;
    const tmp = await this.#writeTemporary(key, data);
    try {
      await this.#ensureDirectory(dirname(path));
      await this.#files.link(tmp, path);
      await this.#files.syncDirectory(dirname(path));
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return false;
      throw this.#outOfSpace(key, error);
    } finally {
      await this.#files.remove(tmp);
    }
    return true;
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    let file;
    try {
      file = await this.#files.open(this.#path(key), { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    using _ = file;
    const size = (await file.stat()).size;
    const offset = Math.min(range?.offset ?? 0, size);
    const length = Math.min(range?.length ?? size, size - offset);
    const bytes = new Uint8Array(length);
    await file.seek(offset, Deno.SeekMode.Start);
    let read = 0;
    while (read < length) {
      const n = await file.read(bytes.subarray(read));
      if (n === null) break;
      read += n;
    }
    return read === length ? bytes : bytes.subarray(0, read);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const stat = await this.#files.stat(this.#path(key));
      return { key, size: stat.size, lastModified: stat.mtime ?? new Date(0) };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
    const limit = Math.min(options.limit ?? LIST_KEYS_MAX, LIST_KEYS_MAX);
    // Walk the deepest directory the prefix names; filter the rest by key.
    const directory = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    const keys: string[] = [];
    await this.#walk(directory, (key) => {
      if (
        key.startsWith(prefix) &&
        (options.startAfter === undefined || key > options.startAfter)
      ) {
        keys.push(key);
      }
    });
    keys.sort();
    const infos: ObjectInfo[] = [];
    for (const key of keys.slice(0, limit)) {
      const info = await this.head(key);
      if (info) infos.push(info); // deleted since the walk
    }
    return infos;
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await this.#files.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    // Synced even when the file was gone: an earlier call may have removed
    // it and failed before its sync.
    await this.#files.syncDirectory(dirname(path)).catch(ignoreNotFound);
  }

  /** Releases the store's lock; the store must not be used after. */
  close(): Promise<void> {
    this.#lock?.release();
    return Promise.resolve();
  }

  #path(key: string): string {
    return join(this.#root, ...key.split("/"));
  }

  async #exists(path: string): Promise<boolean> {
    try {
      await this.#files.lstat(path);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  // Creates `directory` and the parents it lacks, each made durable by an
  // fsync of its parent before this resolves.
  #ensureDirectory(directory: string): Promise<void> {
    const pending = this.#creating.get(directory);
    if (pending !== undefined) return pending;
    const creation = this.#createDirectory(directory).finally(() =>
      this.#creating.delete(directory)
    );
    this.#creating.set(directory, creation);
    return creation;
  }

  async #createDirectory(directory: string): Promise<void> {
    try {
      await this.#files.mkdir(directory);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return;
      if (!(error instanceof Deno.errors.NotFound) || dirname(directory) === directory) throw error;
      await this.#ensureDirectory(dirname(directory));
      try {
        await this.#files.mkdir(directory);
      } catch (again) {
        if (again instanceof Deno.errors.AlreadyExists) return;
        throw again;
      }
    }
    await this.#files.syncDirectory(dirname(directory));
  }

  // Writes `data` (to become `key`) to a new temporary file and fsyncs it; a
  // file that could not be written whole is removed.
  async #writeTemporary(key: string, data: Uint8Array): Promise<string> {
    const path = join(this.#root, TMP_DIR, `${Deno.pid}-${++this.#tmpCounter}`);
    using file = await this.#files.open(path, { write: true, createNew: true });
    try {
      let written = 0;
      while (written < data.length) {
        written += await file.write(data.subarray(written));
      }
      await file.sync();
    } catch (error) {
      await this.#files.remove(path);
      throw this.#outOfSpace(key, error);
    }
    return path;
  }

  // A full disk (ENOSPC, EDQUOT) is the operator's to fix, not a bug: it
  // becomes RESOURCE_EXHAUSTED naming the store. Other errors pass as they are.
  #outOfSpace(key: string, error: unknown): unknown {
    const code = (error as { code?: unknown }).code;
    if (code !== "ENOSPC" && code !== "EDQUOT") return error;
    return new PulseError(
      "RESOURCE_EXHAUSTED",
      `Cannot write ${key}: the disk of ${this.description} is full (${(error as Error).message})`,
    );
  }

  async #walk(directory: string, visit: (key: string) => void): Promise<void> {
    try {
      const entries = this.#files.readDir(join(this.#root, ...directory.split("/")));
      for await (const entry of entries) {
        if (directory === "" && (entry.name === TMP_DIR || entry.name === LOCK_FILE)) continue;
        const key = directory === "" ? entry.name : `${directory}/${entry.name}`;
        if (entry.isDirectory) await this.#walk(key, visit);
        else if (entry.isFile) visit(key);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}
