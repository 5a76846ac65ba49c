/**
 * A fault-injecting file layer for stores on local files: it passes every
 * operation to the real file system, records each one (writes, file and
 * directory syncs, renames, links, directories made, removals) in order, and
 * on request cuts the bytes written short at a chosen point, either with
 * ENOSPC (the disk is full: the call fails, the process lives on) or with a
 * crash (the call fails and so does every later operation, as if the process
 * had died; the bytes written so far stay on disk).
 */
import { DENO_FILES, type StoreFile, type StoreFiles } from "../../src/storage/fs_files.ts";

/** One recorded operation; `path` is a file's for writes and syncs. */
export interface FileOperation {
  op: "write" | "sync" | "syncDirectory" | "rename" | "link" | "mkdir" | "remove";
  path: string;
  /** The destination of a rename or link. */
  to?: string;
}

/** How the bytes written are cut: after `afterBytes` more, with a full disk or a crash. */
export interface WriteCut {
  afterBytes: number;
  how: "ENOSPC" | "crash";
}

/** The error of an operation after (or at) a simulated crash. */
export class CrashError extends Error {
  constructor() {
    super("injected crash: the process is gone");
    this.name = "CrashError";
  }
}

/** The real file system, recorded, with writes cut on request. */
export class FaultyFiles implements StoreFiles {
  readonly operations: FileOperation[] = [];
  #cut: { left: number; how: WriteCut["how"] } | undefined;
  #crashed = false;

  /** Cuts the bytes written from now on after `cut.afterBytes`. */
  cutWrites(cut: WriteCut): void {
    this.#cut = { left: cut.afterBytes, how: cut.how };
  }

  /** Whether a crash was simulated. */
  get crashed(): boolean {
    return this.#crashed;
  }

  async open(path: string, options: Deno.OpenOptions): Promise<StoreFile> {
    this.#alive();
    const file = await DENO_FILES.open(path, options);
    return {
      write: (bytes) => this.#write(file, path, bytes),
      read: (into) => file.read(into),
      seek: (offset, whence) => file.seek(offset, whence),
      stat: () => file.stat(),
      sync: async () => {
        this.#alive();
        this.operations.push({ op: "sync", path });
        await file.sync();
      },
      [Symbol.dispose]: () => file[Symbol.dispose](),
    };
  }

  async mkdir(path: string, options?: Deno.MkdirOptions): Promise<void> {
    this.#alive();
    await DENO_FILES.mkdir(path, options);
    this.operations.push({ op: "mkdir", path });
  }

  async rename(from: string, to: string): Promise<void> {
    this.#alive();
    await DENO_FILES.rename(from, to);
    this.operations.push({ op: "rename", path: from, to });
  }

  async link(from: string, to: string): Promise<void> {
    this.#alive();
    await DENO_FILES.link(from, to);
    this.operations.push({ op: "link", path: from, to });
  }

  async remove(path: string, options?: Deno.RemoveOptions): Promise<void> {
    this.#alive();
    await DENO_FILES.remove(path, options);
    this.operations.push({ op: "remove", path });
  }

  stat(path: string): Promise<Deno.FileInfo> {
    this.#alive();
    return DENO_FILES.stat(path);
  }

  lstat(path: string): Promise<Deno.FileInfo> {
    this.#alive();
    return DENO_FILES.lstat(path);
  }

  readDir(path: string): AsyncIterable<Deno.DirEntry> {
    this.#alive();
    return DENO_FILES.readDir(path);
  }

  realPath(path: string): Promise<string> {
    this.#alive();
    return DENO_FILES.realPath(path);
  }

  async syncDirectory(path: string): Promise<void> {
    this.#alive();
    await DENO_FILES.syncDirectory(path);
    this.operations.push({ op: "syncDirectory", path });
  }

  // Writes what the cut allows for real, then fails as it says.
  async #write(file: StoreFile, path: string, bytes: Uint8Array): Promise<number> {
    this.#alive();
    const cut = this.#cut;
    if (cut === undefined || bytes.length <= cut.left) {
      if (cut !== undefined) cut.left -= bytes.length;
      const n = await file.write(bytes);
      this.operations.push({ op: "write", path });
      return n;
    }
    for (let written = 0; written < cut.left;) {
      written += await file.write(bytes.subarray(written, cut.left));
    }
    this.#cut = undefined;
    if (cut.how === "crash") {
      this.#crashed = true;
      throw new CrashError();
    }
    throw Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
  }

  #alive(): void {
    if (this.#crashed) throw new CrashError();
  }
}
