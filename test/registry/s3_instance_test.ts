// An instance whose storage is an S3 bucket (s3rver): saving, loading,
// staging, streaming by byte ranges, dedup, delete, reopen, fsck.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, HEALTHY, tempDir } from "../_helpers.ts";
import { s3Server } from "../_s3.ts";
import { needsPython, python } from "../_python.ts";

/** A 4000 x 300 CSR AnnData with a categorical `group` (10 groups) and a `depth` column. */
function atlas(): ln.AnnData {
  const nObs = 4000, nVars = 300, perRow = 30;
  const data = new Float32Array(nObs * perRow);
  const indices = new Int32Array(nObs * perRow);
  const indptr = new Int32Array(nObs + 1);
  for (let i = 0; i < nObs; i++) {
    for (let k = 0; k < perRow; k++) {
      data[i * perRow + k] = i + k / 100;
      indices[i * perRow + k] = (i * 7 + k * 10) % nVars;
    }
    indices.subarray(i * perRow, (i + 1) * perRow).sort();
    indptr[i + 1] = (i + 1) * perRow;
  }
  return new ln.AnnData({
    X: new ln.CsrMatrix(data, indices, indptr, [nObs, nVars]),
    obs: pl.DataFrame({
      group: pl.Series("group", Array.from({ length: nObs }, (_, i) => `g${i % 10}`)).cast(
        pl.Categorical,
      ),
      depth: Array.from({ length: nObs }, (_, i) => i),
    }),
    obsNames: Array.from({ length: nObs }, (_, i) => `cell${i}`),
    varNames: Array.from({ length: nVars }, (_, j) => `gene${j}`),
  });
}

Deno.test({
  name: "an S3 instance: save, load, stage, stream by ranges, dedup, delete, reopen, fsck",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    const bucket = await server.bucket();
    const cache = await tempDir();
    const storage = `s3://${bucket}/project`;
    try {
      await ln.init({ storage, s3: server.options, cacheDir: cache });
      assertEquals([ln.settings.storage.root, ln.settings.storage.type], [storage, "s3"]);

      // A DataFrame: serialized, uploaded, loaded back through the cache.
      const df = pl.DataFrame({ cell: ["a", "b"], n: [1, 2] });
      const f = await new ln.File(df, { name: "cells" }).save();
      assert(f.path().startsWith(`${storage}/.lamindb/${f.id}`), f.path());
      assertEquals((await f.load() as pl.DataFrame).toRecords(), df.toRecords());
      const again = await new ln.File(df).save();
      assertEquals(again.id, f.id, "same content, same record");

      // A local file under a key: stage() gives a cached local copy.
      const local = `${cache}/a.csv`;
      await Deno.writeTextFile(local, "x,y\n1,2\n");
      const csv = await new ln.File(local, { key: "raw/a.csv" }).save();
      assertEquals(csv.path(), `${storage}/raw/a.csv`);
      const staged = await csv.stage();
      assert(staged.startsWith(cache), staged);
      assertEquals(await Deno.readTextFile(staged), "x,y\n1,2\n");

      // An AnnData: streaming a 1% query reads a small part of the object.
      const adata = atlas();
      const h5 = await new ln.File(adata, { key: "atlas.h5ad" }).save();
      const io = { bytesRead: 0, requests: 0 };
      const q = h5.subsetter();
      const sub = await h5.stream({ subsetObs: q.depth.lt(40), io });
      assertEquals([sub.nObs, sub.nVars], [40, 300]);
      assertEquals(sub.obsNames.slice(0, 2), ["cell0", "cell1"]);
      const want = Array.from(
        (adata.X as ln.CsrMatrix).data.subarray(0, 40 * 30) as Float32Array,
      );
      assertEquals(Array.from((sub.X as ln.CsrMatrix).data as Float32Array), want);
      assert(io.bytesRead < h5.size! * 0.25, `read ${io.bytesRead} of ${h5.size} bytes`);
      assert(io.requests > 0);
      const loaded = await h5.load() as ln.AnnData;
      assertEquals(loaded.shape, [4000, 300]);

      // A zarr store (a folder of objects) round-trips too.
      const z = await new ln.File(adata, { format: "zarr", key: "atlas.zarr" }).save();
      assertEquals((await z.load() as ln.AnnData).obsNames.slice(-1), ["cell3999"]);
      const zs = await z.stream({ subsetObs: q.group.isin(["g3"]) });
      assertEquals(zs.nObs, 400);
      // Each object of the store is asked for at most once (a chunk is one GET, no HEAD
      // first; metadata read once however many readers open it).
      const lister = new ln.S3Storage(storage, server.options);
      const objects = (await Array.fromAsync(lister.list("atlas.zarr/"))).length;
      lister.close();
      const zio = { bytesRead: 0, requests: 0 };
      const whole = await z.stream({ io: zio });
      assertEquals(whole.nObs, 4000);
      // (Absent metadata probed once each, e.g. `.zgroup` of an array: ~1.4x the objects
      // here; a HEAD before each GET, or metadata read again by each reader, is ~2x and more.)
      assert(zio.requests <= 1.5 * objects, `${zio.requests} requests for ${objects} objects`);

      // An object put there by someone else is registered in place, hashed by streaming it.
      const other = new ln.S3Storage(storage, server.options);
      await other.put("external/data.csv", new TextEncoder().encode("a,b\n1,2\n"));
      other.close();
      const ext = await new ln.File(`${storage}/external/data.csv`).save();
      assertEquals([ext.key, ext.suffix, ext.size, ext.name], [
        "external/data.csv",
        ".csv",
        8,
        "data.csv",
      ]);
      assertEquals(ext.hash, ln.hashBytes(new TextEncoder().encode("a,b\n1,2\n")));
      assertEquals((await ext.load() as pl.DataFrame).toRecords(), [{ a: 1, b: 2 }]);
      await assertRejects(
        () => new ln.File(`${storage}/external/none.csv`).save(),
        ln.NotFoundError,
      );
      // A prefix (here a zarr store someone else wrote) registers in place as a folder.
      const writer = new ln.S3Storage(storage, server.options);
      const made = await tempDir();
      const theirsData = atlas();
      ((theirsData.X as ln.CsrMatrix).data as Float32Array)[0] = 999; // not the same content
      await ln.writeZarr(theirsData, `${made}/theirs.zarr`);
      for (const e of await walkFiles(`${made}/theirs.zarr`)) {
        await writer.put(
          `external/theirs.zarr/${e}`,
          await Deno.readFile(`${made}/theirs.zarr/${e}`),
        );
      }
      writer.close();
      const theirs = await new ln.File(`${storage}/external/theirs.zarr`).save();
      assertEquals([theirs.key, theirs.suffix], ["external/theirs.zarr", ".zarr"]);
      assertEquals((await theirs.load() as ln.AnnData).shape, [4000, 300]);
      assertEquals((await theirs.stream({ subsetObs: q.depth.lt(3) })).nObs, 3);
      await assertRejects(
        () => new ln.File(`s3://elsewhere/x.csv`).save(),
        ln.StorageError,
        /in place/,
      );
      await assertRejects(
        () => new ln.File(`${storage}/external/data.csv`, { key: "other.csv" }).save(),
        ln.ValidationError,
        /own key/,
      );

      // replace() swaps the object under the same id; a local folder is copied in.
      await ext.replace(new TextEncoder().encode("a,b\n3,4\n"));
      assertEquals((await (await ln.File.get(ext.id)).load() as pl.DataFrame).toRecords(), [
        { a: 3, b: 4 },
      ]);
      await Deno.mkdir(`${cache}/batch`);
      for (const n of ["1", "2"]) await Deno.writeTextFile(`${cache}/batch/${n}.txt`, n);
      const folder = await new ln.Folder(`${cache}/batch`).save();
      const inFolder = await folder.files.all();
      assertEquals(inFolder.length, 2);
      for (const x of inFolder) assert(x.path().startsWith(`${storage}/`), x.path());

      // Delete removes the object from the bucket.
      await csv.delete();
      const s3 = new ln.S3Storage(storage, server.options);
      assertEquals(await s3.head("raw/a.csv"), undefined);
      assert(await s3.head("atlas.h5ad"));
      s3.close();

      assertEquals((await ln.fsck()).missing, []);
      await ln.close();

      // Reopen: the same registry (cached on this machine) and storage.
      await ln.init({ storage, s3: server.options, cacheDir: cache });
      assertEquals((await ln.File.filter({})).length, 7);
      // Records read from the registry load through the cache too.
      const reread = await ln.File.get({ key: "atlas.h5ad" });
      assertEquals((await reread.load() as ln.AnnData).shape, [4000, 300]);
      assert((await reread.stage()).startsWith(cache));
    } finally {
      await ln.close();
      await Deno.remove(cache, { recursive: true });
    }
  },
});

Deno.test("init() with bad S3 or db settings: a typed error saying what to fix, nothing opened", async () => {
  await assertRejects(() => ln.init({ storage: "s3://Bad_Bucket" }), ln.ValidationError, /bucket/);
  const dir = await tempDir();
  await assertRejects(
    () => ln.init({ storage: dir, db: "postgresql://u:secret@127.0.0.1:9/db" }),
    ln.StorageError,
    /cannot connect to the registry at postgresql:\/\/\*\*\*@127\.0\.0\.1:9\/db/,
  );
  await assertRejects(() => ln.init({ storage: dir, db: "mysql://x/y" }), ln.ValidationError);
  await assertRejects(
    () => ln.init({ storage: "./x", s3: { endpoint: "http://127.0.0.1:9" } }),
    ln.ValidationError,
    /s3:\/\//,
  );
  await assertRejects(
    () =>
      ln.init({
        storage: "s3://no-server-here",
        s3: {
          endpoint: "http://127.0.0.1:9",
          credentials: { accessKeyId: "a", secretAccessKey: "b" },
        },
      }),
    ln.StorageError,
    /could not list s3:\/\/no-server-here/,
  );
  await assertRejects(() => ln.File.filter({}), ln.NotInitializedError);
});

/** Relative paths of the files under `dir`. */
async function walkFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await walkFiles(dir, r));
    else out.push(r);
  }
  return out;
}

Deno.test({
  name:
    "streaming from S3: lzf chunks are decoded by our reader; a filter it lacks (scaleoffset) falls back to h5wasm on a fetched copy",
  ...needsPython("h5ad files with lzf and scaleoffset from Python", "anndata", "h5py"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    const storage = `s3://${await server.bucket()}/filters`;
    const dir = await tempDir();
    try {
      await python(
        `import sys, h5py, numpy as np, pandas as pd, anndata as ad, scipy.sparse as sp
X = sp.random(300, 40, density=0.1, format="csr", dtype=np.float32, random_state=1)
obs = pd.DataFrame({"g": pd.Categorical([f"g{i % 3}" for i in range(300)])}, index=[f"c{i}" for i in range(300)])
a = ad.AnnData(X, obs=obs)
a.write_h5ad(sys.argv[1] + "/lzf.h5ad", compression="lzf")
a.write_h5ad(sys.argv[1] + "/so.h5ad")
with h5py.File(sys.argv[1] + "/so.h5ad", "a") as f:
    ix = f["X/indices"][:]
    del f["X/indices"]
    f.create_dataset("X/indices", data=ix, chunks=(500,), scaleoffset=0)
np.save(sys.argv[1] + "/g1.npy", a[(a.obs.g == "g1").values].X.toarray())`,
        dir,
      );
      await ln.init({ storage, s3: server.options, db: `${dir}/r.db`, cacheDir: `${dir}/cache` });
      const want = await python(
        `import sys, numpy as np; print(np.load(sys.argv[1]).ravel().tolist())`,
        `${dir}/g1.npy`,
      ).then((t) => JSON.parse(t) as number[]);
      for (const name of ["lzf.h5ad", "so.h5ad"]) {
        const f = await new ln.File(`${dir}/${name}`, { key: name }).save();
        const io = { bytesRead: 0, requests: 0 };
        const sub = await f.stream({ subsetObs: f.subsetter().g.eq("g1"), io });
        assertEquals([sub.nObs, sub.nVars], [100, 40], name);
        assertEquals(sub.obsNames.slice(0, 2), ["c1", "c4"], name);
        const got = Array.from(sub.X!.toDense().data as Float32Array);
        assertEquals(got.length, want.length, name);
        assertEquals(got.every((v, i) => Math.abs(v - want[i]) < 1e-6), true, name);
        if (name === "so.h5ad") {
          assert(io.bytesRead >= f.size!, `read ${io.bytesRead} of ${f.size}: the whole file`);
        }
      }
    } finally {
      await ln.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a zarr folder saved to S3 is uploaded many objects at once; a failed upload leaves no object and a healthy instance",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    const bucket = await server.bucket();
    const storage = `s3://${bucket}/up`;
    const dir = await tempDir();
    const proto = ln.S3Storage.prototype;
    const put = proto.put;
    const seen = { calls: 0, inFlight: 0, most: 0, failAt: 0 };
    proto.put = async function (this: ln.S3Storage, ...a: Parameters<typeof put>) {
      const n = ++seen.calls;
      seen.most = Math.max(seen.most, ++seen.inFlight);
      try {
        await new Promise((r) => setTimeout(r, 5));
        if (n === seen.failAt) throw new ln.StorageError("the network went away (test)");
        return await put.apply(this, a);
      } finally {
        seen.inFlight--;
      }
    };
    try {
      await ln.init({ storage, s3: server.options, db: `${dir}/r.db`, cacheDir: `${dir}/cache` });
      const adata = atlas();
      await ln.writeZarr(adata, `${dir}/a.zarr`);
      const files = (await walkFiles(`${dir}/a.zarr`)).length;
      assert(files > 20, `${files} files in the store`);
      const z = await new ln.File(`${dir}/a.zarr`, { key: "a.zarr" }).save();
      assertEquals(seen.calls, files);
      assert(seen.most > 1, `objects uploaded at once (at most ${seen.most} at a time)`);
      assertEquals((await z.load() as ln.AnnData).shape, [4000, 300]);

      // The 10th object fails: the save rejects, every object placed is removed.
      ((adata.X as ln.CsrMatrix).data as Float32Array)[0] = -1; // other content, other record
      await ln.writeZarr(adata, `${dir}/b.zarr`);
      seen.calls = 0;
      seen.failAt = 10;
      await assertRejects(
        () => new ln.File(`${dir}/b.zarr`, { key: "b.zarr" }).save(),
        ln.StorageError,
        /went away/,
      );
      const lister = new ln.S3Storage(storage, server.options);
      const left = await Array.fromAsync(lister.list("b.zarr/"));
      lister.close();
      assertEquals(left.map((o) => o.key), []);
      assertEquals(await ln.fsck(), HEALTHY);
      assertEquals(await ln.File.filter({ key: "b.zarr" }).count(), 0);
    } finally {
      proto.put = put;
      await ln.close();
    }
  },
});
