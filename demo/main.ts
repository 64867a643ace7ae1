// `deno task demo`: the main job on an embedded default. Creates an instance
// in a fresh folder, tracks this script as a run, registers sample files
// (from a path inside the root, from a path outside it, from bytes, a
// duplicate, a folder), queries them, loads one, saves and loads a DataFrame
// and an AnnData, streams a subset of the AnnData, writes the lineage as SVG,
// checks the instance, and prints a readable summary.
import pl from "nodejs-polars";
import * as ln from "../mod.ts";

const enc = new TextEncoder();
const root = Deno.args[0] ?? await Deno.makeTempDir({ prefix: "lamindeno-demo-" });
const outside = await Deno.makeTempDir({ prefix: "lamindeno-demo-src-" });

await Deno.mkdir(`${root}/raw/plate1`, { recursive: true });
await Deno.writeTextFile(`${root}/raw/cells.csv`, "cell,type\nc1,T cell\nc2,B cell\n");
await Deno.writeTextFile(`${root}/raw/plate1/A01.tsv`, "well\tvalue\nA01\t0.3\n");
await Deno.writeTextFile(`${root}/raw/plate1/A02.tsv`, "well\tvalue\nA02\t0.9\n");
await Deno.writeTextFile(`${outside}/reads.fastq.gz`, "@r1\nACGT\n+\nFFFF\n");

await ln.init({ storage: root });
console.log(`instance at ${ln.settings.storage.root} (user ${ln.settings.user.handle})\n`);

// Raw data, registered before the analysis starts.
const inPlace = await new ln.File(`${root}/raw/cells.csv`).save();
const copied = await new ln.File(`${outside}/reads.fastq.gz`).save();

const run = await ln.track(); // this script: a versioned Transform and a new Run
console.log(`tracking ${run.transform?.type} ${run.transform?.reference} as run ${run.id}\n`);
const bytes = await new ln.File(enc.encode('{"qc": "passed"}\n'), { key: "qc/report.json" }).save();
const dup = await new ln.File(enc.encode("cell,type\nc1,T cell\nc2,B cell\n"), {
  key: "copy-of-cells.csv",
}).save();
const folder = await new ln.Folder(`${root}/raw/plate1`, { name: "plate 1" }).save();

const rows = (files: ln.File[]) =>
  files.map((f) => ({
    id: f.id,
    key: f.key ?? "(managed)",
    suffix: f.suffix,
    size: f.size,
    hash: f.hash,
    run: f.run ? `${f.transform?.name} v${f.transformVersion}` : "",
  }));

console.log("registered files:");
console.table(rows(await ln.File.filter({})));
console.log(`in place:  ${inPlace.key} -> ${inPlace.path()}`);
console.log(`copied:    ${copied.name} -> ${copied.path()}`);
console.log(`from bytes: ${bytes.key} (${bytes.size} bytes, md5 ${bytes.hash})`);
console.log(
  `duplicate: saving cells.csv's content again returned ${dup.id} (same as ${inPlace.id})`,
);
console.log(`folder "${folder.name}": ${(await folder.files.all()).map((f) => f.key).join(", ")}`);

console.log(`\n.csv files: ${(await ln.File.filter({ suffix: ".csv" })).map((f) => f.key)}`);

try {
  await copied.load();
} catch (e) {
  console.log(`\nload() of ${copied.suffix}: ${(e as Error).name}: ${(e as Error).message}`);
}
const staged = await inPlace.stage();
console.log(`stage() -> ${staged}`);
const cells = await inPlace.load({ as: "dataframe" });
console.log(`load() of ${inPlace.key} -> polars DataFrame ${cells.height} x ${cells.width}:`);
console.log(cells.toString());

const scores = pl.DataFrame({ cell: ["c1", "c2"], score: [0.71, 0.18] });
const saved = await new ln.File(scores, { key: "analysis/scores.parquet" }).save();
const loaded = await saved.load({ as: "dataframe" });
console.log(`saved a DataFrame as ${saved.key} (${saved.size} bytes) and loaded it back:`);
console.log(loaded.toString());

// An AnnData: 20,000 cells x 500 genes, CSR, with categorical obs columns.
const adata = syntheticAnnData(20_000, 500);
const h5 = await new ln.File(adata, { key: "atlas/pbmc.h5ad" }).save();
const back = await h5.load({ as: "anndata" });
console.log(
  `\nsaved an AnnData ${adata.nObs} x ${adata.nVars} as ${h5.key} (${
    (h5.size! / 1e6).toFixed(1)
  } MB) and loaded it back: ${back.nObs} x ${back.nVars}, obs columns ${back.obs.columns}`,
);

// Stream a subset: only the selected cells' part of X is read.
const df = h5.subsetter();
const query = df.cell_type.isin(["dendritic cell", "T cell"]).and(df.disease.eq("Alzheimer's"));
const io = { bytesRead: 0, requests: 0 };
const subset = await h5.stream({ subsetObs: query, subsetVar: df.highly_variable, io });
console.log(`stream(${query}, highly_variable)`);
console.log(
  `  -> ${subset.nObs} x ${subset.nVars}, read ${
    (io.bytesRead / 1e6).toFixed(2)
  } MB in ${io.requests} ` +
    `requests of a ${(h5.size! / 1e6).toFixed(1)} MB store`,
);

await ln.finish();
const { svg } = await saved.viewLineage();
await Deno.writeTextFile(`${root}/lineage.svg`, svg);
console.log(`\nrun ${run.id}: inputs ${(await run.inputs.all()).map((f) => f.key)}`);
console.log(`            outputs ${(await run.outputs.all()).map((f) => f.key ?? f.name)}`);
console.log(`lineage of ${saved.key} written to ${root}/lineage.svg (${svg.length} bytes)`);

const report = await ln.fsck();
const problems = Object.values(report).reduce((n, v) => n + v.length, 0);
console.log(`fsck: ${problems === 0 ? "healthy" : JSON.stringify(report)}`);

await ln.close();
await Deno.remove(outside, { recursive: true });
if (!Deno.args[0]) await Deno.remove(root, { recursive: true });

/** A reproducible synthetic single-cell dataset. */
function syntheticAnnData(nObs: number, nVars: number): ln.AnnData {
  let x = 42;
  const rand = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const perRow = Math.round(nVars * 0.05);
  const data = new Float32Array(nObs * perRow);
  const indices = new Int32Array(nObs * perRow);
  const indptr = new Int32Array(nObs + 1);
  for (let i = 0; i < nObs; i++) {
    const cols = new Set<number>();
    while (cols.size < perRow) cols.add(Math.floor(rand() * nVars));
    [...cols].sort((a, b) => a - b).forEach((c, k) => {
      indices[i * perRow + k] = c;
      data[i * perRow + k] = Math.round(rand() * 50);
    });
    indptr[i + 1] = (i + 1) * perRow;
  }
  const types = ["T cell", "B cell", "NK cell", "monocyte", "dendritic cell"];
  return new ln.AnnData({
    X: new ln.CsrMatrix(data, indices, indptr, [nObs, nVars]),
    obs: pl.DataFrame({
      cell_type: pl.Series(Array.from({ length: nObs }, () => types[Math.floor(rand() * 5)]))
        .cast(pl.Categorical),
      disease: pl.Series(
        Array.from({ length: nObs }, () => (rand() < 0.3 ? "Alzheimer's" : "normal")),
      ).cast(pl.Categorical),
      n_genes: Array.from({ length: nObs }, () => Math.floor(rand() * 2000)),
    }),
    var: pl.DataFrame({ highly_variable: Array.from({ length: nVars }, () => rand() < 0.2) }),
    obsNames: Array.from({ length: nObs }, (_, i) => `cell_${i}`),
    varNames: Array.from({ length: nVars }, (_, j) => `gene_${j}`),
  });
}
