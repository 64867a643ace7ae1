import * as ln from "./mod.ts";
import process from "node:process";
Deno.env.set("LAMIN_LOG_LEVEL", "warn");
const kind = Deno.args[0] ?? "plain";
const p = Deno.args[1] ?? "0.1";
const path = `${Deno.env.get("HOME")}/.cache/lamindeno-bench/atlas-v1-200000/${kind === "zarr" ? "atlas.zarr" : `atlas_${kind}.h5ad`}`;
const root = "/tmp/wl/inst";
await Deno.mkdir(root, { recursive: true });
await ln.init({ storage: root, db: `${root}/r.db` });
const key = path.split("/").pop()!;
let file = await ln.File.filter({ key }).first();
if (!file) file = await new ln.File(path, { key }).save();
const df = file.subsetter();
for (let i = 0; i < Number(Deno.args[3] ?? 4); i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const q = Deno.args[1] === "g50" ? df.donor.eq("D0002") : Deno.args[1] === "g" ? df.donor.eq("D0001") : df.qc_score.lt(Number(p));
  const a = await file.stream({ subsetObs: q, subsetVar: Deno.args[2] === "var" ? df.highly_variable.eq(true) : undefined, isRunInput: false });
  const c = process.cpuUsage(c0);
  console.log(i, ((performance.now() - t0) / 1000).toFixed(3), "cpu", ((c.user + c.system) / 1e6).toFixed(3), a.nObs, a.nVars);
}
await ln.close();
