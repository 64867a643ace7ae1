// Layouts other than the realistic atlases' (bench/_layouts.py, written by
// Python anndata 0.8): dense X (plain, gzip, zarr), CSC, CSR with int64
// indices and float64 values, and a processed scanpy object (obsp, varm,
// raw; plain, gzip, zarr, zarr with blosc zstd, zarr v3 with zstd as anndata
// >= 0.12 writes it, whose reference is anndata on the v2 store of the same
// data: anndata 0.8 reads no v3). Per file, in one run: `file.stream()` against
// anndata backed mode (bench/_layouts_ref.py) for a scattered 10% and 50%,
// a grouped 10% (one donor, stored together) and a scattered 10% with
// subsetVar (highly_variable), then the whole load (readH5ad / readZarr
// against read_h5ad / read_zarr). Prints ours / anndata for each.
//
//   deno run -A bench/layouts.ts [--reps 3] [--only dense.h5ad,csr64.h5ad,...] [--ref-timeout 600]
import {
  benchCache,
  PY,
  type Query,
  reference,
  repsAndOnly,
  sideBySide,
  timedCells,
} from "./_side_by_side.ts";

const DIR = benchCache("layouts-v2");
const ALL = [
  "dense.h5ad",
  "dense_gzip.h5ad",
  "dense.zarr",
  "csc.h5ad",
  "csr64.h5ad",
  "scanpy.h5ad",
  "scanpy_gzip.h5ad",
  "scanpy.zarr",
  "scanpy_zstd.zarr",
  "scanpy_v3.zarr",
  "scanpy_v3_sharded.zarr",
];

/** Files anndata 0.8 cannot read, and the file of the same data its side reads instead. */
const REFERENCE_OF: Record<string, string> = {
  "scanpy_v3.zarr": "scanpy.zarr",
  "scanpy_v3_sharded.zarr": "scanpy.zarr",
};

const { reps: REPS, only: ONLY } = repsAndOnly(ALL);

const QUERIES: Query[] = [
  ["scattered 10%", (df) => df.qc_score.lt(0.1)],
  ["grouped 10%", (df) => df.donor.eq("D0001")],
  ["scattered 10% +var", (df) => df.qc_score.lt(0.1), (df) => df.highly_variable.eq(true)],
  ["scattered 50%", (df) => df.qc_score.lt(0.5)],
];

async function build(): Promise<void> {
  const has = (name: string) => Deno.stat(`${DIR}/${name}`).then(() => true, () => false);
  if (!(await has("scanpy_zstd.zarr"))) {
    console.error(`building ${DIR} with Python anndata (once) ...`);
    const script = new URL("./_layouts.py", import.meta.url).pathname;
    const r = await new Deno.Command(PY, { args: [script, DIR], stderr: "inherit" }).output();
    if (!r.success) throw new Error("bench/_layouts.py failed");
  }
  for (const [name, extra] of [["scanpy_v3.zarr", []], ["scanpy_v3_sharded.zarr", ["--shard"]]]) {
    if (await has(name as string)) continue;
    // zarr v3 as anndata >= 0.12 writes it (zstd; sharded: 0.13's default), from scanpy.zarr.
    const script = new URL("./_layouts_v3.py", import.meta.url).pathname;
    const args = [script, `${DIR}/scanpy.zarr`, `${DIR}/${name}`, ...extra];
    const r = await new Deno.Command(PY, { args, stderr: "inherit" }).output();
    if (!r.success) throw new Error("bench/_layouts_v3.py failed");
  }
}

if (import.meta.main) {
  await build();
  await sideBySide("lamindeno-bench-layouts-", ONLY, QUERIES, REPS, async (name) => {
    const ref = await reference(`${DIR}/${REFERENCE_OF[name] ?? name}`, REPS);
    return await timedCells(`${DIR}/${name}`, ref, QUERIES, REPS);
  });
}
