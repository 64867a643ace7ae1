// A zarr AnnData store on object storage (s3rver) streamed: its metadata
// documents are found in few round trips (a listing says which exist; a
// folder's documents are asked together; independent elements at once),
// absent ones are not asked, and the result equals the local read.
import pl from "nodejs-polars";
import * as ln from "../../../mod.ts";
import { assert, assertEquals, assertRejects, tempDir } from "../../_helpers.ts";
import { s3InstanceTest } from "../../_s3.ts";
import { keptChunkBytes } from "../../../src/formats/anndata/_zarr_store.ts";

function atlas(n: number): ln.AnnData {
  const data = Float32Array.from({ length: n * 4 }, (_, i) => (i % 7) + 1);
  const indices = Int32Array.from({ length: n * 4 }, (_, i) => (i % 4) * 2);
  const indptr = Int32Array.from({ length: n + 1 }, (_, i) => i * 4);
  return new ln.AnnData({
    X: new ln.CsrMatrix(data, indices, indptr, [n, 8]),
    obs: pl.DataFrame({
      group: pl.Series("group", Array.from({ length: n }, (_, i) => `g${i % 5}`)).cast(
        pl.Categorical,
      ),
      depth: Array.from({ length: n }, (_, i) => i),
      ok: Array.from({ length: n }, (_, i) => i % 3 === 0),
    }),
    obsNames: Array.from({ length: n }, (_, i) => `c${i}`),
    varNames: Array.from({ length: 8 }, (_, j) => `g${j}`),
    layers: { counts: new ln.CsrMatrix(data.slice(), indices.slice(), indptr.slice(), [n, 8]) },
    obsm: { X_pca: new ln.DenseMatrix(Float32Array.from({ length: n * 3 }, (_, i) => i), [n, 3]) },
  });
}

/**
 * Requests of the S3 backend while `fn` runs, each held `delay` ms: their
 * keys, and the longest chain of requests each issued after the one before
 * it had answered (the round trips a reader waited for in a row).
 */
async function rounds(fn: () => Promise<unknown>, delay = 25) {
  const proto = ln.S3Storage.prototype as unknown as Record<string, unknown>;
  const names = ["getBytes", "getRange", "getRangeInto", "get", "head"];
  const saved = names.map((m) => proto[m]);
  const done: number[] = [];
  const keys: string[] = [];
  let deepest = 0;
  for (const [i, m] of names.entries()) {
    const orig = saved[i] as ((...a: unknown[]) => Promise<unknown>) | undefined;
    if (!orig) continue;
    proto[m] = async function (this: unknown, ...a: unknown[]) {
      // This request's depth: one more than the deepest already answered.
      const depth = 1 + done.reduce((x, d) => Math.max(x, d), 0);
      keys.push(String(a[0]));
      await new Promise((r) => setTimeout(r, delay));
      const r = await orig.apply(this, a);
      done.push(depth);
      deepest = Math.max(deepest, depth);
      return r;
    };
  }
  try {
    await fn();
  } finally {
    names.forEach((m, i) => proto[m] = saved[i]);
  }
  return { keys, deepest };
}

/**
 * Stream `z` (saved from `adata`) on S3, checking the result; the keys asked,
 * the metadata documents among them and the round trips in a row; no key
 * absent from the store is asked for.
 */
async function streamed(
  z: ln.File,
  bucket: string,
  options: ln.S3Options,
  adata: ln.AnnData,
): Promise<{ keys: string[]; meta: string[]; deepest: number }> {
  const q = z.subsetter();
  const { keys, deepest } = await rounds(async () => {
    const got = await z.stream({ subsetObs: q.group.eq("g2"), isRunInput: false });
    assertEquals(got.nObs, 60);
    assertEquals(got.obsNames.slice(0, 2), ["c2", "c7"]);
    assertEquals(
      Array.from((got.obsm.X_pca as ln.DenseMatrix).toDense().data as Float32Array).slice(0, 3),
      [6, 7, 8],
    );
    assertEquals(got.layers.counts.toDense().get(1, 2), adata.X!.toDense().get(7, 2));
  });
  const lister = new ln.S3Storage(`s3://${bucket}/p`, options);
  const objects = new Set(
    (await Array.fromAsync(lister.list(`${z._objectKey}/`))).map((o) => o.key),
  );
  lister.close();
  const absent = keys.filter((k) => !objects.has(k.slice(k.indexOf(z._objectKey))));
  assertEquals(absent, [], "no absent document is asked for");
  const meta = keys.filter((k) => /\/(\.zarray|\.zattrs|\.zgroup|zarr\.json)$/.test(k));
  return { keys, meta, deepest };
}

/** A test on an instance whose storage is a fresh bucket of a fresh s3rver (closed after it). */
function onS3(
  name: string,
  fn: (s3: { bucket: string; options: ln.S3Options }) => Promise<void>,
): void {
  s3InstanceTest(name, ({ server, bucket }) => fn({ bucket, options: server.options }));
}

onS3(
  "a zarr store on S3 streams in few round trips: absent metadata never asked, a folder's documents together, same result as local",
  async ({ bucket, options }) => {
    const adata = atlas(300);
    // Ours, with consolidated metadata (.zmetadata, its documents' etags as listed): every
    // document from it, none asked for.
    const z = await new ln.File(adata, { format: "zarr", key: "a.zarr" }).save();
    const ours = await streamed(z, bucket, options, adata);
    assertEquals(ours.meta, [], "no metadata document asked: all in .zmetadata");
    assert(ours.keys.some((k) => k.endsWith("/.zmetadata")), "its consolidated metadata read");
    // The same store without it (as anndata writes zarr): documents asked,
    // a folder's together, absent ones never.
    const dir = await tempDir();
    await ln.writeZarr(adata, `${dir}/b.zarr`);
    await Deno.remove(`${dir}/b.zarr/.zmetadata`);
    const plain = await new ln.File(`${dir}/b.zarr`, { key: "b.zarr" }).save();
    const docs = await streamed(plain, bucket, options, adata);
    assert(docs.meta.length > 10, `${docs.meta.length} metadata documents`);
    const twice = docs.meta.filter((k, i) => docs.meta.indexOf(k) !== i);
    assertEquals(twice, [], "no metadata document is asked for twice");
    // Listing, root, elements, their parts, the query's chunks, the rows'
    // chunks: 8 round trips in a row here (documents asked one after
    // another: 32); consolidated, 4. Bounds with room for a loaded machine.
    assert(docs.deepest <= 12, `${docs.deepest} round trips in a row`);
    assert(ours.deepest <= 7, `${ours.deepest} round trips in a row, consolidated`);
    assert(ours.deepest < docs.deepest, `${ours.deepest} vs ${docs.deepest} round trips`);

    // Rows read again and again (batches): each chunk fetched once while
    // the store is open; its kept chunks are let go when it is closed.
    const { keys: again } = await rounds(async () => {
      const b = await z.backed();
      try {
        for (let k = 0; k < 5; k++) {
          const rows = Array.from({ length: 20 }, (_, i) => k * 50 + i);
          const m = await b.X!.get(rows);
          assertEquals(m.toDense().get(3, 2), adata.X!.toDense().get(k * 50 + 3, 2));
        }
        assert(keptChunkBytes() > 0, "chunks kept while the store is open");
      } finally {
        b.close();
      }
      assertEquals(keptChunkBytes(), 0, "nothing kept once it is closed");
    });
    const data = again.filter((k) => /\/X\/data\/\d+$/.test(k));
    assert(data.length >= 1, "X's data read");
    assertEquals(data.length, new Set(data).size, `each chunk fetched once: ${data}`);

    // mapped() over it: no listing per batch (the store finds a chunk
    // gone itself), each batch's rows right.
    const c = await new ln.Collection([z], { name: "one" }).save();
    const proto = ln.S3Storage.prototype;
    const list = proto.list;
    let lists = 0;
    proto.list = function (this: ln.S3Storage, prefix?: string) {
      lists++;
      return list.call(this, prefix);
    };
    let batches = 0;
    try {
      for await (const batch of c.mapped({ batchSize: 20, isRunInput: false })) {
        const at = batch.index[0];
        assertEquals(batch.X.toDense().get(1, 2), adata.X!.toDense().get(at + 1, 2));
        batches++;
      }
    } finally {
      proto.list = list;
    }
    assertEquals(batches, 15);
    assert(lists <= 2, `${lists} listings for ${batches} batches`);

    // A chunk deleted after the store was opened is a StorageError naming
    // it, not its fill value; a chunk never written is its fill value
    // (zeros) without a request.
    const b = await z.backed();
    try {
      assertEquals(b.shape, [300, 8]);
      const s3 = new ln.S3Storage(`s3://${bucket}/p`, options);
      const chunks = (await Array.fromAsync(s3.list(`${z._objectKey}/X/data/`)))
        .map((o) => o.key).filter((k) => !k.split("/").pop()!.startsWith("."));
      assert(chunks.length >= 1, "X/data has chunks");
      await s3.delete(chunks[0]);
      s3.close();
      const err = await assertRejects(() => b.X!.get(), ln.StorageError, /disappeared/);
      assert(err.message.includes("X/data/"), err.message);
    } finally {
      b.close();
    }
  },
);

onS3(
  "a zarr store too large to list (3,000+ keys) on S3: folders from a delimiter listing; with consolidated metadata, documents and folders from it",
  async ({ bucket, options }) => {
    // A wide obs (1,001 columns: 3 objects each) as many public atlases have.
    const n = 20, cols = 1001;
    const adata = new ln.AnnData({
      X: new ln.DenseMatrix(Float32Array.from({ length: n * 2 }, (_, i) => i), [n, 2]),
      obs: pl.DataFrame(
        Object.fromEntries(
          Array.from(
            { length: cols },
            (_, j) => [`c${j}`, Array.from({ length: n }, (_, i) => i * j)],
          ),
        ),
      ),
      obsNames: Array.from({ length: n }, (_, i) => `c${i}`),
      varNames: ["a", "b"],
    });
    const dir = await tempDir();
    await ln.writeZarr(adata, `${dir}/wide.zarr`);
    const files = await Array.fromAsync(Deno.readDir(`${dir}/wide.zarr/obs`));
    assert(files.length > 1000, `${files.length} entries in obs`);
    const f = await new ln.File(`${dir}/wide.zarr`, { key: "wide.zarr" }).save();

    const proto = ln.S3Storage.prototype;
    const { list, listFolders } = proto;
    const seen = { listed: 0, lists: 0, folders: 0 };
    proto.list = async function* (this: ln.S3Storage, prefix?: string) {
      seen.lists++;
      for await (const o of list.call(this, prefix)) {
        seen.listed++;
        yield o;
      }
    };
    proto.listFolders = function (this: ln.S3Storage, prefix: string) {
      seen.folders++;
      return listFolders.call(this, prefix);
    };
    try {
      for (const name of ["consolidated", "bare"]) {
        if (name === "bare") {
          // As anndata writes zarr: no consolidated metadata.
          const s3 = new ln.S3Storage(`s3://${bucket}/p`, options);
          assert(await s3.delete(`${f._objectKey}/.zmetadata`));
          s3.close();
        }
        Object.assign(seen, { listed: 0, lists: 0, folders: 0 });
        const q = f.subsetter();
        const { keys } = await rounds(async () => {
          const got = await f.stream({
            subsetObs: q.c1.gt(14),
            obsColumns: ["c1", "c1000"],
            isRunInput: false,
          });
          assertEquals(got.nObs, 5);
          assertEquals(got.obs.getColumn("c1000").toArray(), [15000, 16000, 17000, 18000, 19000]);
          assertEquals(Array.from(got.X!.toDense().data as Float32Array).slice(0, 2), [30, 31]);
        }, 0);
        assertEquals(seen.lists, 1, `${name}: one listing, stopped at its bound`);
        assert(seen.listed <= 4000, `${name}: ${seen.listed} keys listed`);
        const meta = keys.filter((k) => /\/(\.zarray|\.zattrs|\.zgroup|zarr\.json)$/.test(k));
        if (name === "consolidated") {
          // zarr v3's root document is asked with .zmetadata (at once), no other.
          const root = `${f._objectKey}/zarr.json`;
          assertEquals(meta.filter((k) => !k.endsWith(root)), [], "every document from .zmetadata");
          assertEquals(seen.folders, 0, "folders from .zmetadata");
        } else {
          assert(meta.length > 0, "documents asked");
          assert(meta.length < 60, `${meta.length} documents asked: only the elements read`);
          assert(seen.folders >= 1, "folders from delimiter listings");
        }
      }
    } finally {
      proto.list = list;
      proto.listFolders = listFolders;
    }
  },
);
