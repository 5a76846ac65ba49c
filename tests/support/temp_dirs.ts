/**
 * Temporary directories and files for tests that are removed when the test
 * process exits, however the test ended: for paths a test cannot remove
 * itself in a `finally` (a runtime started again on a stopped one's
 * directory, a working directory made in a helper for every call).
 */

const paths = new Set<string>();
globalThis.addEventListener("unload", () => {
  for (const path of paths) {
    try {
      Deno.removeSync(path, { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
});

/** A new directory in the system temporary directory, removed at exit. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  paths.add(dir);
  return dir;
}

/** A new empty file in the system temporary directory, removed at exit. */
export function tempFileSync(prefix: string): string {
  const path = Deno.makeTempFileSync({ prefix });
  paths.add(path);
  return path;
}
