// Options are checked against one zod schema per options type, at the entry
// point: a bad field is a ValidationError naming the field, what was
// expected and what was got; the schemas are exported for checking configs.
import * as ln from "../mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  freshInstance,
  listTree,
  tempDir,
} from "./_helpers.ts";

const enc = new TextEncoder();

/** Assert that `fn` throws (synchronously) a LaminError whose message matches `re`. */
function assertThrows(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ln.LaminError)) throw new Error(`not a LaminError: ${e}`);
    if (!re.test(e.message)) throw new Error(`expected message matching ${re}, got: ${e.message}`);
    return;
  }
  throw new Error(`expected a LaminError matching ${re}, but nothing was thrown`);
}

Deno.test("init() and connect(): a ValidationError naming the field, what was expected and what was got", async () => {
  const dir = await tempDir();
  try {
    const cases: [unknown, RegExp][] = [
      [null, /expected an object like \{ storage: "\.\/data" \}.*got null/],
      [{ storage: 3 }, /storage: expected a local folder or "s3:\/\/bucket\/prefix", got number 3/],
      [{ storage: dir, cacheDir: "" }, /cacheDir: expected the path of a local folder, got ""/],
      [{ storage: dir, bogus: true }, /unknown option "bogus"/],
      [{ storage: dir, s3: { region: 1 } }, /s3\.region: expected a string, got number 1/],
      [
        { storage: dir, s3: { endpoint: "not a url" } },
        /s3\.endpoint: expected a URL like http:\/\/127\.0\.0\.1:9000, got "not a url"/,
      ],
    ];
    for (const [options, re] of cases) {
      await assertRejects(() => ln.init(options as ln.InitOptions), ln.ValidationError, re);
      await assertRejects(() => ln.connect(options as ln.InitOptions), ln.ValidationError, re);
    }
    // A secret's value is never shown, only its type.
    const e = await assertRejects(
      () =>
        ln.init({
          storage: "s3://bucket/p",
          s3: { credentials: { accessKeyId: "AKIA", secretAccessKey: 98765432 as never } },
        }),
      ln.ValidationError,
      /s3\.credentials\.secretAccessKey: expected a string, got a number/,
    );
    assert(!e.message.includes("98765432"), e.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("track, fsck, save, stream and backed check their options with their schemas", async () => {
  await freshInstance();
  try {
    await assertRejects(
      () => ln.track({ name: 5 as never }),
      ln.ValidationError,
      /ln\.track\(\) options: name: expected a non-empty string, got number 5/,
    );
    await assertRejects(
      () => ln.track({ transform: {} as never }),
      ln.ValidationError,
      /transform: expected a Transform record, got an object/,
    );
    await assertRejects(
      () => ln.fsck({ repair: "yes" as never }),
      ln.ValidationError,
      /ln\.fsck\(\) options: repair: expected a boolean, got "yes"/,
    );
    await assertRejects(() => ln.fsck({ reapir: true } as never), ln.ValidationError, /"reapir"/);
    const file = new ln.File(enc.encode("x"), { key: "x.txt" });
    await assertRejects(
      () => ln.save([file, "y.txt" as never]),
      ln.ValidationError,
      /ln\.save\(\): \[1\]: expected a File record, got "y\.txt"/,
    );
    await file.save();
    await assertRejects(
      () => file.stream({ isRunInput: 1 as never }),
      ln.ValidationError,
      /file\.stream\(\) options: isRunInput: expected a boolean, got number 1/,
    );
    await assertRejects(
      () => file.backed({ isRunInput: "no" as never }),
      ln.ValidationError,
      /file\.backed\(\) options: isRunInput: expected a boolean, got "no"/,
    );
  } finally {
    await ln.close();
  }
});

Deno.test("the exported schemas check configs without opening anything", async () => {
  assertEquals(await ln.InitOptionsSchema.parse({ storage: "./data" }), { storage: "./data" });
  assertEquals((await ln.S3OptionsSchema.safeParse({ forcePathStyle: "yes" })).success, false);
  assertEquals((await ln.TrackOptionsSchema.safeParse({ version: "2" })).success, true);
  assertEquals((await ln.FsckOptionsSchema.safeParse({ hash: false })).success, true);
  assertEquals((await ln.FileOptionsSchema.safeParse({ id: "short" })).success, false);
  // Every option the constructor takes (version and revises were refused).
  assert((await ln.FileOptionsSchema.safeParse({ version: "2", description: "d" })).success);
  assertEquals((await ln.FileOptionsSchema.safeParse({ version: " 2" })).success, false);
  assertEquals((await ln.FileOptionsSchema.safeParse({ revises: {} })).success, false);
  assertEquals((await ln.StreamOptionsSchema.safeParse({ subsetObs: "x" })).success, false);
  assertEquals((await ln.BackedOptionsSchema.safeParse({})).success, true);
  assert((await ln.WhereSchema.safeParse({ key: "a", size: { gt: 1 } })).success);
  const where = await ln.WhereSchema.safeParse({ key: "a", size: [1, 2], name: [[null]] });
  assert(!where.success && /name: expected a string, number, boolean/.test(where.error.message));
  assertEquals(
    (await ln.WhereSchema.safeParse({ id: Array.from({ length: 20_001 }, () => "x") })).success,
    false,
  );
  // The zod schema itself, for composing.
  const zodSchema = await ln.InitOptionsSchema.schema();
  assertEquals(zodSchema.safeParse({ storage: 1 }).success, false);
});

Deno.test("a field that is no secret shows its value; one that may be shows only its type", async () => {
  const key = await ln.FileOptionsSchema.safeParse({ key: 42 });
  assert(!key.success && /key: expected a string, got number 42/.test(key.error.message));
  const token = await ln.S3OptionsSchema.safeParse({
    credentials: { accessKeyId: "AKIA", secretAccessKey: "s", sessionToken: 12345678 },
  });
  assert(
    !token.success && /sessionToken: expected a string, got a number$/.test(token.error.message),
  );
});

Deno.test("options objects refuse unknown keys and non-objects, naming the known ones", async () => {
  const root = await freshInstance();
  try {
    const bytes = enc.encode("a");
    assertThrows(
      () => new ln.File(bytes, { kye: "x.txt" } as never),
      /new ln\.File\(data, options\): unknown option "kye"; the options are key, name/,
    );
    assertThrows(() => new ln.File(bytes, [1, 2] as never), /options must be an object/);
    assertThrows(() => new ln.File(bytes, new Date() as never), /options must be an object/);
    const t = new ln.Transform({ name: "t" });
    assertThrows(
      () => new ln.Transform({ name: "t", nmae: "x" } as never),
      /unknown option "nmae"/,
    );
    assertThrows(() => new ln.Run({ transform: t, bogus: 1 } as never), /unknown option "bogus"/);
    assertThrows(() => new ln.Folder(root, { bogus: 1 } as never), /unknown option "bogus"/);
    assertThrows(() => new ln.ULabel({ name: "x", bogus: 1 } as never), /unknown option "bogus"/);
    assertThrows(() => ln.Features.fromValues(["a"], null as never), /options must be an object/);
    const f = new ln.File(enc.encode("b"), { key: "b.txt" });
    for (const bad of [{ bogus: 1 }, [], new Date()]) {
      await assertRejects(() => f.save(bad as never), ln.ValidationError, /file\.save\(options\)/);
    }
    await f.save();
    assertThrows(() => new ln.Collection([f], { name: "c", bogus: 1 } as never), /"bogus"/);
    await assertRejects(
      () => f.replace(enc.encode("c"), { bogus: 1 } as never),
      ln.ValidationError,
      /file\.replace\(data, options\): unknown option "bogus"; the options are run, format/,
    );
    for (const bad of [{ bogus: 1 }, null, []]) {
      await assertRejects(() => ln.File.filter({}, bad as never), ln.ValidationError, /options/);
      await assertRejects(() => ln.File.df({}, bad as never), ln.ValidationError, /options/);
    }
    await assertRejects(
      () => ln.File.search("x", { bogus: 1 } as never),
      ln.ValidationError,
      /File\.search\(query, options\): unknown option "bogus"/,
    );
    // A where is a plain object: a Map used to match every record.
    await assertRejects(
      () => ln.File.filter(new Map([["key", "nope"]]) as never),
      ln.ValidationError,
      /File\.filter\(\) takes an object like \{ name: "x" \}, got a Map/,
    );
    assertEquals((await ln.File.filter({})).map((x) => x.key), ["b.txt"]);
  } finally {
    await ln.close();
  }
});

Deno.test("load() and stage() check isRunInput and their option names as stream() does", async () => {
  await freshInstance();
  try {
    const f = await new ln.File(enc.encode("a,b\n1,2\n"), { key: "t.csv" }).save();
    const run = await ln.track({ name: "reader" });
    await assertRejects(
      () => f.load({ isRunInput: "no" } as never),
      ln.ValidationError,
      /file\.load\(\{ isRunInput \}\) takes true or false, got "no"/,
    );
    await assertRejects(() => f.stage({ isRunInput: 0 } as never), ln.ValidationError, /got 0/);
    await assertRejects(() => f.load({ bogus: 1 } as never), ln.ValidationError, /"bogus"/);
    await assertRejects(() => f.load([1, 2] as never), ln.ValidationError, /must be an object/);
    await assertRejects(() => f.stage({ as: "bogus" } as never), ln.ValidationError, /"as"/);
    assertEquals((await run.inputs.all()).length, 0);
    await f.load({ isRunInput: true, as: "dataframe" });
    assertEquals((await run.inputs.all()).map((x) => x.id), [f.id]);
    await ln.finish();
  } finally {
    await ln.close();
  }
});

Deno.test("finish() and settings.trackRunInputs check their input; before init both are NotInitializedError", async () => {
  await assertRejects(() => ln.finish(), ln.NotInitializedError, /ln\.init/);
  assertThrows(() => ln.settings.trackRunInputs, /call ln\.init\(\) before reading it/);
  await freshInstance();
  try {
    for (const bad of ["no", null, {}]) {
      assertThrows(() => (ln.settings.trackRunInputs = bad as never), /takes true or false/);
    }
    assertEquals(ln.settings.trackRunInputs, true);
    const run = await ln.track({ name: "r" });
    await assertRejects(() => ln.finish(null as never), ln.ValidationError, /got null/);
    for (const status of ["bogus", 1]) {
      await assertRejects(
        () => ln.finish({ status } as never),
        ln.ValidationError,
        /ln\.finish\(\{ status \}\) takes "completed" or "errored"/,
      );
    }
    assertEquals((await ln.Run.get(run.id)).status, "started");
    await ln.finish({ status: "errored" });
    assertEquals((await ln.Run.get(run.id)).status, "errored");
  } finally {
    await ln.close();
  }
  await assertRejects(() => ln.finish(), ln.NotInitializedError);
});

Deno.test("a BigInt or a Symbol in bad input gives a LaminError, not a TypeError from its message", async () => {
  const bytes = enc.encode("a");
  const cases: [string, () => unknown][] = [
    ["key 10n", () => new ln.File(bytes, { key: 10n as never })],
    ["id Symbol", () => new ln.File(bytes, { id: Symbol() as never })],
    ["version 1n", () => new ln.File(bytes, { version: 1n as never })],
    ["validateKey(1n)", () => ln.validateKey(1n)],
    ["parseS3Uri(Symbol())", () => ln.parseS3Uri(Symbol() as never)],
  ];
  const root = await freshInstance();
  try {
    const f = await new ln.File(enc.encode("x"), { key: "x.txt" }).save();
    cases.push(
      ["Folder key 10n", () => new ln.Folder(root, { key: 10n as never })],
      ["Collection name 1n", () => new ln.Collection([f], { name: 1n as never })],
      ["Collection version 1n", () => new ln.Collection([f], { name: "c", version: 1n as never })],
      ["File.search limit 2n", () => ln.File.search("x", { limit: 2n as never })],
      ["Collection.search limit 2n", () => ln.Collection.search("x", { limit: 2n as never })],
      [
        "fromAnnData(a, Symbol())",
        () => ln.Features.fromAnnData(new ln.AnnData({}), Symbol() as never),
      ],
      ["filter({ key: 1n })", () => ln.File.filter({ key: 1n })],
    );
    for (const [what, fn] of cases) {
      try {
        await fn();
      } catch (e) {
        assert(
          e instanceof ln.LaminError,
          `${what}: ${(e as Error).name}: ${(e as Error).message}`,
        );
        continue;
      }
      throw new Error(`${what}: accepted`);
    }
  } finally {
    await ln.close();
  }
});

Deno.test("new File() of the storage root, a folder above it or the managed folder is refused; nothing is written", async () => {
  const root = await freshInstance();
  try {
    await new ln.File(enc.encode("x"), { key: "x.txt" }).save();
    const before = await listTree(root);
    const parent = root.slice(0, root.lastIndexOf("/"));
    for (const path of [root, `${root}/`, parent, `${root}/.lamindb`]) {
      await assertRejects(
        () => new ln.File(path).save(),
        ln.InvalidKeyError,
        /cannot register .*(storage root|managed "\.lamindb\/" folder)/,
      );
    }
    await assertRejects(
      () => new ln.Folder(root).save(),
      ln.InvalidKeyError,
      /is the storage root/,
    );
    await assertRejects(
      () => new ln.Folder(`${root}/.lamindb`).save(),
      ln.InvalidKeyError,
      /inside the managed "\.lamindb\/" folder/,
    );
    assertEquals(await listTree(root), before);
    assertEquals((await ln.File.filter({})).map((f) => f.key), ["x.txt"]);
    assertEquals((await ln.Folder.filter({})).length, 0);
  } finally {
    await ln.close();
  }
});

Deno.test("new AnnData() refuses what is not a plain object of its options, naming what is wrong", async () => {
  for (const o of [5, Symbol("s"), [], () => {}, null, "x", new Date(), new Map()]) {
    await assertRejects(
      () => new ln.AnnData(o as never),
      ln.ValidationError,
      /new AnnData\(options\): options is an object/,
    );
  }
  await assertRejects(
    () => new ln.AnnData({ bogus: 1 } as never),
    ln.ValidationError,
    /unknown option "bogus"/,
  );
  await assertRejects(
    () => new ln.AnnData({ X: new Float32Array(4) as never }),
    ln.ValidationError,
    /X is a Float32Array, expected a DenseMatrix, CsrMatrix or CscMatrix/,
  );
  await assertRejects(
    () => new ln.AnnData({ obsNames: new Array(3) }),
    ln.ValidationError,
    /obsNames is an array of strings, but position 0 is empty/,
  );
  await assertRejects(
    () => new ln.AnnData({ varNames: ["a", 5 as never] }),
    ln.ValidationError,
    /varNames is an array of strings, but position 1 is a number/,
  );
  const bad: [unknown, RegExp][] = [
    [{ obs: { c: 5 } }, /categories\.obs\.c is \{ categories/],
    [
      { obs: { c: { categories: "ab", ordered: false } } },
      /categories\.obs\.c\.categories is an array/,
    ],
    [{ obs: { c: { categories: ["a"] } } }, /categories\.obs\.c\.ordered is true or false/],
    [5, /categories is \{ obs\?, var\? \}/],
  ];
  for (const [categories, re] of bad) {
    await assertRejects(
      () => new ln.AnnData({ obsNames: ["x"], categories: categories as never }),
      ln.ValidationError,
      re,
    );
  }
  await assertRejects(
    () => new ln.AnnData({ indexNames: { obs: 5 as never } }),
    ln.ValidationError,
    /indexNames\.obs is a string/,
  );
  await assertRejects(
    () => new ln.AnnData({ indexNames: 5 as never }),
    ln.ValidationError,
    /indexNames is/,
  );
  assertEquals(new ln.AnnData().shape, [0, 0]);
  assertEquals(new ln.AnnData({ indexNames: { obs: "cell" } }).indexNames, { obs: "cell" });
});

Deno.test("DenseMatrix refuses shapes past 2^53 and values of a dtype the writers do not write", async () => {
  await assertRejects(
    () => new ln.DenseMatrix(new Float32Array(0), [2 ** 53 + 1, 0]),
    ln.ValidationError,
    /shape is \[rows, cols\] of whole numbers/,
  );
  await assertRejects(
    () => new ln.DenseMatrix(new Float32Array(1), Symbol("s") as never),
    ln.ValidationError,
    /got a symbol/,
  );
  await assertRejects(
    () => new ln.DenseMatrix(new Float32Array(1), [Symbol("s"), 1] as never),
    ln.ValidationError,
    /got \[a symbol, 1\]/,
  );
  await assertRejects(
    () => new ln.DenseMatrix(new Uint8ClampedArray(4) as never, [2, 2]),
    ln.ValidationError,
    /got a Uint8ClampedArray; wrap/,
  );
  assertEquals(new ln.DenseMatrix(new Uint8Array(4), [2, 2]).dtype, "uint8");
});
