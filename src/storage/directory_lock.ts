/**
 * One fs store serves one runtime: while a store is open, its process holds
 * an exclusive `flock` on `<root>/.lock`, which names the holder (its pid and
 * when it took the lock). A second process that opens the same directory is
 * refused with a message naming the first. The kernel releases the lock when
 * the holder exits, however it exits (`kill -9` included), so a stale lock
 * file never keeps a runtime from starting: only a live holder does.
 */
import { join } from "node:path";
import { PulseError } from "../errors.ts";

/** The name of the lock file in a store's root; no key can reach it. */
export const LOCK_FILE = ".lock";

/** What the lock file says of its holder. */
interface Holder {
  pid: number;
  since: string;
}

/** An exclusive lock on a directory, held until `release()`. */
export class DirectoryLock {
  readonly #file: Deno.FsFile;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /**
   * Takes the lock of `directory` (which must exist), without waiting.
   * @param shownAs how messages name the directory: as the operator configured it
   * @throws {PulseError} FAILED_PRECONDITION naming the holder when another process holds it
   */
  static async acquire(directory: string, shownAs = directory): Promise<DirectoryLock> {
    const file = await Deno.open(join(directory, LOCK_FILE), {
      read: true,
      write: true,
      create: true,
    });
    try {
      if (!await file.tryLock(true)) {
        throw new PulseError(
          "FAILED_PRECONDITION",
          `the data directory ${shownAs} is in use by another runtime (${await holderOf(
            file,
          )}); one fs store serves one runtime`,
        );
      }
      // Truncated only once locked: a refused process must leave the holder's word as it is.
      await file.truncate(0);
      const holder: Holder = { pid: Deno.pid, since: new Date().toISOString() };
      await writeAll(file, new TextEncoder().encode(`${JSON.stringify(holder)}\n`));
      await file.sync();
    } catch (error) {
      file.close();
      throw error;
    }
    return new DirectoryLock(file);
  }

  /** Gives the lock back (closing the file releases it). */
  release(): void {
    this.#file.close();
  }
}

// The holder as the lock file names it, e.g. `pid 1234, since 2026-...`.
async function holderOf(file: Deno.FsFile): Promise<string> {
  try {
    await file.seek(0, Deno.SeekMode.Start);
    const bytes = new Uint8Array(1024);
    const n = await file.read(bytes) ?? 0;
    const holder = JSON.parse(new TextDecoder().decode(bytes.subarray(0, n))) as Holder;
    if (Number.isSafeInteger(holder.pid) && typeof holder.since === "string") {
      return `pid ${holder.pid}, since ${holder.since}`;
    }
  } catch {
    // Being written by its holder at this very moment, or not ours: say so below.
  }
  return "pid unknown: its lock file names none";
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await file.write(bytes.subarray(written));
  }
}
