import { createHash } from "node:crypto";
import { hashBytes, hashDirectory, ValidationError } from "../../mod.ts";
import { hashFile, hashStream } from "../../src/storage/hash.ts";
import { assertEquals, assertRejects, tempDir, writeRandomFile } from "../_helpers.ts";

Deno.test("hashBytes() matches the API's vectors", () => {
  assertEquals(hashBytes(new TextEncoder().encode("a")), "DMF1ucDxtqgxw5niaXcmYQ");
  assertEquals(hashBytes(new Uint8Array()), "1B2M2Y8AsgTpgAmY7PhCfg");
});

Deno.test("hashFile() and hashStream() agree with a one-shot md5 on a multi-chunk file", async () => {
  const dir = await tempDir();
  const path = `${dir}/f.bin`;
  await writeRandomFile(path, 9 * 1024 * 1024 + 17, 7);
  const bytes = await Deno.readFile(path);
  const want = createHash("md5").update(bytes).digest("base64url");
  assertEquals(want.length, 22);
  assertEquals(await hashFile(path), { size: bytes.length, hash: want });
  assertEquals(await hashStream((await Deno.open(path)).readable), {
    size: bytes.length,
    hash: want,
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("hashDirectory() follows the documented rule and depends on names and order-free", () => {
  const entries = [{ path: "b/1", hash: "x" }, { path: "a", hash: "y" }];
  const want = createHash("md5").update("lamindeno-dir-v1\na\ty\nb/1\tx\n").digest("base64url");
  assertEquals(hashDirectory(entries), want);
  assertEquals(hashDirectory([...entries].reverse()), want);
  const renamed = hashDirectory([{ path: "b/2", hash: "x" }, { path: "a", hash: "y" }]);
  assertEquals(renamed === want, false);
  assertEquals(hashDirectory([]) === hashBytes(new Uint8Array()), false);
});

Deno.test("hashBytes() and hashDirectory() refuse what is not bytes or entries with a ValidationError", async () => {
  for (const v of [null, undefined, "abc", new ArrayBuffer(2), [1, 2], 5]) {
    await assertRejects(
      () => hashBytes(v as never),
      ValidationError,
      /hashBytes\(data\): data is a Uint8Array/,
    );
  }
  for (const v of [null, undefined, 5, "ab", {}]) {
    await assertRejects(() => hashDirectory(v as never), ValidationError, /entries is an array/);
  }
  for (const v of [[null], [{ path: 1, hash: "h" }], [{ path: "a" }]]) {
    await assertRejects(() => hashDirectory(v as never), ValidationError, /entries\[0\]/);
  }
});
