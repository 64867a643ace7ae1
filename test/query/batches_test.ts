// file.batches(): the selected rows as AnnData batches in row order, each
// reading only its rows; bad batch sizes and names refused before reading.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance } from "../_helpers.ts";
import { py, pyFixtures } from "./_py_fixtures.ts";
import { python } from "../_python.ts";
import { atlas } from "./_atlas.ts";

async function withFile(name: string, fn: (file: ln.File) => Promise<void>): Promise<void> {
  const dir = await pyFixtures();
  const root = await freshInstance();
  try {
    await fn(await new ln.File(`${dir}/${name}`).save());
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
}

function rowsOf(m: ln.DenseMatrix | ln.CsrMatrix | ln.CscMatrix | undefined): number[] {
  return Array.from(m!.toDense().data as Float32Array);
}

for (const name of ["csr.h5ad", "csc.h5ad", "dense.zarr", "csr.zarr"]) {
  Deno.test({
    name: `batches() of ${name} yield stream()'s rows in row order, batchSize at a time`,
    ...py,
    async fn() {
      await withFile(name, async (file) => {
        const df = file.subsetter();
        for (const subsetObs of [df.cell_type.isin(["T cell", "B cell"]), undefined]) {
          const full = await file.stream({ subsetObs });
          const got: ln.AnnData[] = [];
          for await (const b of file.batches({ subsetObs, batchSize: 7 })) got.push(b);
          const sizes = got.map((b) => b.nObs);
          assertEquals(sizes.reduce((x, y) => x + y, 0), full.nObs);
          assert(sizes.slice(0, -1).every((n) => n === 7) && sizes.at(-1)! <= 7, `${sizes}`);
          assertEquals(got.flatMap((b) => b.obsNames), full.obsNames, "row order");
          assertEquals(got.flatMap((b) => rowsOf(b.X)), rowsOf(full.X));
          assertEquals(got.flatMap((b) => rowsOf(b.layers.counts)), rowsOf(full.layers.counts));
          assertEquals(
            got.flatMap((b) => rowsOf(b.obsm.X_pca as ln.DenseMatrix)),
            rowsOf(full.obsm.X_pca as ln.DenseMatrix),
          );
          assertEquals(
            got.flatMap((b) => b.obs.getColumn("cell_type").toArray()),
            full.obs.getColumn("cell_type").toArray(),
          );
          for (const b of got) {
            assertEquals(b.varNames, full.varNames);
            assertEquals(b.uns, { note: "hi" });
          }
        }
      });
    },
  });
}

// The atlas as h5ad (ours), and as zarr written by Python with every array
// rechunked to 500 rows (our zarr writer and anndata 0.8's write sparse
// arrays as one chunk, which can only be read whole).
const RECHUNKED = `
import sys, anndata as ad, zarr
ad.read_h5ad(sys.argv[1]).write_zarr(sys.argv[2])
g = zarr.open_group(sys.argv[2], "r+")
def rechunk(name, a):
    if isinstance(a, zarr.Array) and a.shape and a.shape[0] > 500:
        data, attrs = a[...], dict(a.attrs)
        parent, leaf = name.rsplit("/", 1) if "/" in name else ("", name)
        grp = g[parent] if parent else g
        del grp[leaf]
        b = grp.create_dataset(leaf, data=data, chunks=(500,) + a.shape[1:], dtype=a.dtype,
                               compressor=a.compressor, object_codec=a.filters[0] if a.filters else None)
        b.attrs.update(attrs)
names = []
g.visititems(lambda n, a: names.append(n))
for n in names:
    rechunk(n, g[n])
`;
const LAYOUTS = [
  { suffix: ".h5ad", options: {} },
  { suffix: ".zarr", options: {} },
] as const;

for (const { suffix, options } of LAYOUTS) {
  Deno.test({
    name: `batches() of a ${suffix} read only each batch's rows: all batches ~ one stream()`,
    ...(suffix === ".zarr" ? py : {}),
  }, async () => {
    const root = await freshInstance();
    try {
      const path = `${root}/atlas${suffix}`;
      await ln.writeH5ad(atlas(4000, 200), `${root}/atlas.h5ad`);
      if (suffix === ".zarr") {
        await python(
          RECHUNKED,
          `${root}/atlas.h5ad`,
          path,
        );
      }
      const file = await new ln.File(path).save();
      const subsetObs = file.subsetter().donor.eq("D1");
      const whole = { bytesRead: 0, requests: 0 };
      const full = await file.stream({ subsetObs, io: whole, ...options });
      const first = { bytesRead: 0, requests: 0 };
      for await (const b of file.batches({ subsetObs, batchSize: 50, io: first, ...options })) {
        assertEquals(b.obsNames, full.obsNames.slice(0, 50));
        break; // closes the file
      }
      const io = { bytesRead: 0, requests: 0 };
      let rows = 0, batches = 0;
      for await (const b of file.batches({ subsetObs, batchSize: 100, io, ...options })) {
        rows += b.nObs;
        batches++;
      }
      assertEquals([rows, batches], [1000, 10]);
      // 50 of 1000 selected rows: a small part of what the whole selection reads.
      assert(first.bytesRead < whole.bytesRead / 3, `${first.bytesRead} of ${whole.bytesRead}`);
      // Ten batches read about what one stream() of the selection reads (no row twice).
      assert(io.bytesRead < whole.bytesRead * 1.5, `${io.bytesRead} vs ${whole.bytesRead}`);
      const proj = { bytesRead: 0, requests: 0 };
      for await (
        const b of file.batches({
          subsetObs,
          batchSize: 300,
          obsColumns: ["donor"],
          layers: false,
          obsm: false,
          X: false,
          io: proj,
        })
      ) {
        assertEquals(b.obs.columns, ["donor"]);
        assertEquals([b.X, Object.keys(b.layers), Object.keys(b.obsm)], [undefined, [], []]);
      }
      assert(proj.bytesRead < io.bytesRead / 3, `projected: ${proj.bytesRead} of ${io.bytesRead}`);
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test({
  name: "batches() refuses batchSize <= 0 at once and unknown names before reading data",
  ...py,
  async fn() {
    await withFile("csr.h5ad", async (file) => {
      for (const batchSize of [0, -3, 1.5, "10", undefined]) {
        let err: unknown;
        try {
          file.batches({ batchSize } as never); // throws without awaiting
        } catch (e) {
          err = e;
        }
        assert(err instanceof ln.ValidationError, `batchSize ${batchSize}: ${err}`);
        assert(/batchSize must be a positive integer/.test(err.message), err.message);
      }
      const least = { bytesRead: 0, requests: 0 };
      await file.stream({
        obsColumns: [],
        varColumns: [],
        layers: false,
        obsm: false,
        X: false,
        io: least,
      });
      for (
        const [options, re] of [
          [{ layers: ["raw"] }, /its layer names are: counts$/],
          [{ obsm: ["umap"] }, /its obsm names are: X_pca$/],
          [{ obsColumns: ["age"] }, /no obs column "age"/],
        ] as const
      ) {
        const io = { bytesRead: 0, requests: 0 };
        const it = file.batches({ ...options, batchSize: 10, io });
        await assertRejects(() => it[Symbol.asyncIterator]().next(), ln.ColumnNotFoundError, re);
        assert(io.bytesRead > 0 && io.bytesRead < least.bytesRead, `${io.bytesRead} bytes`);
      }
      await assertRejects(
        () => file.batches({ batchSize: 5, layers: 3 as never })[Symbol.asyncIterator]().next(),
        ln.ValidationError,
        /layers/,
      );
    });
  },
});

/** A CSR AnnData of `n` rows x 1,000 genes, `perRow` values a row (typed arrays, fast to build). */
function wide(n: number, perRow: number): ln.AnnData {
  const indptr = Int32Array.from({ length: n + 1 }, (_, i) => i * perRow);
  const indices = Int32Array.from({ length: n * perRow }, (_, k) => (k % perRow) * 7);
  const data = Float32Array.from({ length: n * perRow }, (_, k) => k % 1000);
  return new ln.AnnData({
    X: new ln.CsrMatrix(data, indices, indptr, [n, 1000]),
    obs: pl.DataFrame({ group: Int32Array.from({ length: n }, (_, i) => i % 2) }),
    obsNames: Array.from({ length: n }, (_, i) => `c${i}`),
    varNames: Array.from({ length: 1000 }, (_, j) => `g${j}`),
  });
}

Deno.test("batches() of 10 MB each, kept by the caller, stay intact while later ones are read", async () => {
  const root = await freshInstance();
  try {
    // 60,000 rows x 100 values: each 12,000-row batch holds 9.6 MB of X, more
    // than COLLECT_BYTES, so a collection runs between batches.
    await ln.writeH5ad(wide(60_000, 100), `${root}/wide.h5ad`);
    const file = await new ln.File(`${root}/wide.h5ad`).save();
    const kept: ln.AnnData[] = [];
    for await (const b of file.batches({ batchSize: 12_000 })) kept.push(b);
    assertEquals(kept.map((b) => b.nObs), [12_000, 12_000, 12_000, 12_000, 12_000]);
    for (const [i, b] of kept.entries()) {
      const x = b.X as ln.CsrMatrix;
      assertEquals(x.data.length, 1_200_000);
      const first = i * 1_200_000;
      assertEquals([x.data[0], x.data[1_199_999]], [first % 1000, (first + 1_199_999) % 1000]);
      assertEquals([b.obsNames[0], b.obsNames[11_999]], [
        `c${i * 12_000}`,
        `c${i * 12_000 + 11_999}`,
      ]);
    }
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("batches() let go of by a for-await loop are collected while the batch after next is read", async () => {
  const root = await freshInstance();
  try {
    await ln.writeH5ad(wide(60_000, 100), `${root}/wide.h5ad`);
    const file = await new ln.File(`${root}/wide.h5ad`).save();
    // The loop holds the batch it last got until the next one arrives; the
    // one before must be gone by then (collected before the matrices are
    // read). Each is looked at once only: deref() keeps its target for the
    // rest of the job.
    const refs: WeakRef<object>[] = [];
    const gone: boolean[] = [];
    for await (const b of file.batches({ batchSize: 12_000 })) {
      if (refs.length >= 2) gone.push(refs[refs.length - 2].deref() === undefined);
      refs.push(new WeakRef((b.X as ln.CsrMatrix).data));
    }
    assertEquals(gone, [true, true, true]);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});
