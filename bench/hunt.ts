// Layouts neither bench/atlas.ts nor bench/layouts.ts covers (bench/_hunt.py,
// written by Python anndata 0.8, h5py and zarr 2): chunked uncompressed
// h5ad, gzip in small and very large chunks, lzf layers, CSC X with a CSR
// layer, float64 X with int64 indptr, zarr with zstd in small chunks and
// zlib in chunks larger than a row block, a wide CELLxGENE-like atlas
// (30,000 genes, raw, string obs columns, a 50,000-category categorical,
// obsm, obsp; plain, gzip and zarr), dense float16 / int16 X and scanpy's
// rank_genes_groups (rec-arrays of 40 groups x 20,000 genes), 3,200 small
// uns entries, and a CITE-seq-like obsm DataFrame with nullable obs
// columns. Per file:
// one untimed stream, then `file.stream()` against anndata backed mode
// (bench/_layouts_ref.py) for a scattered 10%, a grouped 10% and a
// scattered 10% with subsetVar, then the whole load. Prints ours / anndata
// (a file we do not read: the error, on its row).
//
//   deno run -A bench/hunt.ts [--reps 3] [--only chunked.h5ad,wide.zarr,...] [--ref-timeout 600]
import {
  benchCache,
  PY,
  type Query,
  reference,
  repsAndOnly,
  sideBySide,
  timedCells,
} from "./_side_by_side.ts";

const DIR = benchCache("hunt-v1");
const ALL = [
  "chunked.h5ad",
  "gzip_small.h5ad",
  "gzip_big.h5ad",
  "lzf_layers.h5ad",
  "csc_layer.h5ad",
  "f64.h5ad",
  "zstd_small.zarr",
  "zlib_big.zarr",
  "wide.h5ad",
  "wide_gzip.h5ad",
  "wide.zarr",
  "dense_f16.h5ad",
  "dense_i16.zarr",
  "rgg.h5ad",
  "rgg.zarr",
  "uns_many.h5ad",
  "uns_many.zarr",
  "misc.h5ad",
  "misc.zarr",
];

const { reps: REPS, only: ONLY } = repsAndOnly(ALL);

const QUERIES: Query[] = [
  ["scattered 10%", (df) => df.qc_score.lt(0.1)],
  ["grouped 10%", (df) => df.donor.eq("D0001")],
  ["scattered 10% +var", (df) => df.qc_score.lt(0.1), (df) => df.highly_variable.eq(true)],
];

async function build(): Promise<void> {
  const missing = [];
  for (const name of ONLY) {
    if (!(await Deno.stat(`${DIR}/${name}`).then(() => true, () => false))) missing.push(name);
  }
  if (missing.length === 0) return;
  console.error(`building ${missing.join(", ")} in ${DIR} with Python anndata (once) ...`);
  const script = new URL("./_hunt.py", import.meta.url).pathname;
  const r = await new Deno.Command(PY, { args: [script, DIR, ...missing], stderr: "inherit" })
    .output();
  if (!r.success) throw new Error("bench/_hunt.py failed");
}

if (import.meta.main) {
  await build();
  await sideBySide("lamindeno-bench-hunt-", ONLY, QUERIES, REPS, async (name) => {
    const path = `${DIR}/${name}`;
    const ref = await reference(path, REPS, QUERIES);
    try {
      return await timedCells(path, ref, QUERIES, REPS, true);
    } catch (e) {
      return [`${(e as Error).name}: ${(e as Error).message.slice(-120)}`];
    }
  });
}
