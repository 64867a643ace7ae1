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
