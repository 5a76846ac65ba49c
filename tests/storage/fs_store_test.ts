/**
 * Runs the store contract against the embedded fs store, each case in a fresh
 * temporary directory.
 */
import { FsStore } from "../../src/storage/fs_store.ts";
import { storeContract } from "./store_contract.ts";

storeContract("FsStore", async () => {
  const root = await Deno.makeTempDir({ prefix: "pulse-fs-store-" });
  const store = await FsStore.open(root);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await Deno.remove(root, { recursive: true });
    },
  };
});
