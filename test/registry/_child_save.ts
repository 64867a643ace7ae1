// A child process for the crash and concurrency tests: open the instance at
// `root`, do one thing, print the result as JSON.
//   save <root> <path> [key]   register a file (copied into the instance)
//   bytes <root> <text>        register in-memory bytes
//   init <root>                only open (or create) the instance
//   replace <root> <id> <text> replace a file's content (prints { ok } or { error })
//   replace-path <root> <id> <path>  replace with a local file (its suffix may differ)
//   delete <root> <id>         delete a file (prints { ok } or { error })
// With LAMINDENO_TEST_S3_ENDPOINT (and LAMINDENO_TEST_DB) set, <root> is an s3:// storage;
// LAMINDENO_TEST_DB alone: a local storage with that registry.
import * as ln from "../../mod.ts";

const [mode, root, arg, key] = Deno.args;
// An S3 instance when the parent says where its server and registry are.
const endpoint = Deno.env.get("LAMINDENO_TEST_S3_ENDPOINT");
await ln.init({
  storage: root,
  ...(endpoint
    ? {
      s3: {
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      },
      db: Deno.env.get("LAMINDENO_TEST_DB"),
    }
    : Deno.env.get("LAMINDENO_TEST_DB")
    ? { db: Deno.env.get("LAMINDENO_TEST_DB") }
    : {}),
});
if (mode === "save") {
  const file = new ln.File(arg, key ? { key } : {});
  await file.save();
  console.log(JSON.stringify({ id: file.id, hash: file.hash }));
} else if (mode === "bytes") {
  const file = new ln.File(new TextEncoder().encode(arg), { name: "same.txt" });
  await file.save();
  console.log(JSON.stringify({ id: file.id, hash: file.hash }));
} else if (mode === "replace" || mode === "replace-path" || mode === "delete") {
  try {
    const file = await ln.File.get(arg);
    if (mode === "replace") await file.replace(new TextEncoder().encode(key));
    else if (mode === "replace-path") await file.replace(key);
    else await file.delete();
    console.log(JSON.stringify({ ok: true }));
  } catch (e) {
    if (!(e instanceof ln.LaminError)) throw e;
    console.log(JSON.stringify({ error: e.name }));
  }
} else if (mode === "init") {
  console.log(JSON.stringify({ storage: ln.settings.storage.root }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
await ln.close();
