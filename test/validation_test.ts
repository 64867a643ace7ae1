// Options are checked against one zod schema per options type, at the entry
// point: a bad field is a ValidationError naming the field, what was
// expected and what was got; the schemas are exported for checking configs.
import * as ln from "../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance, tempDir } from "./_helpers.ts";

const enc = new TextEncoder();

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
