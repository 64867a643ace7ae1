// LocalStorage never writes, moves or deletes through a symbolic link below
// its root, and reads through one only when its real path is inside the root.
import { InvalidKeyError, LocalStorage, validateKey } from "../../mod.ts";
import { validateUserKey } from "../../src/storage/key.ts";
import { assertEquals, assertRejects, listTree, tempDir } from "../_helpers.ts";

const enc = new TextEncoder();

/** A root and an outside folder holding `existing.txt`, with `$ROOT/dirlink -> outside`. */
async function withLinkedRoot(
  fn: (store: LocalStorage, root: string, outside: string) => Promise<void>,
): Promise<void> {
  const root = await tempDir();
  const outside = await tempDir();
  await Deno.writeTextFile(`${outside}/existing.txt`, "outside data");
  await Deno.symlink(outside, `${root}/dirlink`);
  try {
    await fn(new LocalStorage(root), root, outside);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
}

Deno.test("put() through a symlinked folder is refused and writes nothing anywhere", () =>
  withLinkedRoot(async (store, root, outside) => {
    await assertRejects(
      () => store.put("dirlink/new.txt", enc.encode("x")),
      InvalidKeyError,
      /symbolic link/,
    );
    await assertRejects(
      () => store.put("dirlink/sub/new.txt", enc.encode("x"), { overwrite: true }),
      InvalidKeyError,
    );
    await assertRejects(
      () => store.put("dirlink/existing.txt", enc.encode("x"), { overwrite: true }),
      InvalidKeyError,
    );
    assertEquals(await listTree(outside), ["existing.txt"]);
    assertEquals(await Deno.readTextFile(`${outside}/existing.txt`), "outside data");
    assertEquals(await listTree(root), ["dirlink"]);
  }));

Deno.test("put() onto a key that is itself a symlink is refused, with or without overwrite", () =>
  withLinkedRoot(async (store, _root, outside) => {
    await Deno.symlink(`${outside}/existing.txt`, `${store.root}/file.txt`);
    for (const overwrite of [false, true]) {
      await assertRejects(
        () => store.put("file.txt", enc.encode("x"), { overwrite }),
        InvalidKeyError,
        /symbolic link/,
      );
    }
    assertEquals(await Deno.readTextFile(`${outside}/existing.txt`), "outside data");
    assertEquals((await Deno.lstat(`${store.root}/file.txt`)).isSymlink, true);
  }));

Deno.test("put() refuses a managed .lamindb/ folder that is a symlink", async () => {
  const root = await tempDir();
  const outside = await tempDir();
  await Deno.symlink(outside, `${root}/.lamindb`);
  try {
    const store = new LocalStorage(root);
    await assertRejects(() => store.put("a.txt", enc.encode("x")), InvalidKeyError);
    assertEquals(await listTree(outside), []);
    assertEquals(await listTree(root), [".lamindb"]);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("put() into a folder linked to .lamindb/ is refused", async () => {
  const root = await tempDir();
  try {
    const store = new LocalStorage(root);
    await store.put(".lamindb/AAAAAAAAAAAAAAAAAAAA.txt", enc.encode("managed"));
    await Deno.symlink(`${root}/.lamindb`, `${root}/mgd`);
    await assertRejects(() => store.put("mgd/data.txt", enc.encode("x")), InvalidKeyError);
    await assertRejects(
      () => store.put("mgd/AAAAAAAAAAAAAAAAAAAA.txt", enc.encode("x"), { overwrite: true }),
      InvalidKeyError,
    );
    assertEquals(await listTree(`${root}/.lamindb`), ["AAAAAAAAAAAAAAAAAAAA.txt"]);
    assertEquals(await Deno.readTextFile(`${root}/.lamindb/AAAAAAAAAAAAAAAAAAAA.txt`), "managed");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("put() and delete() refuse the registry's own files", async () => {
  const root = await tempDir();
  try {
    const store = new LocalStorage(root);
    await Deno.mkdir(`${root}/.lamindb`);
    await Deno.writeTextFile(`${root}/.lamindb/lamin.db`, "registry");
    for (const key of [".lamindb/lamin.db", ".lamindb/lamin.db-wal", ".lamindb/LAMIN.DB"]) {
      await assertRejects(
        () => store.put(key, enc.encode("x"), { overwrite: true }),
        InvalidKeyError,
        /registry/,
      );
      await assertRejects(() => store.delete(key), InvalidKeyError, /registry/);
    }
    assertEquals(await Deno.readTextFile(`${root}/.lamindb/lamin.db`), "registry");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("delete() through a symlinked folder, or of a symlink, removes nothing", () =>
  withLinkedRoot(async (store, root, outside) => {
    await assertRejects(() => store.delete("dirlink/existing.txt"), InvalidKeyError);
    await Deno.symlink(`${outside}/existing.txt`, `${root}/file.txt`);
    await assertRejects(() => store.delete("file.txt"), InvalidKeyError);
    assertEquals(await listTree(outside), ["existing.txt"]);
    assertEquals(await listTree(root), ["dirlink", "file.txt"]);
  }));

Deno.test("reads follow a symlink whose real path is inside the root, and refuse one leaving it", () =>
  withLinkedRoot(async (store, root) => {
    await store.put("data/in.txt", enc.encode("inside"));
    await Deno.symlink(`${root}/data`, `${root}/inlink`);
    assertEquals((await store.head("inlink/in.txt"))?.size, 6);
    assertEquals(await new Response(await store.get("inlink/in.txt")).text(), "inside");
    assertEquals(await store.getRange("inlink/in.txt", 1, 2), enc.encode("ns"));
    assertEquals(await store.getBytes("inlink/in.txt"), enc.encode("inside"));
    assertEquals(store.localPath("inlink/in.txt"), `${root}/inlink/in.txt`);

    await assertRejects(() => store.get("dirlink/existing.txt"), InvalidKeyError, /outside/);
    await assertRejects(() => store.getRange("dirlink/existing.txt", 0, 1), InvalidKeyError);
    await assertRejects(() => store.getBytes("dirlink/existing.txt"), InvalidKeyError);
    await assertRejects(() => store.head("dirlink/existing.txt"), InvalidKeyError);
    await assertRejects(() => store.localPath("dirlink/existing.txt"), InvalidKeyError);
    await assertRejects(() => Array.fromAsync(store.list("dirlink/")), InvalidKeyError);
    // Listing the whole root does not descend into links.
    assertEquals((await Array.fromAsync(store.list())).map((o) => o.key), ["data/in.txt"]);
  }));

Deno.test("keys whose first segment folds to .lamindb are refused; user keys in any case", async () => {
  for (const k of [".LAMINDB/x", ".LaminDB/x", ".lamindb./x", ".lamindb /x", ".LAMINDB"]) {
    await assertRejects(() => validateKey(k), InvalidKeyError, /\.lamindb/);
    await assertRejects(() => validateUserKey(k), InvalidKeyError, /\.lamindb/);
  }
  assertEquals(
    validateKey(".lamindb/AAAAAAAAAAAAAAAAAAAA.csv"),
    ".lamindb/AAAAAAAAAAAAAAAAAAAA.csv",
  );
  assertEquals(validateUserKey("x/.LAMINDB/y"), "x/.LAMINDB/y");
  const root = await tempDir();
  try {
    await assertRejects(
      () => new LocalStorage(root).put(".LAMINDB/x", enc.encode("x")),
      InvalidKeyError,
    );
    assertEquals(await listTree(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("keys with control or bidirectional formatting characters are refused", async () => {
  const bad = [
    "a\nb",
    "a\rb",
    "a\tb",
    "a\x1bb",
    "a\x7fb",
    "a\x85b",
    "a\x9fb",
    "evil\u202Etxt.exe",
    "a\u202Ab",
    "a\u2066b",
    "a\u2069b",
    "a\u200Eb",
    "a\u200Fb",
    "a\u061Cb",
  ];
  for (const k of bad) await assertRejects(() => validateKey(k), InvalidKeyError, /control/);
  assertEquals(validateKey("ü/数据 v1.h5ad"), "ü/数据 v1.h5ad");
});

Deno.test("a zarr store opened for streaming checks each read: a folder swapped for a link out of the root afterwards is refused", async () => {
  const { anndataZarr } = await import("../../src/formats/codecs/anndata_zarr.ts");
  const root = await tempDir(), outside = await tempDir();
  const array = (dir: string, v: number) => {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(
      `${dir}/.zarray`,
      JSON.stringify({
        zarr_format: 2,
        shape: [2],
        chunks: [2],
        dtype: "<f8",
        compressor: null,
        fill_value: 0,
        order: "C",
        filters: null,
      }),
    );
    Deno.writeFileSync(`${dir}/0`, new Uint8Array(new Float64Array([v, v]).buffer));
  };
  Deno.mkdirSync(`${root}/a.zarr/g`, { recursive: true });
  Deno.writeTextFileSync(`${root}/a.zarr/.zgroup`, '{"zarr_format":2}');
  Deno.writeTextFileSync(`${root}/a.zarr/g/.zgroup`, '{"zarr_format":2}');
  array(`${root}/a.zarr/g/x`, 1);
  array(`${root}/a.zarr/g/y`, 2);
  array(`${outside}/x`, 666);
  array(`${outside}/y`, 666);
  const r = await anndataZarr.openRanges!(new LocalStorage(root), "a.zarr", { label: "t" });
  try {
    assertEquals(await r.store.keys("g"), ["x", "y"]);
    assertEquals(Array.from((await r.store.read("g/x")).data as Float64Array), [1, 1]);
    // In the same opening: a folder listed, and one read, each replaced by a link outside.
    for (const name of ["y", "x"]) {
      Deno.removeSync(`${root}/a.zarr/g/${name}`, { recursive: true });
      Deno.symlinkSync(`${outside}/${name}`, `${root}/a.zarr/g/${name}`);
      await assertRejects(() => r.store.read(`g/${name}`), InvalidKeyError, /outside/);
    }
  } finally {
    r.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});
