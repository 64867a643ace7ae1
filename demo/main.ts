// `deno task demo`: the main job on an embedded default. Creates an instance
// in a fresh folder, registers sample files (from a path inside the root, from
// a path outside it, from bytes, a duplicate, a folder), queries them, loads
// one, checks the instance, and prints a readable summary.
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

const transform = await new ln.Transform({ name: "demo", version: "1", type: "script" }).save();
const run = await new ln.Run({ transform }).save();

const inPlace = await new ln.File(`${root}/raw/cells.csv`, { run }).save();
const copied = await new ln.File(`${outside}/reads.fastq.gz`, { run }).save();
const bytes = await new ln.File(enc.encode('{"qc": "passed"}\n'), { key: "qc/report.json" }).save();
const dup = await new ln.File(enc.encode("cell,type\nc1,T cell\nc2,B cell\n"), {
  key: "copy-of-cells.csv",
}).save();
const folder = await new ln.Folder(`${root}/raw/plate1`, { name: "plate 1" }).save();
await run.inputs.add(bytes);

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
console.log(`outputs of run ${run.id}: ${(await run.outputs.all()).length}`);
console.log(`inputs of run ${run.id}: ${(await run.inputs.all()).map((f) => f.key)}`);

try {
  await copied.load();
} catch (e) {
  console.log(`\nload() of ${copied.suffix}: ${(e as Error).name}: ${(e as Error).message}`);
}
const staged = await inPlace.stage();
console.log(`stage() -> ${staged}`);
const cells = await inPlace.load() as pl.DataFrame;
console.log(`load() of ${inPlace.key} -> polars DataFrame ${cells.height} x ${cells.width}:`);
console.log(cells.toString());

const scores = pl.DataFrame({ cell: ["c1", "c2"], score: [0.71, 0.18] });
const saved = await new ln.File(scores, { key: "analysis/scores.parquet", run }).save();
const loaded = await saved.load() as pl.DataFrame;
console.log(`saved a DataFrame as ${saved.key} (${saved.size} bytes) and loaded it back:`);
console.log(loaded.toString());

const report = await ln.fsck();
const problems = Object.values(report).reduce((n, v) => n + v.length, 0);
console.log(`fsck: ${problems === 0 ? "healthy" : JSON.stringify(report)}`);

await ln.close();
await Deno.remove(outside, { recursive: true });
if (!Deno.args[0]) await Deno.remove(root, { recursive: true });
