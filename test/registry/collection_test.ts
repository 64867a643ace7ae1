// Collections: many files as one — saved, versioned, labelled; loaded,
// streamed and mapped (worker shares) locally and on s3rver.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  freshInstance,
  listTree,
  tempDir,
} from "../_helpers.ts";
import { s3Server } from "../_s3.ts";
import { batchesAtOnce, globalOrder } from "../../src/registry/_collection_mapped.ts";
import { needsPython, python } from "../_python.ts";

const enc = new TextEncoder();

/** A cell's expected value: file f, row r, gene g (0 when the file lacks it). */
function value(f: number, r: number, gene: string): number {
  return (f + 1) * 100 + r * 10 + gene.charCodeAt(1) - 64;
}

/** Three AnnData parts: dense, CSR and CSC X; var names overlap in B and C. */
function parts(): { adata: ln.AnnData; genes: string[] }[] {
  const spec = [
    { n: 3, genes: ["GA", "GB", "GC"], kind: "dense" },
    { n: 4, genes: ["GB", "GC", "GD"], kind: "csr" },
    { n: 2, genes: ["GC", "GB"], kind: "csc" },
  ];
  return spec.map(({ n, genes, kind }, f) => {
    const dense = new Float32Array(n * genes.length);
    for (let r = 0; r < n; r++) {
      genes.forEach((g, j) => (dense[r * genes.length + j] = value(f, r, g)));
    }
    let X: ln.Matrix = new ln.DenseMatrix(dense, [n, genes.length]);
    if (kind === "csr") {
      X = new ln.CsrMatrix(
        dense,
        Int32Array.from({ length: dense.length }, (_, k) => k % genes.length),
        Int32Array.from({ length: n + 1 }, (_, i) => i * genes.length),
        [n, genes.length],
      );
    } else if (kind === "csc") {
      const data = new Float32Array(dense.length);
      const indices = new Int32Array(dense.length);
      let k = 0;
      for (let j = 0; j < genes.length; j++) {
        for (let r = 0; r < n; r++) (indices[k] = r, data[k++] = dense[r * genes.length + j]);
      }
      X = new ln.CscMatrix(
        data,
        indices,
        Int32Array.from({ length: genes.length + 1 }, (_, j) => j * n),
        [n, genes.length],
      );
    }
    const cellType = Array.from({ length: n }, (_, r) => (r % 2 ? "B cell" : "T cell"));
    return {
      genes,
      adata: new ln.AnnData({
        X,
        obs: pl.DataFrame({ cell_type: cellType, donor: cellType.map(() => `D${f}`) }),
        obsNames: Array.from({ length: n }, (_, r) => `f${f}c${r}`),
        varNames: genes,
        var: pl.DataFrame({ symbol: genes.map((g) => g.toLowerCase()) }),
      }),
    };
  });
}

async function saveParts(suffixes = [".h5ad", ".h5ad", ".zarr"]): Promise<ln.File[]> {
  const out: ln.File[] = [];
  for (const [i, p] of parts().entries()) {
    out.push(await new ln.File(p.adata, { key: `shards/s${i}${suffixes[i]}` }).save());
  }
  return out;
}

/** Check every cell of `m` against `value` for rows named by (file, row) pairs. */
function checkRows(
  m: ln.Matrix,
  rows: [number, number][],
  varNames: string[],
  outer: boolean,
): void {
  const d = m.toDense();
  const genesOf = parts().map((p) => p.genes);
  rows.forEach(([f, r], i) => {
    varNames.forEach((g, j) => {
      const want = genesOf[f].includes(g) ? value(f, r, g) : outer ? "missing" : value(f, r, g);
      const got = Number(d.get(i, j));
      if (want === "missing") assert(got === 0 || Number.isNaN(got), `row ${i} ${g}: ${got}`);
      else assertEquals(got, want, `row ${i} (file ${f}, row ${r}) gene ${g}`);
    });
  });
}

const ROWS: [number, number][] = [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2], [1, 3], [2, 0], [
  2,
  1,
]];

Deno.test("a collection of tables loads as one DataFrame, columns joined inner or outer", async () => {
  await freshInstance();
  try {
    const a = await new ln.File(pl.DataFrame({ x: [1, 2], y: ["a", "b"] }), { key: "a.parquet" })
      .save();
    const b = await new ln.File(enc.encode("x,z\n3,true\n"), { key: "b.csv" }).save();
    const c = await new ln.Collection([a, b], { name: "tables", description: "two" }).save();
    assertEquals(c.isSaved && c.isLatest && c.description, "two");
    assertEquals((await c.files.all()).map((f) => f.id), [a.id, b.id]);
    const inner = await c.load() as pl.DataFrame;
    assertEquals(inner.columns, ["x"]);
    assertEquals(inner.getColumn("x").toArray().map(Number), [1, 2, 3]);
    const outer = await c.load({ join: "outer" }) as pl.DataFrame;
    assertEquals(outer.columns.sort(), ["x", "y", "z"]);
    assertEquals(outer.getColumn("y").toArray(), ["a", "b", null]);
    await assertRejects(() => c.stream(), ln.ValidationError, /holds tables/);
    const s = await new ln.File(pl.DataFrame({ x: ["text"] }), { key: "s.parquet" }).save();
    const mixed = await new ln.Collection([a, s], { name: "mixed" }).load() as pl.DataFrame;
    assertEquals(
      mixed.getColumn("x").toArray(),
      ["1.0", "2.0", "text"],
      "an unsaved collection loads",
    );
  } finally {
    await ln.close();
  }
});

Deno.test("collections are versioned under their name, deduplicated by their files, and labelled", async () => {
  await freshInstance();
  try {
    const files = await Promise.all(
      ["a", "b", "c"].map((k) => new ln.File(enc.encode(k), { key: `${k}.txt` }).save()),
    );
    const v1 = await new ln.Collection(files.slice(0, 2), { name: "set" }).save();
    assertEquals(v1.id.length, 20);
    const same = await new ln.Collection(files.slice(0, 2), { name: "other" }).save();
    assertEquals(same.id, v1.id, "same files in the same order: the saved record");
    const v2 = await new ln.Collection(files, { name: "set", version: "2" }).save();
    assertEquals(v2.id.slice(0, 16), v1.id.slice(0, 16));
    assert(v2.id > v1.id);
    const v3 = await new ln.Collection([files[2]], { revises: v2 }).save();
    assertEquals([v3.name, v3.id.slice(0, 16)], ["set", v1.id.slice(0, 16)]);
    assertEquals((await ln.Collection.get({ name: "set" })).id, v3.id);
    assertEquals((await ln.Collection.filter({ name: "set" })).length, 1);
    assertEquals((await ln.Collection.filter({ name: "set", isLatest: [true, false] })).length, 3);
    assertEquals((await v1.versions()).map((c) => c.id), [v1.id, v2.id, v3.id]);
    const old = await ln.Collection.get(v1.id);
    assertEquals(old.isLatest, false);
    assertEquals((await ln.Collection.filter({ files: files[2] })).map((c) => c.id), [v3.id]);

    const label = await new ln.ULabel({ name: "training" }).save();
    await v3.ulabels.add(label);
    assertEquals((await v3.ulabels.all()).map((l) => l.name), ["training"]);
    assertEquals((await ln.Collection.filter({ ulabels: label })).map((c) => c.id), [v3.id]);

    await assertRejects(() => files[2].delete(), ln.IntegrityError, /in collection/);
    await v3.delete();
    assertEquals((await ln.Collection.get({ name: "set" })).id, v2.id, "previous is latest again");

    assert(String(v2).includes('name="set"'));
    const table = await ln.Collection.filter({ isLatest: [true, false] }, { orderBy: "id" }).df();
    assertEquals(table.getColumn("name").toArray(), ["set", "set"]);
    assert((await ln.view()).text.includes("Collection"), "ln.view() shows collections");
    for (
      const bad of [
        () => new ln.Collection([], { name: "x" }),
        () => new ln.Collection([files[0], files[0]], { name: "x" }),
        () => new ln.Collection([new ln.File(enc.encode("u"))], { name: "x" }),
        () => new ln.Collection(files, {}),
        () => new ln.Collection(files, { name: "x", version: " 2" }),
      ]
    ) {
      assert((() => {
        try {
          bad();
        } catch (e) {
          return e instanceof ln.ValidationError;
        }
        return false;
      })());
    }
  } finally {
    await ln.close();
  }
});

async function anndataCases(): Promise<void> {
  const files = await saveParts();
  const c = await new ln.Collection(files, { name: "atlas" }).save();

  const inner = await c.load() as ln.AnnData;
  assertEquals(inner.varNames, ["GB", "GC"]);
  assertEquals(inner.nObs, 9);
  assertEquals(inner.obsNames.slice(0, 4), ["f0c0", "f0c1", "f0c2", "f1c0"]);
  checkRows(inner.X!, ROWS, inner.varNames, false);
  assertEquals(
    inner.obs.getColumn("file_id").cast(pl.Utf8).toArray(),
    ROWS.map(([f]) => files[f].id),
  );
  assertEquals(inner.var.getColumn("symbol").toArray(), ["gb", "gc"]);

  const outer = await c.load({ join: "outer" }) as ln.AnnData;
  assertEquals(outer.varNames, ["GA", "GB", "GC", "GD"]);
  checkRows(outer.X!, ROWS, outer.varNames, true);
  assertEquals(outer.var.getColumn("symbol").toArray(), ["ga", "gb", "gc", "gd"]);

  const tcells = await c.stream({ subsetObs: new ln.LazyDataFrame().cell_type.eq("T cell") });
  const want = ROWS.filter(([, r]) => r % 2 === 0);
  assertEquals(tcells.nObs, want.length);
  checkRows(tcells.X!, want, tcells.varNames, false);
  assertEquals(
    new Set(tcells.obs.getColumn("cell_type").cast(pl.Utf8).toArray()),
    new Set(["T cell"]),
  );

  // Worker shares: disjoint, complete, deterministic, and every row's values
  // right, rows shuffled one by one or in runs (blockSize), read one batch
  // ahead or four, or (no prefetch) in groups of batches read at once.
  const variants: [boolean, number, number | undefined][] = [
    [false, 1, 1],
    [true, 1, 4],
    [true, 2, 0],
    [true, 1, undefined],
    [false, 1, undefined],
  ];
  for (const [shuffle, blockSize, prefetch] of variants) {
    for (const workers of [1, 2, 3]) {
      const seen: number[] = [];
      const counts: number[] = [];
      for (let worker = 0; worker < workers; worker++) {
        const mine: number[] = [];
        let batches = 0;
        for await (
          const b of c.mapped({
            batchSize: 2,
            shuffle,
            seed: 7,
            blockSize,
            prefetch,
            worker,
            workers,
            obsColumns: ["donor"],
          })
        ) {
          assert(b.index.length <= 2);
          assertEquals(b.varNames, ["GB", "GC"]);
          checkRows(b.X, b.index.map((g) => ROWS[g]), b.varNames, false);
          assertEquals(b.obs.donor, b.index.map((g) => `D${ROWS[g][0]}`));
          assertEquals(b.fileIds, b.index.map((g) => files[ROWS[g][0]].id));
          mine.push(...b.index);
          batches++;
        }
        counts.push(batches);
        // A share is one run of consecutive batches: in file order, one
        // stretch of rows.
        if (!shuffle) assertEquals(mine, mine.map((_, k) => mine[0] + k), `worker ${worker}`);
        const again: number[] = [];
        const again$ = c.mapped({ batchSize: 2, shuffle, seed: 7, blockSize, worker, workers });
        for await (const b of again$) {
          again.push(...b.index);
        }
        assertEquals(again, mine, "the same share every time");
        seen.push(...mine);
      }
      assertEquals(seen.length, 9, `${workers} workers: no row twice`);
      assert(Math.max(...counts) - Math.min(...counts) <= 1, `balanced shares: ${counts}`);
      if (!shuffle) assertEquals(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8], "the runs in worker order");
      assertEquals([...seen].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
      if (!shuffle && workers === 1) assertEquals(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    }
  }
  const coded: number[] = [];
  for await (const b of c.mapped({ batchSize: 4, obsColumns: ["donor"], encodeLabels: true })) {
    assertEquals(b.labels.donor, ["D0", "D1", "D2"]);
    coded.push(...(b.obs.donor as number[]));
  }
  assertEquals(coded, ROWS.map(([f]) => f));
  const order = async (seed: number) => {
    const out: number[] = [];
    for await (const b of c.mapped({ batchSize: 4, shuffle: true, seed })) out.push(...b.index);
    return out.join();
  };
  assert(await order(1) !== await order(2), "another seed, another order");
  let n = 0;
  for await (const b of c.mapped({ batchSize: 4, dropLast: true, join: "outer" })) {
    assertEquals(b.X.shape, [4, 4]);
    n++;
  }
  assertEquals(n, 2);
}

Deno.test("lamindb 1.x's collection key is the name: taken as one, and where { key } says so", async () => {
  await freshInstance();
  try {
    const f = await new ln.File(enc.encode("k"), { key: "k.txt" }).save();
    const c = await new ln.Collection([f], { key: "scrna/atlas" }).save();
    assertEquals(c.name, "scrna/atlas");
    // And read as one: key, uid and artifacts are name, id and files.
    assertEquals([c.key, c.uid], ["scrna/atlas", c.id]);
    assertEquals((await c.artifacts.all()).map((x) => x.id), [f.id]);
    assertEquals(c.artifacts, c.files);
    const renamed = await ln.Collection.get(c.uid);
    renamed.key = "scrna/atlas2";
    assertEquals(renamed.name, "scrna/atlas2");
    assert(!Object.keys(c).includes("key") && !JSON.stringify(c).includes('"uid"'));
    assertEquals((await ln.Collection.get({ name: "scrna/atlas" })).id, c.id);
    await assertRejects(
      () => new ln.Collection([f], { key: "a", name: "b" }),
      ln.ValidationError,
      /got key "a" and name "b"/,
    );
    await assertRejects(
      () => ln.Collection.filter({ key: "scrna/atlas" }).all(),
      ln.ValidationError,
      /lamindb's key is written name here/,
    );
    await assertRejects(
      () => ln.Collection.filter({ key__startswith: "scrna/" }).all(),
      ln.ValidationError,
      /\{ name: \{ startsWith: "scrna\/" \} \}/,
    );
    // Not a hint where lamindb has no such key either (a run).
    const e = await assertRejects(() => ln.Run.filter({ key: "x" }).all(), ln.ValidationError);
    assert(!(e as Error).message.includes("lamindb's key"), (e as Error).message);
    assertEquals(await ln.Collection.filter({}).count(), 1);
  } finally {
    await ln.close();
  }
});

Deno.test("AnnData files load, stream and map as one: var joined, a file_id column, worker shares disjoint and complete", async () => {
  await freshInstance();
  try {
    await anndataCases();
  } finally {
    await ln.close();
  }
});

Deno.test("mixed or disjoint collections are typed errors before any data is read; a missing shard is a StorageError naming it", async () => {
  await freshInstance();
  try {
    const [a, b] = await saveParts();
    const table = await new ln.File(pl.DataFrame({ x: [1] }), { key: "t.parquet" }).save();
    const mixed = await new ln.Collection([a, table], { name: "mixed" }).save();
    // The AnnData's object is gone: a ValidationError, not a StorageError, shows nothing was read.
    await Deno.remove(a.path());
    for (
      const op of [
        () => mixed.load(),
        () => mixed.stream(),
        () => mixed.mapped()[Symbol.asyncIterator]().next(),
      ]
    ) {
      await assertRejects(op, ln.ValidationError, /mixes AnnData .* with tables/);
    }
    const lonely = new ln.AnnData({
      X: new ln.DenseMatrix(new Float32Array([1]), [1, 1]),
      varNames: ["OTHER"],
    });
    const other = await new ln.File(lonely, { key: "other.h5ad" }).save();
    const disjoint = await new ln.Collection([b, other], { name: "disjoint" }).save();
    await assertRejects(() => disjoint.load(), ln.ValidationError, /no var name in common/);
    await assertRejects(
      () => disjoint.mapped()[Symbol.asyncIterator]().next(),
      ln.ValidationError,
      /no var name in common/,
    );
    const outer = await disjoint.load({ join: "outer" }) as ln.AnnData;
    assertEquals(outer.varNames, ["GB", "GC", "GD", "OTHER"]);
    await assertRejects(
      () => disjoint.mapped({ obsColumns: ["nope"], join: "outer" })[Symbol.asyncIterator]().next(),
      ln.ValidationError,
      /no obs column "nope"/,
    );
    await assertRejects(
      () => disjoint.mapped({ worker: 2, workers: 2 })[Symbol.asyncIterator]().next(),
      ln.ValidationError,
      /worker is 0..1/,
    );
    for (const bad of [{ prefetch: -1 }, { blockSize: 0 }, { batchSize: 0 }]) {
      await assertRejects(
        () => disjoint.mapped(bad)[Symbol.asyncIterator]().next(),
        ln.ValidationError,
        new RegExp(`${Object.keys(bad)[0]} is a whole number`),
      );
    }
    const gone = await new ln.Collection([b, a], { name: "gone" }).save();
    for (
      const op of [
        () => gone.load(),
        () => gone.stream(),
        () => gone.mapped()[Symbol.asyncIterator]().next(),
      ]
    ) {
      await assertRejects(op, ln.StorageError, new RegExp(`file ${a.id} \\(shards/s0.h5ad\\)`));
    }
  } finally {
    await ln.close();
  }
});

Deno.test("a zarr shard deleted while mapped is a StorageError naming it, not zeros", async () => {
  await freshInstance();
  try {
    const part = (n: number) =>
      new ln.AnnData({
        X: new ln.DenseMatrix(new Float32Array(n * 2).fill(5), [n, 2]),
        varNames: ["A", "B"],
      });
    const a = await new ln.File(part(2), { key: "a.zarr" }).save();
    const b = await new ln.File(part(6), { key: "b.zarr" }).save();
    const c = await new ln.Collection([a, b], { name: "z" }).save();
    // One batch ahead (by default, local batches are read in groups: all of these at once).
    const it = c.mapped({ batchSize: 2, prefetch: 1 })[Symbol.asyncIterator]();
    assertEquals((await it.next()).value!.X.toDense().data, new Float32Array(4).fill(5));
    await Deno.remove(b.path(), { recursive: true });
    const err = await assertRejects(async () => {
      for (let r = await it.next(); !r.done; r = await it.next()) {
        assertEquals(r.value.X.toDense().data, new Float32Array(4).fill(5), "read before");
      }
    }, ln.StorageError);
    assert(err.message.includes(`file ${b.id} (b.zarr)`), err.message);
  } finally {
    await ln.close();
  }
});

Deno.test("a batch of mapped() reads its rows (and the next batch's, or its group's), not the files", async () => {
  await freshInstance();
  try {
    const n = 20_000;
    const genes = Array.from({ length: 100 }, (_, j) => `G${j}`);
    const big = new ln.AnnData({
      X: new ln.DenseMatrix(Float32Array.from({ length: n * 100 }, (_, i) => i % 997), [n, 100]),
      varNames: genes,
    });
    const f = await new ln.File(big, { key: "big.h5ad" }).save();
    const c = await new ln.Collection([f], { name: "big" }).save();
    const first = async (prefetch?: number) => {
      const io = { bytesRead: 0, requests: 0 };
      for await (const b of c.mapped({ batchSize: 16, shuffle: true, seed: 5, io, prefetch })) {
        const d = b.X.toDense();
        b.index.forEach((g, i) => assertEquals(Number(d.get(i, 3)), (g * 100 + 3) % 997));
        break;
      }
      return io.bytesRead;
    };
    // One batch ahead: two batches' rows.
    const one = await first(1);
    assert(one > 16 * 100 * 4, `read ${one} bytes`);
    assert(one < f.size! * 0.02, `read ${one} of ${f.size} bytes`);
    // By default, two groups of 256 batches (4,096 rows each, read through
    // the gaps between them on local storage): more than the rows, at most
    // twice the matrix.
    const grouped = await first();
    assert(grouped > 8_000 * 100 * 4, `read ${grouped} bytes`);
    assert(grouped < 2 * f.size!, `read ${grouped} of ${f.size} bytes`);
  } finally {
    await ln.close();
  }
});

Deno.test("batches are read in groups of at most 16,384 rows and 32 MB", () => {
  // The 200k-cell atlas's X (~800 stored bytes a row): 16,384 rows, 128 batches of 128.
  assertEquals(batchesAtOnce(800, 128), 128);
  assertEquals(batchesAtOnce(800, 64), 256, "at most 256 batches");
  assertEquals(batchesAtOnce(800, 1), 256);
  assertEquals(batchesAtOnce(800, 4096), 4);
  // Dense rows of 36,000 float32 genes (144 kB): 233 rows, 3 batches of 64.
  assertEquals(batchesAtOnce(144_000, 64), 3);
  // Rows larger than a group, batches larger than a group, empty rows: one batch.
  assertEquals(batchesAtOnce(64 << 20, 1), 1);
  assertEquals(batchesAtOnce(800, 10_000), 1);
  assertEquals(batchesAtOnce(0, 64), 256);
});

Deno.test("a shuffle in blocks is a permutation whose batches are a few runs of consecutive rows", () => {
  for (const [n, block, batch] of [[1000, 16, 64], [1001, 7, 50], [5, 8, 2]]) {
    const order = Array.from(globalOrder(n, true, 3, block, batch));
    assertEquals([...order].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    for (let s = 0; s < n; s += batch) {
      const rows = order.slice(s, s + batch).sort((a, b) => a - b);
      const runs = rows.filter((g, i) => i === 0 || g !== rows[i - 1] + 1).length;
      assert(runs <= Math.ceil(batch / block) + 1, `batch at ${s}: ${runs} runs`);
    }
  }
  const byRow = Array.from(globalOrder(1000, true, 3));
  const rows = byRow.slice(0, 64).sort((a, b) => a - b);
  assert(rows.filter((g, i) => i === 0 || g !== rows[i - 1] + 1).length > 40, "rows one by one");
});

Deno.test("reading a collection links it and its files as inputs of the tracked run", async () => {
  await freshInstance();
  try {
    const files = await saveParts();
    const c = await new ln.Collection(files, { name: "atlas" }).save();
    const run = await ln.track({ name: "train.ts" });
    for await (const _ of c.mapped({ batchSize: 100 })) { /* one batch */ }
    assertEquals((await c.inputOf.all()).map((r) => r.id), [run.id]);
    assertEquals((await run.inputs.all()).map((f) => f.id).sort(), files.map((f) => f.id).sort());
    const made = await new ln.Collection(files.slice(1), { name: "subset" }).save();
    assertEquals(made.runId, run.id);
    await made.load();
    assertEquals((await made.inputOf.all()).length, 0, "a run's own output is not its input");
    await ln.finish();
  } finally {
    await ln.close();
  }
});

Deno.test({
  name:
    "collections load, stream and map on S3 (s3rver); a shard deleted mid-stream is a StorageError and nothing half-written is cached",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    const bucket = await server.bucket();
    const cache = await tempDir();
    try {
      await ln.init({ storage: `s3://${bucket}/p`, s3: server.options, cacheDir: cache });
      await anndataCases();
      const files = await saveParts([".h5ad", ".h5ad", ".h5ad"]);
      const c = await new ln.Collection(files, { name: "doomed" }).save();
      // Read ahead on S3, batches are read in pairs (one plan for both):
      // fewer requests than batch by batch, the same rows.
      const pass = async (prefetch?: number) => {
        const io = { bytesRead: 0, requests: 0 }, rows: number[] = [];
        for await (const b of c.mapped({ batchSize: 1, prefetch, io })) rows.push(...b.index);
        return { rows, requests: io.requests };
      };
      const single = await pass(1), paired = await pass();
      assertEquals(paired.rows, single.rows);
      assert(
        paired.requests < single.requests,
        `in pairs ${paired.requests} requests, batch by batch ${single.requests}`,
      );
      // No read-ahead: the batches after the deletion are read after it.
      const it = c.mapped({ batchSize: 3, prefetch: 0 })[Symbol.asyncIterator]();
      assertEquals((await it.next()).value!.index, [0, 1, 2]);
      const backend = new ln.S3Storage(`s3://${bucket}/p`, server.options);
      await backend.delete(files[2]._objectKey);
      const err = await assertRejects(async () => {
        while (!(await it.next()).done) { /* read on */ }
      }, ln.StorageError);
      assert(err.message.includes(files[2].id), err.message);
      await assertRejects(() => c.load(), ln.StorageError, new RegExp(files[2].id));
      await assertRejects(() => c.stream(), ln.StorageError, new RegExp(files[2].id));
      const partial = (await listTree(cache)).filter((p) => p.endsWith(".part"));
      assertEquals(partial, []);
    } finally {
      await ln.close();
    }
  },
});

const py = needsPython("collections against anndata", "anndata", "scipy", "numpy");

Deno.test({
  name: "load() of AnnData files matches Python anndata's concat (inner and outer, label file_id)",
  ...py,
  async fn() {
    const root = await freshInstance();
    try {
      const files = await saveParts([".h5ad", ".h5ad", ".h5ad"]);
      const c = await new ln.Collection(files, { name: "peer" }).save();
      const out = await tempDir();
      for (const join of ["inner", "outer"] as const) {
        await ln.writeH5ad(await c.load({ join }) as ln.AnnData, `${out}/${join}.h5ad`);
      }
      const report = await python(
        `
import sys, json, anndata as ad, numpy as np, scipy.sparse as sp
out, ids, paths = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
parts = [ad.read_h5ad(p) for p in paths]
res = {}
for join in ["inner", "outer"]:
    want = ad.concat(parts, join=join, label="file_id", keys=ids)
    got = ad.read_h5ad(f"{out}/{join}.h5ad")
    dense = lambda m: np.nan_to_num(m.toarray() if sp.issparse(m) else np.asarray(m))
    res[join] = {
        "var": [list(got.var_names), list(want.var_names)],
        "obs": [list(got.obs_names), list(want.obs_names)],
        "file_id": [list(got.obs["file_id"].astype(str)), list(want.obs["file_id"].astype(str))],
        "X": bool(np.array_equal(dense(got.X), dense(want.X))),
        "cell_type": [list(got.obs["cell_type"].astype(str)), list(want.obs["cell_type"].astype(str))],
    }
print(json.dumps(res))
`,
        out,
        files.map((f) => f.id).join(","),
        files.map((f) => f.path()).join(","),
      );
      const res = JSON.parse(report.trim().split("\n").pop()!);
      for (const join of ["inner", "outer"]) {
        for (const k of ["var", "obs", "file_id", "cell_type"]) {
          assertEquals(res[join][k][0], res[join][k][1], `${join} ${k}`);
        }
        assertEquals(res[join].X, true, `${join} X`);
      }
      assert(root);
    } finally {
      await ln.close();
    }
  },
});

Deno.test("collection.stream keeps an ordered categorical its files share ordered, cut to the categories the subset uses", async () => {
  await freshInstance();
  try {
    const part = (i: number, st: string[]) =>
      new ln.AnnData({
        X: new ln.DenseMatrix(Float32Array.from(st, () => 1), [st.length, 1]),
        varNames: ["A"],
        obsNames: st.map((_, k) => `c${i}_${k}`),
        obs: pl.DataFrame({
          st: pl.Series("st", st).cast(pl.Categorical),
          k: st.map((_, k) => k),
        }),
        categories: { obs: { st: { categories: ["lo", "mid", "hi", "top"], ordered: true } } },
      });
    const files = [
      await new ln.File(part(0, ["lo", "hi", "top"]), { key: "o0.h5ad" }).save(),
      await new ln.File(part(1, ["mid", "top", "mid"]), { key: "o1.zarr", format: "zarr" }).save(),
    ];
    const c = await new ln.Collection(files, { name: "ordered" }).save();
    // Rows k <= 1: file 0 uses lo and hi, file 1 mid (and top in neither).
    const s = await c.stream({ subsetObs: new ln.LazyDataFrame().k.le(1), isRunInput: false });
    assertEquals(s.obs.getColumn("st").cast(pl.Utf8).toArray(), ["lo", "hi", "mid", "top"]);
    assertEquals(s.categories.obs.st, { categories: ["lo", "mid", "hi", "top"], ordered: true });
    const t = await c.stream({ subsetObs: new ln.LazyDataFrame().k.eq(0), isRunInput: false });
    assertEquals(t.categories.obs.st, { categories: ["lo", "mid"], ordered: true });
  } finally {
    await ln.close();
  }
});
