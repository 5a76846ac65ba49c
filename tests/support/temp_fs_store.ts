/** An fs store in a fresh temporary directory, for unit tests: disposing of it closes it and removes the directory. */
import { FsStore } from "../../src/storage/fs_store.ts";

/** An open fs store, the directory it lives in, and its disposal. */
export interface TempFsStore extends AsyncDisposable {
  store: FsStore;
  dir: string;
}

/** Opens an fs store in a new temporary directory named with `prefix`. */
export async function tempFsStore(prefix: string): Promise<TempFsStore> {
  const dir = await Deno.makeTempDir({ prefix });
  const store = await FsStore.open(dir);
  return {
    store,
    dir,
    [Symbol.asyncDispose]: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
