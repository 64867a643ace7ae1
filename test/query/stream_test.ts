// file.stream() against Python anndata/pandas selecting the same rows.
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance, tempDir } from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";

const py = needsPython("streaming", "anndata", "h5py", "scipy", "pandas", "zarr");
const SCRIPT = new URL("./_stream_fixture.py", import.meta.url).pathname;

let fixtures: Promise<string> | undefined;
function pyFixtures(): Promise<string> {
  fixtures ??= (async () => {
    const dir = await tempDir("lamindeno-stream-");
    await python(await Deno.readTextFile(SCRIPT), "write", dir);
    return dir;
  })();
  return fixtures;
}

type Q = {
  name: string;
  obs?: (df: ln.LazyDataFrame) => ln.Expression;
  var?: (df: ln.LazyDataFrame) => ln.Expression;
  pyObs?: string;
  pyVar?: string;
};

const QUERIES: Q[] = [
  {
    name: "the seed example",
    obs: (df) =>
      df.cell_type.isin(["dendritic cell", "T cell"]).and(df.disease.isin(["Alzheimer's"])),
    var: (df) => df.highly_variable,
    pyObs: `obs.cell_type.isin(["dendritic cell", "T cell"]) & obs.disease.isin(["Alzheimer's"])`,
    pyVar: "var.highly_variable",
  },
  {
    name: "not isin on a categorical with missing values",
    obs: (df) => df.cell_type.isin(["B cell"]).not(),
    pyObs: `~obs.cell_type.isin(["B cell"]) & obs.cell_type.notna()`,
  },
  { name: "missing categories", obs: (df) => df.cell_type.isNull(), pyObs: "obs.cell_type.isna()" },
  {
    name: "ints and floats with NaN",
    obs: (df) => df.n_genes.gt(1500).or(df.score.le(2)),
    pyObs: "(obs.n_genes > 1500) | (obs.score <= 2)",
  },
  {
    name: "not of a float comparison keeps NaN out",
    obs: (df) => df.score.gt(5).not(),
    pyObs: "(obs.score <= 5)",
  },
  {
    name: "bools",
    obs: (df) => df.qc.not().and(df.donor.ne("D2")),
    pyObs: '~obs.qc & (obs.donor != "D2")',
  },
  { name: "ordered categorical", obs: (df) => df.grade.ge("mid"), pyObs: 'obs.grade >= "mid"' },
  {
    name: "strings",
    obs: (df) => df.donor.eq("D3"),
    var: (df) => df.mean.lt(0.5),
    pyObs: 'obs.donor == "D3"',
    pyVar: 'var["mean"] < 0.5',
  },
  { name: "empty selection", obs: (df) => df.n_genes.gt(10_000), pyObs: "obs.n_genes > 10000" },
  { name: "full selection", obs: (df) => df.n_genes.ge(0), pyObs: "obs.n_genes >= 0" },
];

const FILES = [
  "csr.h5ad",
  "csr_gzip.h5ad",
  "csc.h5ad",
  "dense.h5ad",
  "csr.zarr",
  "csc.zarr",
  "dense.zarr",
];

for (const name of FILES) {
  Deno.test({
    name: `stream() of ${name}: every query selects what anndata/pandas select`,
    ...py,
    async fn() {
      const dir = await pyFixtures();
      const qfile = `${dir}/queries-${name}.json`;
      await Deno.writeTextFile(
        qfile,
        JSON.stringify(QUERIES.map((q) => ({ obs: q.pyObs, var: q.pyVar }))),
      );
      const answers = JSON.parse(
        await python(await Deno.readTextFile(SCRIPT), "answer", `${dir}/${name}`, qfile),
      );
      const root = await freshInstance();
      try {
        const file = await new ln.File(`${dir}/${name}`).save();
        const df = file.subsetter();
        for (const [i, q] of QUERIES.entries()) {
          const io = { bytesRead: 0, requests: 0 };
          const a = await file.stream({ subsetObs: q.obs?.(df), subsetVar: q.var?.(df), io });
          const want = answers[i];
          const what = `${name} / ${q.name}`;
          assertEquals(a.obsNames, want.obs, what);
          assertEquals(a.varNames, want.var, what);
          assertEquals(Array.from(a.X!.toDense().data as Float32Array), want.X, what);
          assertEquals(
            Array.from((a.obsm.X_pca as ln.DenseMatrix).data as Float32Array),
            want.pca,
            what,
          );
          assertEquals(
            Array.from(a.layers.counts.toDense().data as Float32Array),
            want.counts,
            what,
          );
          assertEquals(
            Array.from(a.obsp.distances.toDense().data as Float64Array),
            want.dist,
            what,
          );
          assertEquals(a.obs.getColumn("cell_type").toArray(), want.cell_type, what);
          assertEquals(a.uns, { note: "hi" });
          assert(io.bytesRead > 0, "bytes are counted");
        }
      } finally {
        await ln.close();
        await Deno.remove(root, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "stream(): unknown columns, non-AnnData files and bad options are refused",
  ...py,
  async fn() {
    const dir = await pyFixtures();
    const root = await freshInstance();
    try {
      const file = await new ln.File(`${dir}/csr.zarr`).save();
      const df = file.subsetter();
      await assertRejects(
        () => file.stream({ subsetObs: df.no_such.eq(1) }),
        ln.ColumnNotFoundError,
        /no column "no_such" in obs; its columns are: cell_type, disease/,
      );
      await assertRejects(
        () => file.stream({ subsetVar: df.cell_type.eq("T cell") }),
        ln.ColumnNotFoundError,
        /in var; its columns are: highly_variable, mean/,
      );
      await assertRejects(
        () => file.stream({ subsetObs: "cell_type == 'T cell'" as never }),
        ln.ValidationError,
        /subsetter/,
      );
      const csv = await new ln.File(new TextEncoder().encode("a\n1\n"), { key: "t.csv" }).save();
      await assertRejects(() => csv.stream(), ln.UnsupportedFormatError, /\.csv/);
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "stream() of a zarr whose indptr lost its last chunk (zeros), or a string array a " +
    "chunk: CorruptFileError, as a whole read, not empty rows or numbers",
  ...py,
  async fn() {
    const dir = await pyFixtures();
    const root = await freshInstance();
    try {
      const copy = `${root}/copy/csr.zarr`;
      await Deno.mkdir(`${root}/copy`);
      await new Deno.Command("cp", { args: ["-r", `${dir}/csr.zarr`, copy] }).output();
      const chunks = [];
      for await (const e of Deno.readDir(`${copy}/X/indptr`)) {
        if (/^\d+$/.test(e.name)) chunks.push(Number(e.name));
      }
      assert(chunks.length > 0);
      await Deno.remove(`${copy}/X/indptr/${Math.max(...chunks)}`);
      await assertRejects(() => ln.readZarr(copy), ln.CorruptFileError, /indptr ends at/);
      const file = await new ln.File(copy).save();
      const df = file.subsetter();
      await assertRejects(
        () => file.stream({ subsetObs: df.cell_type.eq("T cell") }),
        ln.CorruptFileError,
        /indptr ends at \d+, not at \d+ entries/,
      );
      // A string array's chunk gone: its fill value (zarr's 0) is no string.
      const other = `${root}/copy/strings.zarr`;
      await new Deno.Command("cp", { args: ["-r", `${dir}/csr.zarr`, other] }).output();
      await Deno.remove(`${other}/obs/cell_type/categories/0`);
      await assertRejects(
        () => ln.readZarr(other),
        ln.CorruptFileError,
        /categories holds strings/,
      );
      const strings = await new ln.File(other).save();
      await assertRejects(
        () => strings.stream({ subsetObs: strings.subsetter().cell_type.eq("T cell") }),
        ln.CorruptFileError,
        /categories holds strings, but its element 0 reads as 0/,
      );
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

for (const name of ["csr.zarr", "csc.h5ad", "dense.zarr"]) {
  Deno.test({
    name: `backed() of ${name}: lazy obs/var, X rows and columns on demand, toMemory()`,
    ...py,
    async fn() {
      const dir = await pyFixtures();
      const root = await freshInstance();
      try {
        const file = await new ln.File(`${dir}/${name}`).save();
        const full = await file.load() as ln.AnnData;
        const b = await file.backed();
        try {
          assertEquals(b.shape, [60, 25]);
          const before = b.io.bytesRead;
          assertEquals(await b.obsNames(), full.obsNames);
          assertEquals((await b.var()).columns, ["highly_variable", "mean"]);
          const rows = [1, 5, 6, 40], cols = [0, 3, 24];
          const part = await b.X!.get(rows, cols);
          const dense = full.X!.toDense();
          const want = rows.flatMap((r) => cols.map((c) => dense.data[r * 25 + c]));
          assertEquals(Array.from(part.toDense().data as Float32Array), want);
          assertEquals(
            Array.from((await b.layers.counts.get([2])).toDense().data as Float32Array),
            Array.from(full.layers.counts.toDense().data as Float32Array).slice(50, 75),
          );
          const all = await b.toMemory();
          assertEquals(
            Array.from(all.X!.toDense().data as Float32Array),
            Array.from(dense.data as Float32Array),
          );
          assert(b.io.bytesRead > before, "reads are counted");
          await assertRejects(() => b.X!.get([3, 1]), ln.ValidationError, /ascending/);
          await assertRejects(() => b.X!.get([60]), ln.ValidationError, /out of range/);
        } finally {
          b.close();
        }
      } finally {
        await ln.close();
        await Deno.remove(root, { recursive: true });
      }
    },
  });
}

for (const name of ["csr.h5ad", "csc.zarr"]) {
  Deno.test({
    name:
      `backed() of ${name}: a sparse matrix read again plans its lines from the indptr it kept (no indptr read), same values`,
    ...py,
    async fn() {
      const dir = await pyFixtures();
      const root = await freshInstance();
      try {
        const file = await new ln.File(`${dir}/${name}`).save();
        const dense = ((await file.load()) as ln.AnnData).X!.toDense().data as Float32Array;
        const b = await file.backed();
        try {
          const csr = name.startsWith("csr");
          // Lines are rows of CSR, columns of CSC; one line, read three times.
          const line = async (i: number) => {
            const before = b.io.requests;
            const m = csr ? await b.X!.get([i]) : await b.X!.get(undefined, [i]);
            const got = Array.from(m.toDense().data as Float32Array);
            const want = csr
              ? Array.from(dense.slice(i * 25, i * 25 + 25))
              : Array.from({ length: 60 }, (_, r) => dense[r * 25 + i]);
            assertEquals(got, want, `line ${i}`);
            return b.io.requests - before;
          };
          const first = await line(7);
          await line(11); // the second read keeps the indptr (one read of it whole)
          const later = await line(7);
          assert(
            later < first,
            `a later read makes fewer requests (${later}) than the first (${first})`,
          );
          // Random lines, ascending, against the file's values.
          let seed = 3;
          const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
          const n = csr ? 60 : 25, w = csr ? 25 : 60;
          for (let k = 0; k < 20; k++) {
            const lines = Array.from({ length: n }, (_, i) => i).filter(() => rnd() < 0.3);
            const m = csr ? await b.X!.get(lines) : await b.X!.get(undefined, lines);
            const got = m.toDense().data as Float32Array;
            lines.forEach((l, j) => {
              for (let x = 0; x < w; x++) {
                const v = csr ? got[j * w + x] : got[x * lines.length + j];
                const want = csr ? dense[l * 25 + x] : dense[x * 25 + l];
                assertEquals(v, want, `line ${l}, entry ${x}`);
              }
            });
          }
        } finally {
          b.close();
        }
      } finally {
        await ln.close();
        await Deno.remove(root, { recursive: true });
      }
    },
  });
}
