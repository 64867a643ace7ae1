// Files never escape the storage root through a symbolic link, and nothing
// the registry manages is reached or destroyed through one.
import * as ln from "../../mod.ts";
import { defaultInstance } from "../../src/registry/instance.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  freshInstance,
  listTree,
  tempDir,
} from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";

const enc = new TextEncoder();

/** A fresh instance and an outside folder holding `existing.txt`, with `$ROOT/dirlink -> outside`. */
async function withLinkedInstance(fn: (root: string, outside: string) => Promise<void>) {
  const root = await freshInstance();
  const outside = await tempDir();
  await Deno.writeTextFile(`${outside}/existing.txt`, "outside data");
  await Deno.symlink(outside, `${root}/dirlink`);
  try {
    await fn(root, outside);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
}

/** The files under `dir`, without the registry's own (lamin.db and its journals). */
async function objects(dir: string): Promise<string[]> {
  return (await listTree(dir)).filter((p) => !/(^|\/)lamin\.db/.test(p));
}

Deno.test("save() with a key through a symlinked folder is refused and writes nothing anywhere", () =>
  withLinkedInstance(async (root, outside) => {
    await assertRejects(
      () => new ln.File(enc.encode("new"), { key: "dirlink/new.txt" }).save(),
      ln.InvalidKeyError,
    );
    assertEquals(await listTree(outside), ["existing.txt"]);
    assertEquals(await objects(root), ["dirlink"]);
    assertEquals(await ln.File.filter({}), []);
  }));

Deno.test("delete() of a file whose folder became a symlink leaves the outside file alone", () =>
  withLinkedInstance(async (root, outside) => {
    const f = await new ln.File(enc.encode("mine"), { key: "d/existing.txt" }).save();
    // Someone swaps the folder for a link to an outside folder with a same-named file.
    await Deno.remove(`${root}/d`, { recursive: true });
    await Deno.symlink(outside, `${root}/d`);
    await assertRejects(() => f.delete(), ln.StorageError, /fsck/);
    assertEquals(await Deno.readTextFile(`${outside}/existing.txt`), "outside data");
    const report = await ln.fsck({ repair: true });
    assertEquals(report.orphans, []);
    assertEquals(await Deno.readTextFile(`${outside}/existing.txt`), "outside data");
    // The journal entry is settled: the instance is healthy again.
    assertEquals(Object.values(await ln.fsck()).flat(), []);
  }));

Deno.test("a file reached through a symlink to outside the root is copied, and replace() leaves the original", () =>
  withLinkedInstance(async (root, outside) => {
    const f = await new ln.File(`${root}/dirlink/existing.txt`).save();
    assertEquals(f.key, null);
    assert(f.path().startsWith(`${root}/.lamindb/`), f.path());
    await f.replace(enc.encode("replaced"));
    assertEquals(await Deno.readTextFile(`${outside}/existing.txt`), "outside data");
    assertEquals(await Deno.readTextFile(f.path()), "replaced");
    await f.delete();
    assertEquals(await listTree(outside), ["existing.txt"]);
  }));

Deno.test("replace() of a file registered in place whose folder became a symlink writes nothing outside", () =>
  withLinkedInstance(async (root, outside) => {
    await Deno.mkdir(`${root}/d`);
    await Deno.writeTextFile(`${root}/d/existing.txt`, "in place");
    const f = await new ln.File(`${root}/d/existing.txt`).save();
    assertEquals(f.key, "d/existing.txt");
    await Deno.remove(`${root}/d`, { recursive: true });
    await Deno.symlink(outside, `${root}/d`);
    await assertRejects(() => f.replace(enc.encode("replaced")), ln.InvalidKeyError, /symbolic/);
    assertEquals(await listTree(outside), ["existing.txt"]);
    assertEquals(await Deno.readTextFile(`${outside}/existing.txt`), "outside data");
    assertEquals((await ln.File.get(f.id)).hash, f.hash);
  }));

Deno.test("a file reached through a symlink inside the root is registered at its real key", () =>
  withLinkedInstance(async (root) => {
    await Deno.mkdir(`${root}/data`);
    await Deno.writeTextFile(`${root}/data/real.txt`, "real");
    await Deno.symlink(`${root}/data`, `${root}/inlink`);
    const f = await new ln.File(`${root}/inlink/real.txt`).save();
    assertEquals([f.key, f.path()], ["data/real.txt", `${root}/data/real.txt`]);
    assertEquals(await Deno.readTextFile(f.path()), "real");
  }));

Deno.test("a key through a folder linked to .lamindb/ is refused", () =>
  withLinkedInstance(async (root) => {
    const managed = await new ln.File(enc.encode("managed")).save();
    await Deno.symlink(`${root}/.lamindb`, `${root}/mgd`);
    await assertRejects(
      () => new ln.File(enc.encode("x"), { key: "mgd/data.txt" }).save(),
      ln.InvalidKeyError,
    );
    await assertRejects(
      () => new ln.File(enc.encode("y"), { key: `mgd/${managed.id}.txt` }).save(),
      ln.InvalidKeyError,
    );
    assertEquals(await objects(`${root}/.lamindb`), [`${managed.id}`]);
    assertEquals((await ln.File.filter({})).map((f) => f.id), [managed.id]);
  }));

Deno.test("a folder reached through a link to .lamindb/ is refused and registers nothing", () =>
  withLinkedInstance(async (root) => {
    await new ln.File(enc.encode("managed")).save();
    await Deno.symlink(`${root}/.lamindb`, `${root}/mgd`);
    await assertRejects(() => new ln.Folder(`${root}/mgd`).save(), ln.InvalidKeyError);
    assertEquals((await ln.File.filter({})).length, 1);
    assertEquals(await ln.Folder.filter({}), []);
  }));

Deno.test("registering the registry file through a link to .lamindb/ is refused", () =>
  withLinkedInstance(async (root) => {
    await Deno.symlink(`${root}/.lamindb`, `${root}/mgd`);
    const before = await Deno.readFile(`${root}/.lamindb/lamin.db`);
    await assertRejects(
      () => new ln.File(`${root}/mgd/lamin.db`).save(),
      ln.InvalidKeyError,
      /\.lamindb/,
    );
    await assertRejects(
      () => new ln.File(`${root}/mgd/lamin.db`, { key: "copy.db" }).save(),
      ln.InvalidKeyError,
    );
    assertEquals((await Deno.readFile(`${root}/.lamindb/lamin.db`)).byteLength, before.byteLength);
    assertEquals(await ln.File.filter({}), []);
  }));

Deno.test("fsck({ repair: true }) never deletes a registered object, even one in .lamindb/ reached through a link", () =>
  withLinkedInstance(async (root) => {
    // A file saved at x/data.txt whose folder was later moved into .lamindb/ and linked back.
    const f = await new ln.File(enc.encode("registered"), { key: "x/data.txt" }).save();
    await Deno.mkdir(`${root}/.lamindb/moved`);
    await Deno.rename(`${root}/x/data.txt`, `${root}/.lamindb/moved/data.txt`);
    await Deno.remove(`${root}/x`);
    await Deno.symlink(`${root}/.lamindb/moved`, `${root}/x`);
    assertEquals(await Deno.readTextFile(f.path()), "registered");

    const report = await ln.fsck({ repair: true });
    assertEquals(report.missing, []);
    assertEquals(report.mismatched, []);
    assertEquals(await Deno.readTextFile(`${root}/.lamindb/moved/data.txt`), "registered");
    assertEquals(await Deno.readTextFile((await ln.File.get(f.id)).path()), "registered");
  }));

Deno.test("fsck({ repair: true }) deletes nothing reached through a link, even an unregistered object", () =>
  withLinkedInstance(async (root) => {
    // An interrupted save journaled at a key whose folder is now a link to another folder.
    await Deno.mkdir(`${root}/kept`);
    await Deno.writeTextFile(`${root}/kept/stray.txt`, "not ours to delete");
    await Deno.symlink(`${root}/kept`, `${root}/y`);
    await defaultInstance().db.insertInto("pending_object").values({
      id: "p".repeat(20),
      op: "save",
      storage_id: ln.settings.storage.id,
      key: "y/stray.txt",
      is_dir: 0,
      file_id: "f".repeat(20),
      hash: ln.hashBytes(enc.encode("not ours to delete")),
      size: 18,
      created_at: new Date().toISOString(),
    }).execute();
    const report = await ln.fsck({ repair: true });
    assert(!report.orphans.includes(`${root}/y/stray.txt`), String(report.orphans));
    assertEquals(await Deno.readTextFile(`${root}/kept/stray.txt`), "not ours to delete");
    assertEquals(await defaultInstance().db.selectFrom("pending_object").selectAll().execute(), []);
  }));

Deno.test("keys with control characters, bidi overrides or a case variant of .lamindb are refused", async () => {
  for (const key of ["a\nb.txt", "evil\u202Etxt.exe", "a\u2066b", "\u200Fx", ".LAMINDB/x"]) {
    await assertRejects(() => new ln.File(enc.encode("x"), { key }), ln.InvalidKeyError);
  }
});

Deno.test("init() refuses a storage root whose .lamindb/ is a symbolic link", async () => {
  const root = await Deno.makeTempDir();
  const elsewhere = await Deno.makeTempDir();
  await Deno.symlink(elsewhere, `${root}/.lamindb`);
  await assertRejects(() => ln.init({ storage: root }), ln.InvalidKeyError, /symbolic link/);
  assertEquals([...Deno.readDirSync(elsewhere)], []);
  await Deno.remove(root, { recursive: true });
  await Deno.remove(elsewhere, { recursive: true });
});

const pyZarr = needsPython("zarr chunk links", "anndata", "zarr", "numpy", "scipy");

Deno.test({
  name: "a stored zarr whose chunk file became a link to outside the root is refused by stream()",
  ...pyZarr,
  fn: () =>
    withLinkedInstance(async (root, outside) => {
      const src = await tempDir();
      await python(
        `import sys, anndata as ad, numpy as np, scipy.sparse as sp
X = sp.random(3000, 50, density=0.2, format="csr", dtype=np.float32, random_state=1)
ad.AnnData(X).write_zarr(sys.argv[1] + "/a.zarr")`,
        src,
      );
      const f = await new ln.File(`${src}/a.zarr`, { key: "a.zarr" }).save();
      const want = await f.stream();
      // The chunk file moved outside, a link left in its place.
      await Deno.rename(`${root}/a.zarr/X/data/0`, `${outside}/0`);
      await Deno.symlink(`${outside}/0`, `${root}/a.zarr/X/data/0`);
      await assertRejects(
        () => f.stream(),
        ln.InvalidKeyError,
        /symbolic link/,
      );
      // Put back: the same rows again.
      await Deno.remove(`${root}/a.zarr/X/data/0`);
      await Deno.rename(`${outside}/0`, `${root}/a.zarr/X/data/0`);
      const again = await f.stream();
      assertEquals(again.X!.toDense().data, want.X!.toDense().data);
      // A metadata document, then a whole array's folder, moved outside behind a link.
      for (const part of ["X/indptr/.zarray", "obs/_index"]) {
        await Deno.rename(`${root}/a.zarr/${part}`, `${outside}/moved`);
        await Deno.symlink(`${outside}/moved`, `${root}/a.zarr/${part}`);
        await assertRejects(() => f.stream(), ln.InvalidKeyError, /symbolic link/);
        await Deno.remove(`${root}/a.zarr/${part}`);
        await Deno.rename(`${outside}/moved`, `${root}/a.zarr/${part}`);
      }
      assertEquals((await f.stream()).X!.toDense().data, want.X!.toDense().data);
      await Deno.remove(src, { recursive: true });
    }),
});

Deno.test("a folder holding a symbolic link loop is refused at once, and nothing is registered", () =>
  withLinkedInstance(async (_root, outside) => {
    // Two links back to the folder: followed, 2^40 paths (a hang) before ELOOP stopped it.
    const dir = `${outside}/loop.zarr`;
    await Deno.mkdir(dir);
    await Deno.writeTextFile(`${dir}/.zgroup`, '{"zarr_format":2}');
    await Deno.symlink(dir, `${dir}/up`);
    await Deno.symlink(".", `${dir}/self`);
    await assertRejects(() => new ln.File(dir).save(), ln.ValidationError, /loop.*up|loop.*self/);
    await assertRejects(() => new ln.Folder(outside).save(), ln.ValidationError, /loop/);
    assertEquals(await ln.File.filter({}), []);
  }));

Deno.test("a folder in the root whose entry links outside it (or into .lamindb/) is not registered in place", () =>
  withLinkedInstance(async (root, outside) => {
    await Deno.mkdir(`${root}/a.zarr`);
    await Deno.writeTextFile(`${root}/a.zarr/.zgroup`, '{"zarr_format":2}');
    await Deno.symlink(`${outside}/existing.txt`, `${root}/a.zarr/leak`);
    // Was registered, outside content hashed in; reads then refused the entry.
    await assertRejects(() => new ln.File(`${root}/a.zarr`).save(), ln.InvalidKeyError, /leak/);
    await Deno.remove(`${root}/a.zarr/leak`);
    await Deno.symlink(`${root}/.lamindb/lamin.db`, `${root}/a.zarr/db`);
    await assertRejects(
      () => new ln.File(`${root}/a.zarr`).save(),
      ln.InvalidKeyError,
      /\.lamindb/,
    );
    assertEquals(await ln.File.filter({}), []);
  }));

Deno.test("replace() of a folder holding a symbolic link is refused before the registry changes", () =>
  withLinkedInstance(async (root) => {
    await Deno.mkdir(`${root}/a.zarr`);
    await Deno.writeTextFile(`${root}/a.zarr/.zgroup`, '{"zarr_format":2}');
    await Deno.writeTextFile(`${root}/a.zarr/x`, "x");
    const f = await new ln.File(`${root}/a.zarr`).save();
    // An entry swapped for a link (here to a file inside the root) after registration.
    await Deno.writeTextFile(`${root}/other.txt`, "x");
    await Deno.remove(`${root}/a.zarr/x`);
    await Deno.symlink(`${root}/other.txt`, `${root}/a.zarr/x`);
    const src = await tempDir();
    await Deno.mkdir(`${src}/b.zarr`);
    await Deno.writeTextFile(`${src}/b.zarr/.zgroup`, '{"zarr_format":2}');
    await Deno.writeTextFile(`${src}/b.zarr/x`, "new x");
    // Was: the registry committed the new content, then the copy failed at the link.
    await assertRejects(() => f.replace(`${src}/b.zarr`), ln.InvalidKeyError, /symbolic link/);
    assertEquals((await ln.File.get(f.id)).hash, f.hash);
    assertEquals(await Deno.readTextFile(`${root}/other.txt`), "x");
    assertEquals((await ln.fsck()).interrupted, []);
  }));
