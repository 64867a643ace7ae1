// Child of progress_test.ts: saves a 20 MB file from outside the storage
// root (hash, then copy) so a terminal shows bars; prints "saved" at the end.
import * as ln from "../../mod.ts";
import { tempDir, writeRandomFile } from "../_helpers.ts";

const outside = await tempDir();
const root = await tempDir();
await writeRandomFile(`${outside}/big.bin`, 20_000_000);
await ln.init({ storage: root });
if (Deno.args[0]) ln.settings.verbosity = Deno.args[0] as ln.Verbosity;
await new ln.File(`${outside}/big.bin`, { key: "big.bin" }).save();
await ln.close();
await Deno.remove(outside, { recursive: true });
await Deno.remove(root, { recursive: true });
console.log("saved");
