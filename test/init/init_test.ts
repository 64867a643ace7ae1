// init you can trust: it says in one line what it did; malformed storages
// are ValidationErrors that create nothing; create: false refuses to create;
// a failed init leaves the instance open before it open and the default.
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, listTree, tempDir } from "../_helpers.ts";
import { s3Server } from "../_s3.ts";

const enc = new TextEncoder();

/** The lines `fn` logs (at info level). */
async function logged(fn: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.error;
  const level = Deno.env.get("LAMIN_LOG_LEVEL");
  if (level !== undefined && level !== "info") Deno.env.set("LAMIN_LOG_LEVEL", "info");
  console.error = (...a: unknown[]) => lines.push(a.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.error = original;
    if (level === undefined) Deno.env.delete("LAMIN_LOG_LEVEL");
    else Deno.env.set("LAMIN_LOG_LEVEL", level);
  }
  return lines;
}

Deno.test("init says in one line whether it created or opened the instance, and where registry and storage are", async () => {
  const root = await tempDir();
  try {
    const first = await logged(() => ln.init({ storage: root }));
    assertEquals(first, [
      `lamindeno info: created instance: registry ${root}/.lamindb/lamin.db, storage ${root}`,
    ]);
    const again = await logged(() => ln.init({ storage: root }));
    assertEquals(again, [
      `lamindeno info: opened instance: registry ${root}/.lamindb/lamin.db, storage ${root}`,
    ]);
    await ln.close();
    const separate = await logged(() => ln.init({ storage: root, db: `${root}/other.db` }));
    assertEquals(separate, [
      `lamindeno info: created instance: registry ${root}/other.db, storage ${root}`,
    ]);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("malformed storage URLs (s3:/x, s3://, S3://b, ftp://x, https://...) are ValidationErrors and create nothing", async () => {
  const dir = await tempDir();
  const cache = `${dir}/cache`;
  try {
    const cases: [string, RegExp][] = [
      ["s3:/x", /storage: "s3:\/x" is not an S3 URI; write s3:\/\/bucket\/prefix/],
      ["s3://", /is not an S3 URI; write s3:\/\/bucket\/prefix/],
      ["s3:bucket/x", /"s3:bucket\/x" is not an S3 URI/],
      ["S3://bucket/x", /is not an S3 URI/],
      ["s3://Bad_Bucket/x", /not a valid bucket name/],
      [
        "ftp://x",
        /ftp:\/\/x\/? is not a storage lamindeno can use \(ftp: URLs are not supported\)/,
      ],
      ["https://example.org/data", /https: URLs are not supported/],
      ["file:///tmp/data", /file: URLs are not supported/],
    ];
    const cwd = Deno.cwd();
    const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
    for (const [storage, re] of cases) {
      await assertRejects(() => ln.init({ storage, cacheDir: cache }), ln.ValidationError, re);
      await assertRejects(() => ln.connect({ storage, cacheDir: cache }), ln.ValidationError, re);
      // Read as a relative path, `s3:/x` would have been a folder `s3:` here.
      const head = storage.split("/")[0];
      assertEquals(await exists(`${cwd}/${head}`), false, `${cwd}/${head} was created`);
    }
    assertEquals(await listTree(dir), [], "nothing may be created");
    await assertRejects(() => ln.File.filter({}), ln.NotInitializedError);
    // A path with a colon is a path when it is not read as a URL.
    await ln.init({ storage: `${dir}/s3:x` });
    assertEquals(ln.settings.storage.root, `${dir}/s3:x`);
  } finally {
    await ln.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("create: false opens an existing instance and refuses, creating nothing, to make a missing one", async () => {
  const dir = await tempDir();
  try {
    const nf = ln.NotFoundError;
    // No such folder; an empty folder; a folder without the registry file.
    await assertRejects(
      () => ln.init({ storage: `${dir}/none`, create: false }),
      nf,
      /create: false/,
    );
    await Deno.mkdir(`${dir}/empty`);
    await assertRejects(() => ln.init({ storage: `${dir}/empty`, create: false }), nf, /\.lamindb/);
    await Deno.mkdir(`${dir}/half/.lamindb`, { recursive: true });
    await assertRejects(
      () => ln.connect({ storage: `${dir}/half`, create: false }),
      nf,
      /lamin\.db does not exist/,
    );
    // A registry file that does not exist, beside a storage that does.
    const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
    assertEquals(await listTree(dir), [], "no file was created");
    assertEquals([await exists(`${dir}/none`), await exists(`${dir}/empty/.lamindb`)], [
      false,
      false,
    ]);
    await ln.init({ storage: `${dir}/real` });
    await ln.close();
    const before = await listTree(dir);
    await assertRejects(
      () => ln.init({ storage: `${dir}/real`, db: `${dir}/nowhere.db`, create: false }),
      nf,
      /nowhere\.db does not exist/,
    );
    assertEquals(await listTree(dir), before);
    // A registry that exists but does not hold this storage root.
    await Deno.mkdir(`${dir}/new/.lamindb`, { recursive: true });
    await assertRejects(
      () => ln.init({ storage: `${dir}/new`, db: `${dir}/real/.lamindb/lamin.db`, create: false }),
      nf,
      /holds no storage root .*\/new/,
    );
    const inst = await ln.connect({ storage: `${dir}/real` });
    assertEquals((await ln.Storage.using(inst).filter({})).map((s) => s.root), [`${dir}/real`]);
    await inst.close();
    // The instance that exists opens.
    const lines = await logged(() => ln.init({ storage: `${dir}/real`, create: false }));
    assertEquals(lines.length, 1);
    assert(lines[0].includes("opened instance"), lines[0]);
  } finally {
    await ln.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("create: false on S3: an instance that was never made there is a NotFoundError, nothing written", async () => {
  await using server = await s3Server();
  const bucket = await server.bucket();
  const cache = await tempDir();
  try {
    const storage = `s3://${bucket}/p`;
    await assertRejects(
      () => ln.init({ storage, s3: server.options, cacheDir: cache, create: false }),
      ln.NotFoundError,
      /create: false/,
    );
    assertEquals(await listTree(cache), []);
    await ln.init({ storage, s3: server.options, cacheDir: cache });
    await ln.close();
    await ln.init({ storage, s3: server.options, cacheDir: cache, create: false });
    assertEquals(ln.settings.storage.root, storage);
  } finally {
    await ln.close();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("a failed init leaves the instance open before it open, the default, and usable", async () => {
  const a = await tempDir();
  const dir = await tempDir();
  try {
    await ln.init({ storage: a });
    const file = await new ln.File(enc.encode("a"), { key: "a.txt" }).save();
    const failures: [() => Promise<unknown>, new (...x: never[]) => Error][] = [
      [() => ln.init({ storage: "s3:/x" }), ln.ValidationError],
      [() => ln.init({ storage: "ftp://x" }), ln.ValidationError],
      [() => ln.init({ storage: 3 as never }), ln.ValidationError],
      [() => ln.init({ storage: `${dir}/missing`, create: false }), ln.NotFoundError],
      [() => ln.init({ storage: dir, db: "postgresql://u:pw@127.0.0.1:9/db" }), ln.StorageError],
      [() => ln.init({ storage: dir, setDefault: true, dialect: {} as never }), ln.ValidationError],
    ];
    for (const [fail, cls] of failures) {
      await assertRejects(fail, cls);
      assertEquals(ln.settings.storage.root, a);
      assertEquals((await ln.File.get({ key: "a.txt" })).id, file.id);
      await new ln.File(enc.encode(String(Math.random())), { key: "b.txt" }).save()
        .then((f) => f.delete());
    }
    // A successful init replaces it, and closes it.
    await ln.init({ storage: dir });
    assertEquals(ln.settings.storage.root, dir);
    assertEquals((await ln.File.filter({ key: "a.txt" })).length, 0);
  } finally {
    await ln.close();
    await Deno.remove(a, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connect() refuses setDefault: the default is ln.init()'s", async () => {
  await assertRejects(
    () => ln.connect({ storage: "./x", setDefault: true }),
    ln.ValidationError,
    /setDefault is an option of ln\.init\(\)/,
  );
});
