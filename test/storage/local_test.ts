import { InvalidKeyError, LocalStorage, ValidationError } from "../../mod.ts";
import { assertRejects, tempDir } from "../_helpers.ts";
import { storageContract } from "./contract.ts";

storageContract("LocalStorage", async () => {
  const dir = await tempDir();
  return {
    store: new LocalStorage(dir),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

Deno.test("LocalStorage refuses keys that escape the root", async () => {
  const dir = await tempDir();
  const s = new LocalStorage(dir);
  await assertRejects(() => s.put("../evil", new Uint8Array(1)), InvalidKeyError);
  await assertRejects(() => s.get("/etc/passwd"), InvalidKeyError);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("new LocalStorage() refuses a root that is not a non-empty path string", async () => {
  for (const root of [null, undefined, 5, {}, "", "a\0b"]) {
    await assertRejects(
      () => new LocalStorage(root as never),
      ValidationError,
      /root is a folder path/,
    );
  }
});

Deno.test("LocalStorage: a put whose folder another writer's delete removes meanwhile still lands", async () => {
  // (From a stress of several writers: delete() removes the folders it leaves empty, and a
  // save of d/x.csv failed with "could not move d/x.csv into place: ENOENT" when d/ went
  // between its mkdir and its link.)
  const dir = await tempDir();
  const a = new LocalStorage(dir);
  const b = new LocalStorage(dir);
  try {
    const one = new Uint8Array([1]);
    const churn = async (s: LocalStorage, key: string) => {
      for (let i = 0; i < 400; i++) {
        await s.put(key, one, { overwrite: i % 2 === 0 });
        await s.delete(key);
      }
    };
    await Promise.all([churn(a, "d/x"), churn(b, "d/y"), churn(a, "d/e/z"), churn(b, "d/e/w")]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
