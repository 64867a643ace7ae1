// One whole load in this fresh process: readH5ad / readZarr of the path
// given, its seconds printed (bench/atlas.ts runs it after a pause, beside
// the same for anndata, for a first load as a user's fresh session has it).
import * as ln from "../mod.ts";

const path = Deno.args[0];
const t0 = performance.now();
await (path.endsWith(".zarr") ? ln.readZarr(path) : ln.readH5ad(path));
console.log(((performance.now() - t0) / 1000).toFixed(4));
