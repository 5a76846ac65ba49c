/**
 * Runs the store contract against the embedded fs store, each case in a fresh
 * temporary directory, with the durability cases over a fault-injecting file
 * layer.
 */
import { FsStore } from "../../src/storage/fs_store.ts";
import { storeContract } from "./store_contract.ts";

async function makeRoot() {
  const root = await Deno.makeTempDir({ prefix: "pulse-fs-store-" });
  return { root, cleanup: () => Deno.remove(root, { recursive: true }) };
}

storeContract("FsStore", async () => {
  const { root, cleanup } = await makeRoot();
  const store = await FsStore.open(root);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await cleanup();
    },
  };
}, {
  files: { makeRoot, open: (root, files) => FsStore.open(root, { files }) },
});
