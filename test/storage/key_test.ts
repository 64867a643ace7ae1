import {
  InvalidKeyError,
  objectKey,
  parseS3Uri,
  suffixOf,
  validateKey,
  ValidationError,
} from "../../mod.ts";
import { validateUserKey } from "../../src/storage/key.ts";
import { assertEquals, assertRejects } from "../_helpers.ts";

Deno.test("validateKey() accepts relative POSIX paths", () => {
  for (const k of ["a", "a/b.csv", ".hidden/x", "a b/c-d_e.tar.gz", "ü/数据.h5ad"]) {
    assertEquals(validateKey(k), k);
  }
});

Deno.test("validateKey() refuses '..', absolute paths, backslashes, NUL and empty segments", async () => {
  const bad: [unknown, RegExp][] = [
    ["../x", /'\.\.' segment/],
    ["a/../b", /'\.\.' segment/],
    ["a/./b", /'\.' segment/],
    ["/etc/passwd", /absolute/],
    ["a\\b", /backslash/],
    ["a\0b", /NUL/],
    ["a//b", /empty path segment/],
    ["a/", /empty path segment/],
    ["", /empty/],
    [42, /expected a string/],
  ];
  for (const [k, re] of bad) await assertRejects(() => validateKey(k), InvalidKeyError, re);
});

Deno.test("validateUserKey() refuses keys in the managed .lamindb/ folder", async () => {
  await assertRejects(() => validateUserKey(".lamindb/x.csv"), InvalidKeyError, /managed/);
  await assertRejects(() => validateUserKey(".lamindb"), InvalidKeyError, /managed/);
  assertEquals(validateUserKey(".lamindbx/y"), ".lamindbx/y");
});

Deno.test("validateUserKey() refuses names over 255 bytes and keys over 1,024 bytes", async () => {
  // Were a StorageError "ENAMETOOLONG: name too long, lstat ..." at save() on local disk.
  const long = "é".repeat(128); // 256 bytes in UTF-8
  await assertRejects(() => validateUserKey(`a/${long}.txt`), InvalidKeyError, /255 bytes/);
  await assertRejects(
    () => validateUserKey(`${"a/".repeat(512)}b`),
    InvalidKeyError,
    /1,024 bytes/,
  );
  assertEquals(validateUserKey("é".repeat(127)), "é".repeat(127));
  const deep = `${"abcdefgh/".repeat(113)}x.txt`; // 1,022 bytes
  assertEquals(validateUserKey(deep), deep);
  // Not refused for keys read (an in-place file may sit deeper than an S3 key may be long).
  assertEquals(validateKey(`${"a/".repeat(512)}b`), `${"a/".repeat(512)}b`);
});

Deno.test("suffixOf() keeps compound suffixes whole", () => {
  const cases: [string, string][] = [
    ["a.tar.gz", ".tar.gz"],
    ["reads.fastq.gz", ".fastq.gz"],
    ["calls.vcf.gz", ".vcf.gz"],
    ["my.data.csv", ".csv"],
    ["x.h5ad", ".h5ad"],
    ["dir/store.zarr", ".zarr"],
    ["README", ""],
    [".bashrc", ""],
    ["archive.gz", ".gz"],
    ["a.b.c.d.e", ".e"],
    ["sample.v1.2.tar.gz", ".tar.gz"],
  ];
  for (const [name, want] of cases) assertEquals(suffixOf(name), want, name);
});

Deno.test("validateKey() refuses a bigint with an InvalidKeyError, not a JSON TypeError", async () => {
  await assertRejects(() => validateKey(1n), InvalidKeyError, /expected a string, got bigint/);
  await assertRejects(() => validateKey(Symbol("s")), InvalidKeyError, /got symbol/);
});

Deno.test("suffixOf() refuses a name that is not a string", async () => {
  for (const v of [null, undefined, 5, ["a.csv"], {}]) {
    await assertRejects(() => suffixOf(v as never), ValidationError, /suffixOf\(name\)/);
  }
});

Deno.test("objectKey() refuses a non-record and never returns a key outside the root", async () => {
  for (const v of [null, undefined, 5, "a.csv"]) {
    await assertRejects(() => objectKey(v as never), ValidationError, /objectKey\(file\)/);
  }
  await assertRejects(
    () => objectKey({ key: "../../etc/passwd", id: "x", suffix: "" }),
    InvalidKeyError,
    /'\.\.' segment/,
  );
  await assertRejects(
    () => objectKey({ key: null, id: "../../x", suffix: "" }),
    ValidationError,
    /file\.id/,
  );
  await assertRejects(
    () => objectKey({ key: null, id: "abc", suffix: "/../../y" }),
    ValidationError,
    /file\.suffix/,
  );
  await assertRejects(() => objectKey({ key: 5, id: "x", suffix: "" } as never), ValidationError);
  assertEquals(objectKey({ key: "raw/a.csv", id: "x", suffix: ".csv" }), "raw/a.csv");
  assertEquals(
    objectKey({ key: "raw/a.csv", id: "abc", suffix: ".csv", key_is_virtual: 1 }),
    ".lamindb/abc.csv",
  );
});

Deno.test("parseS3Uri() refuses what is not a string with a ValidationError", async () => {
  for (const v of [Symbol("s"), null, 5, {}]) {
    await assertRejects(
      () => parseS3Uri(v as never),
      ValidationError,
      /an S3 URI is a string like s3:/,
    );
  }
  assertEquals(parseS3Uri("s3://bucket/a/b/"), { bucket: "bucket", prefix: "a/b" });
});
