/**
 * The file operations the fs store is built on, as one small interface: the
 * store does all its file I/O through it, so that a test can put a layer
 * underneath that records every sync and cuts or fails writes at any step
 * (`tests/storage/store_contract.ts`). `DENO_FILES` is the real one.
 */

/** An open file, as the fs store uses it (`Deno.FsFile` is one). */
export interface StoreFile extends Disposable {
  /** Writes some of `bytes`; returns how many. */
  write(bytes: Uint8Array): Promise<number>;
  /** Reads into `into`; returns how many bytes, or null at the end. */
  read(into: Uint8Array): Promise<number | null>;
  seek(offset: number, whence: Deno.SeekMode): Promise<number>;
  stat(): Promise<Deno.FileInfo>;
  /** Makes the file's bytes durable (fsync). */
  sync(): Promise<void>;
}

/** The file system operations of the fs store; errors are Deno's (`Deno.errors.*`). */
export interface StoreFiles {
  open(path: string, options: Deno.OpenOptions): Promise<StoreFile>;
  /** Creates a directory; its parent must exist unless `options.recursive`. */
  mkdir(path: string, options?: Deno.MkdirOptions): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Makes a hard link; fails with `AlreadyExists` if `to` exists. */
  link(from: string, to: string): Promise<void>;
  remove(path: string, options?: Deno.RemoveOptions): Promise<void>;
  stat(path: string): Promise<Deno.FileInfo>;
  lstat(path: string): Promise<Deno.FileInfo>;
  readDir(path: string): AsyncIterable<Deno.DirEntry>;
  realPath(path: string): Promise<string>;
  /** Makes the entries of a directory durable: those created, renamed in, linked or removed. */
  syncDirectory(path: string): Promise<void>;
}

/** The real file system, through Deno. */
export const DENO_FILES: StoreFiles = {
  open: (path, options) => Deno.open(path, options),
  mkdir: (path, options) => Deno.mkdir(path, options),
  rename: (from, to) => Deno.rename(from, to),
  link: (from, to) => Deno.link(from, to),
  remove: (path, options) => Deno.remove(path, options),
  stat: (path) => Deno.stat(path),
  lstat: (path) => Deno.lstat(path),
  readDir: (path) => Deno.readDir(path),
  realPath: (path) => Deno.realPath(path),
  async syncDirectory(path) {
    using directory = await Deno.open(path, { read: true });
    await directory.sync();
  },
};
