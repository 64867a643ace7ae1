// A child process for the crash and concurrency tests: open the instance at
// `root`, do one thing, print the result as JSON.
//   save <root> <path> [key]   register a file (copied into the instance)
//   bytes <root> <text>        register in-memory bytes
//   init <root>                only open (or create) the instance
import * as ln from "../../mod.ts";

const [mode, root, arg, key] = Deno.args;
await ln.init({ storage: root });
if (mode === "save") {
  const file = new ln.File(arg, key ? { key } : {});
  await file.save();
  console.log(JSON.stringify({ id: file.id, hash: file.hash }));
} else if (mode === "bytes") {
  const file = new ln.File(new TextEncoder().encode(arg), { name: "same.txt" });
  await file.save();
  console.log(JSON.stringify({ id: file.id, hash: file.hash }));
} else if (mode === "init") {
  console.log(JSON.stringify({ storage: ln.settings.storage.root }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
await ln.close();
