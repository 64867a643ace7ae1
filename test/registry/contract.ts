// The contract every registry database must meet, run through the public API
// against each kysely dialect we support (libSQL, PostgreSQL): each test
// opens a fresh instance with `open(storageDir)`.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { contractCase } from "./_contract_case.ts";
import { assert, assertEquals, assertRejects, HEALTHY } from "../_helpers.ts";

const enc = new TextEncoder();

/** Register the registry contract for instances opened by `open`. */
export function registryContract(
  name: string,
  open: (storage: string) => Promise<void>,
  options: { ignore?: boolean } = {},
): void {
  const t = contractCase(name, open, options);

  t("records refuse text the registry cannot store, before writing anything", async () => {
    const transform = await new ln.Transform({ name: "t" }).save();
    const dir = `${await Deno.makeTempDir()}/f`;
    await Deno.mkdir(dir);
    await Deno.writeTextFile(`${dir}/a.txt`, "a");
    // Each used to reach the driver: libSQL aborted the process, numbers became text.
    for (const bad of [Symbol("v"), { a: 1 }, 42, 10n, NaN]) {
      await assertRejects(
        () => new ln.Run({ transform, name: bad } as never).save(),
        ln.ValidationError,
        /Run name must be a string, got/,
      );
      await assertRejects(
        () => new ln.Folder(dir, { name: bad } as never).save(),
        ln.ValidationError,
        /Folder name must be a string, got/,
      );
      await assertRejects(
        () => ln.Features.fromValues(["a"], { type: bad } as never).save(),
        ln.ValidationError,
        /Features type must be a string, got/,
      );
    }
    await assertRejects(
      () => new ln.Run({ transform, reference: "a\0b" }).save(),
      ln.ValidationError,
      /Run reference holds a NUL character/,
    );
    await assertRejects(
      () => new ln.Run({ transform, params: { ["k\0"]: 1 } }).save(),
      ln.ValidationError,
      /params key holds a NUL/,
    );
    await assertRejects(
      () => ln.Features.fromValues(["\ud800"]).save(),
      ln.ValidationError,
      /half a UTF-16 surrogate pair/,
    );
    // A field changed after construction is checked again on save.
    const run = new ln.Run({ transform });
    run.name = Symbol("late") as never;
    await assertRejects(() => run.save(), ln.ValidationError, /Run name must be a string/);
    run.name = null;
    run.status = "bogus";
    await assertRejects(() => run.save(), ln.ValidationError, /Run status is/);
    const t2 = new ln.Transform({ name: "t2" });
    t2.name = { a: 1 } as never;
    await assertRejects(() => t2.save(), ln.ValidationError, /needs a non-empty `name`/);
    assertEquals((await ln.Run.filter({})).length, 0);
    assertEquals((await ln.Folder.filter({})).length, 0);
    assertEquals((await ln.Features.filter({})).length, 0);
    assertEquals((await ln.Transform.filter({})).map((x) => x.name), ["t"]);
    await Deno.remove(dir, { recursive: true });
  });

  t(
    "an unsaved related record is a ValidationError before writing, not a foreign-key error",
    async () => {
      const transform = await new ln.Transform({ name: "t" }).save();
      const saved = await new ln.Run({ transform }).save();
      const file = await new ln.File(enc.encode("f"), { key: "f.txt" }).save();
      const unsavedRun = () => new ln.Run({ transform });
      const notSaved = /the Run \w+ is not saved in this instance; call save\(\) first/;
      await assertRejects(
        () => new ln.File(enc.encode("c"), { key: "c.txt", run: unsavedRun() }).save(),
        ln.ValidationError,
        notSaved,
      );
      await assertRejects(
        () => new ln.File(enc.encode("d"), { key: "d.txt", inputOf: [saved, unsavedRun()] }).save(),
        ln.ValidationError,
        notSaved,
      );
      await assertRejects(() => file.inputOf.add(unsavedRun()), ln.ValidationError, notSaved);
      await assertRejects(
        () => saved.inputs.add(new ln.File(enc.encode("e"))),
        ln.ValidationError,
        /the File \w+ is not saved/,
      );
      await assertRejects(
        () => unsavedRun().inputs.add(file),
        ln.ValidationError,
        /the Run \w+ is not saved/,
      );
      await assertRejects(
        () => new ln.Run({ transform: new ln.Transform({ name: "u" }) }).save(),
        ln.ValidationError,
        /the Transform \w+ \(version 0\) is not saved/,
      );
      await assertRejects(
        () => file.replace(enc.encode("f2"), { run: unsavedRun() }),
        ln.ValidationError,
        notSaved,
      );
      // Nothing was written: no files, no links, no runs but the saved one.
      assertEquals((await ln.File.filter({})).map((f) => f.key), ["f.txt"]);
      assertEquals((await file.inputOf.all()).length, 0);
      assertEquals((await saved.inputs.all()).length, 0);
      assertEquals((await ln.Run.filter({})).map((r) => r.id), [saved.id]);
      assertEquals((await ln.File.get(file.id)).hash, file.hash);
      assertEquals(await ln.fsck(), HEALTHY);
    },
  );

  t("save() of a deleted file says it was deleted", async () => {
    const f = await new ln.File(enc.encode("e"), { key: "e.txt" }).save();
    await f.delete();
    await assertRejects(() => f.save(), ln.ValidationError, /was deleted.*new ln\.File\(data/);
    assertEquals((await ln.File.filter({})).length, 0);
  });

  t("the query language: operators, dates, relations, groups, order, paging, counts", async () => {
    const files: ln.File[] = [];
    for (
      const [key, text] of [
        ["raw/A.csv", "a"],
        ["raw/b.csv", "bb"],
        ["raw/c.tsv", "ccc"],
        ["ref/Genes.txt", "dddd"],
        ["ref/100%_x.txt", "eeeee"],
      ]
    ) files.push(await new ln.File(enc.encode(text), { key }).save());
    const run = await ln.track({ name: "qc.ts" });
    const made = await new ln.File(enc.encode("made by qc"), { key: "out/qc.json" }).save();
    await ln.finish();
    const keys = async (where: ln.Where, options?: ln.QueryOptions) =>
      (await ln.File.filter(where, options)).map((f) => f.key).sort();

    assertEquals(await keys({ size: { gt: 3 } }), [
      "out/qc.json",
      "ref/100%_x.txt",
      "ref/Genes.txt",
    ]);
    assertEquals(await keys({ size: { gte: 2, lt: 4 } }), ["raw/b.csv", "raw/c.tsv"]);
    assertEquals(await keys({ suffix: { in: [".tsv", ".txt"] }, size: { ne: 4 } }), [
      "raw/c.tsv",
      "ref/100%_x.txt",
    ]);
    assertEquals(await keys({ suffix: { notIn: [".csv", ".txt", ".json"] } }), ["raw/c.tsv"]);
    assertEquals(await keys({ key: { startsWith: "raw/" } }), [
      "raw/A.csv",
      "raw/b.csv",
      "raw/c.tsv",
    ]);
    assertEquals(await keys({ key: { endsWith: ".csv" } }), ["raw/A.csv", "raw/b.csv"]);
    // contains is exact about case on both databases, icontains ignores it; % and _ are literal.
    assertEquals(await keys({ key: { contains: "genes" } }), []);
    assertEquals(await keys({ key: { icontains: "genes" } }), ["ref/Genes.txt"]);
    assertEquals(await keys({ key: { contains: "%_" } }), ["ref/100%_x.txt"]);
    assertEquals(await keys({ key: { contains: "A." } }), ["raw/A.csv"]);
    assertEquals(await keys({ key: { contains: "a." } }), []);
    assertEquals(await keys({ runId: { isNull: false } }), ["out/qc.json"]);
    // Dates as dates (a Date or an ISO string).
    assertEquals(await keys({ createdAt: { gte: made.createdAt } }), ["out/qc.json"]);
    assertEquals(
      (await ln.File.filter({ createdAt: { lt: made.createdAt.toISOString() } })).length,
      5,
    );
    // Across relations: by a related record's fields, a record or an id.
    assertEquals(await keys({ transform: { name: "qc.ts" } }), ["out/qc.json"]);
    assertEquals(await keys({ run }), ["out/qc.json"]);
    assertEquals(await keys({ createdBy: { handle: ln.settings.user.handle }, size: 1 }), [
      "raw/A.csv",
    ]);
    assertEquals(await keys({ transform: { name: { startsWith: "nope" } } }), []);
    assertEquals((await ln.Run.filter({ transform: { name: "qc.ts" } })).map((r) => r.id), [
      run.id,
    ]);
    // Groups.
    assertEquals(await keys({ or: [{ suffix: ".tsv" }, { size: 1 }] }), ["raw/A.csv", "raw/c.tsv"]);
    assertEquals(await keys({ not: { key: { startsWith: "r" } } }), ["out/qc.json"]);
    assertEquals(
      await keys({
        and: [{ size: { gt: 1 } }, { not: { suffix: ".txt" } }],
        key: { ne: "out/qc.json" },
      }),
      ["raw/b.csv", "raw/c.tsv"],
    );
    // Order, paging, first / one / count / exists.
    const bySize = await ln.File.filter({}, { orderBy: "-size", limit: 2, offset: 1 });
    assertEquals(bySize.map((f) => f.size), [5, 4]);
    assertEquals(
      (await ln.File.filter({ suffix: ".csv" }).orderBy("key").first())?.key,
      "raw/A.csv",
    );
    assertEquals((await ln.File.filter({ size: 3 }).one()).key, "raw/c.tsv");
    await assertRejects(() => ln.File.filter({ suffix: ".csv" }).one(), ln.MultipleResultsError);
    await assertRejects(() => ln.File.filter({ size: 99 }).one(), ln.NotFoundError);
    assertEquals(await ln.File.filter({ suffix: ".csv" }).count(), 2);
    assertEquals(await ln.File.filter({ suffix: ".bam" }).exists(), false);
    assertEquals(await ln.File.filter({ key: { startsWith: "ref/" } }).limit(1).exists(), true);
    assertEquals(files.length, 5);
  });

  t("the query language means the same on both databases at its edges", async () => {
    // (A differential fuzz of libSQL against PostgreSQL found each of these.)
    const save = (text: string, key: string | undefined, description?: string) =>
      new ln.File(enc.encode(text), { key, description }).save();
    await save("1", "a/É.txt", "Élan");
    await save("22", "a/é.txt", "élan");
    await save("333", "a/ß.txt", "STRAẞE");
    await save("4444", "b.txt");
    await save("55555", undefined, "z");
    const keys = async (where: ln.Where, options?: ln.QueryOptions) =>
      (await ln.File.filter(where, options)).map((f) => f.key);
    const sorted = async (where: ln.Where) => (await keys(where)).sort() as (string | null)[];
    // icontains folds every letter's case on both (SQLite's lower() folds ASCII only; a key
    // under COLLATE "C" did not match its own spelling on PostgreSQL).
    assertEquals(await sorted({ description: { icontains: "é" } }), ["a/É.txt", "a/é.txt"]);
    assertEquals(await sorted({ key: { icontains: "É" } }), ["a/É.txt", "a/é.txt"]);
    assertEquals(await sorted({ description: { icontains: "straße" } }), ["a/ß.txt"]);
    assertEquals(await sorted({ key: { icontains: "a/*" } }), []); // GLOB's * is literal
    assertEquals(await sorted({ key: { icontains: "[.]" } }), []); // and regex brackets
    assertEquals(await sorted({ key: { icontains: "B.T" } }), ["b.txt"]);
    assertEquals(await sorted({ key: { contains: "É" } }), ["a/É.txt"]);
    // A missing value matches no comparison, and not() of none (contains included).
    assertEquals(await sorted({ not: { description: { contains: "lan" } } }), ["a/ß.txt", null]);
    assertEquals(await sorted({ not: { description: { icontains: "LAN" } } }), ["a/ß.txt", null]);
    // exclude (Django's): a missing value counts as not matching, so its record stays in.
    assertEquals(await sorted({ exclude: { description: { contains: "lan" } } }), [
      "a/ß.txt",
      "b.txt",
      null,
    ]);
    assertEquals(
      (await ln.File.filter({}).exclude({ description: { icontains: "LAN" } }).toList("key"))
        .sort(),
      ["a/ß.txt", "b.txt", null],
    );
    assertEquals(await sorted({ exclude: { key: { startsWith: "a/" } } }), ["b.txt", null]);
    assertEquals(await sorted({ exclude: { or: [{ key: null }, { size: { lt: 3 } }] } }), [
      "a/ß.txt",
      "b.txt",
    ]);
    assertEquals((await sorted({ description: { contains: "" } })).length, 4);
    assertEquals(await sorted({ description: null }), ["b.txt"]);
    // Missing values sort as the largest on both; ties by id, so pages never repeat a record.
    assertEquals(await keys({}, { orderBy: "key" }), [
      "a/É.txt",
      "a/ß.txt",
      "a/é.txt",
      "b.txt",
      null,
    ]);
    assertEquals((await keys({}, { orderBy: "-key" }))[0], null);
    const pages: string[] = [];
    for (let i = 0; i < 5; i++) {
      pages.push(
        ...(await ln.File.filter({}, { orderBy: "suffix", limit: 1, offset: i })).map((f) => f.id),
      );
    }
    assertEquals(new Set(pages).size, 5);
    // Numbers of any size or fraction against the 64-bit size column (PostgreSQL refused
    // fractions and values out of range with its own error).
    assertEquals(await sorted({ size: { gt: 1.5, lte: 2.5 } }), ["a/é.txt"]);
    assertEquals(await sorted({ size: 2.5 }), []);
    assertEquals((await sorted({ size: { ne: 2.5 } })).length, 5);
    assertEquals(await sorted({ size: { in: [2, 2.5, 2 ** 70] } }), ["a/é.txt"]);
    assertEquals((await sorted({ size: { lt: 2 ** 64 } })).length, 5);
    assertEquals(await sorted({ size: { gt: 1e300 } }), []);
    assertEquals((await sorted({ size: { gt: -1e300 } })).length, 5);
    assertEquals(await ln.File.filter({ size: { lt: 1e21 } }).count(), 5);
    // Dates past year 9999 (ISO text "+010000-…") compare as dates.
    assertEquals(await ln.File.filter({ createdAt: { lt: new Date(8.64e15) } }).count(), 5);
    assertEquals(
      await ln.File.filter({ createdAt: { gte: "+010000-01-01T00:00:00Z" } }).count(),
      0,
    );
    assertEquals(await ln.File.filter({ createdAt: { gt: new Date(-8.64e15) } }).count(), 5);
    // first() / one() / exists() keep the query's own limit.
    assertEquals(await ln.File.filter({}).limit(0).first(), undefined);
    assertEquals(await ln.File.filter({}).limit(0).exists(), false);
    assertEquals((await ln.File.filter({}, { orderBy: "size" }).limit(1).one()).key, "a/É.txt");
    // Text the databases cannot store is refused before either sees it.
    await assertRejects(() => ln.File.filter({ key: "a\0b" }), ln.ValidationError, /NUL/);
    await assertRejects(
      () => ln.File.filter({ key: { icontains: "a\uD800" } }),
      ln.ValidationError,
      /surrogate/,
    );
    await assertRejects(
      () => new ln.File(enc.encode("n"), { key: "n.txt", name: "a\0b" }).save(),
      ln.ValidationError,
      /NUL/,
    );
    await assertRejects(
      () => new ln.Transform({ name: "t\uD800" }),
      ln.ValidationError,
      /surrogate/,
    );
    await assertRejects(() => ln.track({ name: "t\0x" }), ln.ValidationError, /NUL/);
    assertEquals(await ln.File.filter({}).count(), 5);
  });

  t("the query language refuses what does not fit, before the database sees it", async () => {
    await new ln.File(enc.encode("x"), { key: "x.txt" }).save();
    const bad: [ln.Where, RegExp][] = [
      [{ size: "big" }, /size holds numbers/],
      [{ size: { contains: "1" } }, /"contains" does not apply/],
      [{ size: { gt: 10n } }, /finite number/],
      [{ key: { like: "%" } }, /unknown operator "like"/],
      [{ key: { in: "abc" } }, /array/],
      [{ createdAt: { gt: "yesterday" } }, /Date or an ISO 8601 string/],
      [{ key: { eq: () => 1 } }, /expected a string/],
      [{ key: [[1]] }, /expected a string/],
      [{ nope: 1 }, /no field "nope"/],
      [{ ["__proto__"]: 1 } as ln.Where, /no field/],
      [{ transform: 5 }, /where over Transform/],
      [{ or: [] }, /non-empty array/],
      [{ key: { startsWith: 1 } }, /expected a string/],
      [{ runId: { isNull: "yes" } }, /true or false/],
    ];
    for (const [where, re] of bad) {
      await assertRejects(() => ln.File.filter(where), ln.ValidationError, re);
    }
    await assertRejects(() => ln.File.filter({}, { limit: -1 }), ln.ValidationError, /limit/);
    await assertRejects(() => ln.File.filter({}, { orderBy: "sizee" }), ln.ValidationError);
    await assertRejects(
      () => ln.File.filter({ key: { in: Array.from({ length: 20_001 }, (_, i) => `${i}`) } }),
      ln.ValidationError,
      /at most 20000/,
    );
    assertEquals((await ln.File.filter({})).length, 1);
  });

  t(
    "lamindb's spellings: a where or orderBy written as in Python says how to write it",
    async () => {
      await new ln.File(enc.encode("x"), { key: "raw/x.txt" }).save();
      const said: [ln.Where, string][] = [
        [{ key__startswith: "raw/" }, `{ key: { startsWith: "raw/" } }`],
        [{ created_by__handle: "ana" }, `{ createdBy: { handle: "ana" } }`],
        [{ size__gt: 1e6 }, `{ size: { gt: 1000000 } }`],
        [{ key__in: ["a", "b"] }, `{ key: { in: ["a","b"] } }`],
        [{ run__isnull: true }, `{ run: { isNull: true } }`],
        [{ transform__name__icontains: "qc" }, `{ transform: { name: { icontains: "qc" } } }`],
        [{ ulabels__name: "x" }, `{ ulabels: { name: "x" } }`],
        [{ is_latest: false }, "isLatest"],
        [{ uid: "abc" }, "id"],
      ];
      for (const [where, spelled] of said) {
        const e = await assertRejects(() => ln.File.filter(where), ln.ValidationError);
        assert(
          e.message.includes(`lamindb's ${Object.keys(where)[0]} is written ${spelled} here`),
          e.message,
        );
      }
      // Not lamindb's: the plain message.
      const e = await assertRejects(() => ln.File.filter({ no_such: 1 }), ln.ValidationError);
      assert(!e.message.includes("lamindb's"), e.message);
      await assertRejects(
        () => ln.File.filter({}).orderBy("-created_at"),
        ln.ValidationError,
        /lamindb's -created_at is -createdAt here/,
      );
    },
  );

  t(
    "last(): the reversed order's first (ties by id too), an unordered query's newest",
    async () => {
      assertEquals(await ln.File.filter({}).last(), undefined);
      // Contents of 2 bytes but the last (distinct: the same bytes are one file).
      for (const key of ["b.csv", "a.csv", "c.txt", "d.csv"]) {
        await new ln.File(enc.encode(key[0] === "d" ? "d" : `${key[0]}!`), { key }).save();
        await new Promise((r) => setTimeout(r, 3)); // distinct createdAt
      }
      assertEquals((await ln.File.filter({}).last())?.key, "d.csv");
      assertEquals((await ln.File.filter({ suffix: ".csv" }).orderBy("key").last())?.key, "d.csv");
      assertEquals((await ln.File.filter({}).orderBy("-key").last())?.key, "a.csv");
      // Sizes tie (three of 2 bytes): the last of all() in that order.
      for (const order of [["size"], ["-size"], ["size", "-key"], ["-size", "id"]]) {
        const all = await ln.File.filter({}).orderBy(...order);
        assertEquals((await ln.File.filter({}).orderBy(...order).last())?.id, all.at(-1)!.id);
      }
      await assertRejects(() => ln.File.filter({}).limit(2).last(), ln.ValidationError, /last\(\)/);
      for (const order of ["no_such", "--key", "-"]) {
        await assertRejects(
          () => ln.File.filter({}).orderBy(order).last(),
          ln.ValidationError,
          /cannot order by/,
        );
      }
    },
  );

  t("lamindb's lookups: oneOrNone(), filtering by a where over linked labels", async () => {
    const a = await new ln.File(enc.encode("a"), { key: "a.txt" }).save();
    const b = await new ln.File(enc.encode("b"), { key: "b.txt" }).save();
    assertEquals((await ln.File.filter({ key: "a.txt" }).oneOrNone())?.id, a.id);
    assertEquals(await ln.File.filter({ key: "c.txt" }).oneOrNone(), undefined);
    await assertRejects(() => ln.File.filter({}).oneOrNone(), ln.MultipleResultsError);
    // ulabels__name="..." in lamindb: some label of the record matches the where.
    const [exp, proj] = [
      await new ln.ULabel({ name: "experiment 1" }).save(),
      await new ln.ULabel({ name: "project" }).save(),
    ];
    await a.ulabels.add(exp);
    await b.ulabels.add(exp, proj);
    await exp.parents.add(proj);
    const keys = async (where: ln.Where) =>
      (await ln.File.filter(where, { orderBy: "key" })).map((f) => f.key);
    assertEquals(await keys({ ulabels: { name: "experiment 1" } }), ["a.txt", "b.txt"]);
    assertEquals(await keys({ ulabels: { name: "project" } }), ["b.txt"]);
    assertEquals(await keys({ ulabels: { name: { startsWith: "exp" } }, key: "a.txt" }), [
      "a.txt",
    ]);
    assertEquals(await keys({ not: { ulabels: { name: "project" } } }), ["a.txt"]);
    assertEquals(await keys({ ulabels: { name: "none" } }), []);
    assertEquals(await keys({ ulabels: { id: exp.id } }), ["a.txt", "b.txt"]);
    // b has both labels: once, as lamindb's .distinct() gives it (a label where is membership).
    const both = ln.File.filter({ ulabels: { name: { in: ["experiment 1", "project"] } } });
    assertEquals((await both.orderBy("key")).map((f) => f.key), ["a.txt", "b.txt"]);
    assertEquals(await both.distinct().orderBy("key").toList("key"), ["a.txt", "b.txt"]);
    assertEquals([await both.count(), await both.distinct().count()], [2, 2]);
    assertEquals(
      (await ln.ULabel.filter({ parents: { name: "project" } })).map((l) => l.name),
      ["experiment 1"],
    );
    await assertRejects(
      () => ln.File.filter({ ulabels: { nme: "x" } }),
      ln.ValidationError,
      /ULabel has no field "nme"/,
    );
    await assertRejects(
      () => ln.File.filter({ ulabels: 5 }),
      ln.ValidationError,
      /or a where over ULabel/,
    );
  });

  t(
    "delete() is permanent: lamindb's trash (permanent: false) is refused, nothing deleted",
    async () => {
      const f = await new ln.File(enc.encode("d"), { key: "d.txt" }).save();
      const c = await new ln.Collection([f], { name: "d" }).save();
      await assertRejects(
        () => c.delete({ permanent: false }),
        ln.ValidationError,
        /Collection\.delete\(\{ permanent: false \}\): lamindeno has no trash.*nothing was deleted/,
      );
      await assertRejects(
        () => f.delete({ permanent: false }),
        ln.ValidationError,
        /File\.delete\(\{ permanent: false \}\): lamindeno has no trash/,
      );
      await assertRejects(
        () => f.delete({ storage: false } as never),
        ln.ValidationError,
        /unknown option "storage"; the options are permanent/,
      );
      await assertRejects(
        () => f.delete({ permanent: "yes" } as never),
        ln.ValidationError,
        /permanent must be true or false/,
      );
      assertEquals([await ln.File.filter({}).count(), await ln.Collection.filter({}).count()], [
        1,
        1,
      ]);
      await c.delete({ permanent: true });
      await f.delete({ permanent: true });
      assertEquals([await ln.File.filter({}).count(), await ln.Collection.filter({}).count()], [
        0,
        0,
      ]);
      assertEquals(await ln.fsck(), HEALTHY);
    },
  );

  t("save, query, get: fields come back with their types", async (root) => {
    await Deno.mkdir(`${root}/raw`);
    await Deno.writeTextFile(`${root}/raw/a.csv`, "x,y\n1,2\n");
    const inPlace = await new ln.File(`${root}/raw/a.csv`).save();
    const copied = await new ln.File(enc.encode("hello"), { key: "notes/h.txt" }).save();
    const got = await ln.File.get({ key: "raw/a.csv" });
    assertEquals([got.id, got.size, got.suffix, got.hash], [
      inPlace.id,
      8,
      ".csv",
      inPlace.hash,
    ]);
    assertEquals(typeof got.size, "number");
    assert(got.createdAt instanceof Date && got.createdBy?.handle);
    assertEquals((await ln.File.filter({ suffix: ".txt" })).map((f) => f.id), [copied.id]);
    await assertRejects(() => ln.File.get({ key: "nope" }), ln.NotFoundError);
    await new ln.File(enc.encode("other"), { key: "notes/o.txt" }).save();
    await assertRejects(() => ln.File.get({ suffix: ".txt" }), ln.MultipleResultsError);
  });

  t("the same content twice is one record, also when saved at the same moment", async () => {
    const a = await new ln.File(enc.encode("same")).save();
    const b = await new ln.File(enc.encode("same")).save();
    assertEquals(b.id, a.id);
    const many = await Promise.all(
      Array.from({ length: 4 }, () => new ln.File(enc.encode("race")).save()),
    );
    assertEquals(new Set(many.map((f) => f.id)).size, 1);
    assertEquals((await ln.File.filter({})).length, 2);
  });

  t("replace() keeps the id with a new hash; delete() removes row, links and object", async () => {
    const f = await new ln.File(enc.encode("v1"), { key: "doc.txt" }).save();
    const before = f.hash;
    await f.replace(enc.encode("version 2"));
    const again = await ln.File.get(f.id);
    assert(again.hash !== before && again.size === 9);
    const path = f.path();
    await f.delete();
    await assertRejects(() => ln.File.get(f.id), ln.NotFoundError);
    assertEquals(await Deno.stat(path).then(() => true, () => false), false);
  });

  t(
    "replace() of a folder-like file (.zarr): the new folder whole at the same path",
    async (root) => {
      const zarr = async (cells: string[]) => {
        const dir = `${await Deno.makeTempDir({ dir: root })}/cells.zarr`;
        await ln.writeZarr(
          new ln.AnnData({
            X: new ln.DenseMatrix(Float32Array.from(cells, (_, i) => i), [cells.length, 1]),
            obs: pl.DataFrame({ cell: cells }),
          }),
          dir,
        );
        return dir;
      };
      const f = await new ln.File(await zarr(["a", "b", "c"]), { key: "atlas/cells.zarr" }).save();
      const [path, before] = [f.path(), f.hash];
      const stale = await ln.File.get(f.id);
      await f.replace(await zarr(["x", "y"]));
      assert(f.hash !== before);
      assertEquals(f.path(), path);
      const again = await ln.File.get({ key: "atlas/cells.zarr" });
      assertEquals([again.id, again.hash, again.size], [f.id, f.hash, f.size]);
      assertEquals(((await again.load()) as ln.AnnData).nObs, 2);
      assertEquals(await ln.fsck(), HEALTHY);
      // A record loaded before the replace is stale; a folder is replaced only by a folder.
      const other = await zarr(["z"]);
      await assertRejects(() => stale.replace(other), ln.IntegrityError, /changed since/);
      await assertRejects(() => f.replace(enc.encode("x")), ln.ValidationError, /is a folder/);
      const doc = await new ln.File(enc.encode("a doc"), { key: "doc.txt" }).save();
      await assertRejects(() => doc.replace(path), ln.ValidationError, /single file/);
      assertEquals((await ln.File.get(f.id)).hash, f.hash);
    },
  );

  t("runs: inputs and outputs are linked once; finish() completes the run", async () => {
    const input = await new ln.File(enc.encode("a,b\n1,2\n"), { key: "in.csv" }).save();
    const run = await ln.track({ name: "pipeline" });
    await input.load();
    await input.load(); // not twice
    const out = await new ln.File(pl.DataFrame({ n: [1] }), { key: "out.parquet" }).save();
    assertEquals(out.runId, run.id);
    assertEquals((await run.inputs.all()).map((f) => f.key), ["in.csv"]);
    assertEquals((await run.outputs.all()).map((f) => f.key), ["out.parquet"]);
    assertEquals((await input.inputOf.all()).map((r) => r.id), [run.id]);
    await ln.finish();
    const done = await ln.Run.get(run.id);
    assertEquals(done.status, "completed");
    assert(done.finishedAt instanceof Date);
    const again = await ln.track({ name: "pipeline" });
    assertEquals(again.transformId, run.transformId, "same transform, new run");
  });

  t("run params: stored as JSON, filtered by top-level values, survive reopening", async (root) => {
    const a = await ln.track({
      name: "train",
      params: { lr: 0.1, donors: ["D1"], opt: { b: 1, a: "x" }, note: 'it\'s "quoted" ü' },
    });
    await ln.finish();
    const b = await ln.track({ name: "train", params: { lr: 0.01, donors: ["D1", "D2"] } });
    await ln.finish();
    const c = await ln.track({ name: "train" });
    await ln.finish();
    await ln.close();
    await open(root);
    const ids = async (where: ln.Where) => (await ln.Run.filter(where)).map((r) => r.id).sort();
    assertEquals((await ln.Run.get(a.id)).params, {
      lr: 0.1,
      donors: ["D1"],
      opt: { a: "x", b: 1 },
      note: 'it\'s "quoted" ü',
    });
    assertEquals(await ids({ params: { lr: 0.1 } }), [a.id]);
    assertEquals(await ids({ params: { lr: 0.1, opt: { a: "x", b: 1 } } }), [a.id]);
    assertEquals(await ids({ params: { note: 'it\'s "quoted" ü' } }), [a.id]);
    assertEquals(await ids({ params: { donors: ["D1", "D2"] } }), [b.id]);
    assertEquals(await ids({ params: { lr: 0.1, donors: ["D1", "D2"] } }), []);
    assertEquals(await ids({ params: { "'; drop table run; --": 1 } }), []);
    assertEquals(await ids({ params: null }), [c.id]);
    assertEquals(await ids({ params: {} }), [a.id, b.id, c.id].sort());
    assertEquals(await ids({ params: { lr: 0.01 }, status: "completed" }), [b.id]);
    await assertRejects(() => ln.Run.filter({ params: { lr: NaN } }), ln.ValidationError);
    await assertRejects(
      () => ln.track({ name: "bad", params: { f: (() => 1) as never } }),
      ln.ValidationError,
    );
    assertEquals((await ln.Run.filter({})).length, 3, "nothing written by the bad params");
  });

  t("feature sets deduplicate and link to files", async () => {
    const df = pl.DataFrame({ b: [1.5], a: ["x"] });
    const fs = await ln.Features.fromDataFrame(df).save();
    const same = await ln.Features.fromDataFrame(pl.DataFrame({ a: ["y"], b: [2.5] })).save();
    assertEquals(same.id, fs.id);
    const f = await new ln.File(df, { features: [fs] }).save();
    assertEquals((await f.features.all()).map((x) => x.id), [fs.id]);
    assertEquals((await fs.members()).map((m) => m.name), ["a", "b"]);
  });

  t("folders and reopening the instance", async (root) => {
    await Deno.mkdir(`${root}/batch`);
    for (const n of ["1", "2"]) await Deno.writeTextFile(`${root}/batch/${n}.txt`, n);
    const folder = await new ln.Folder(`${root}/batch`).save();
    assertEquals((await folder.files.all()).map((f) => f.key).sort(), [
      "batch/1.txt",
      "batch/2.txt",
    ]);
    const storageId = ln.settings.storage.id;
    await ln.close();
    await open(root);
    assertEquals(ln.settings.storage.id, storageId);
    assertEquals((await ln.File.filter({})).length, 2);
  });

  t(
    "descriptions are saved, loaded and filterable on File, Transform, Run and Folder",
    async (root) => {
      const f = await new ln.File(enc.encode("d"), { key: "d.txt", description: "raw counts" })
        .save();
      const tr = await new ln.Transform({ name: "qc", description: "quality control" }).save();
      const run = await new ln.Run({ transform: tr, description: "first try" }).save();
      await Deno.mkdir(`${root}/batch`);
      await Deno.writeTextFile(`${root}/batch/1.txt`, "1");
      const folder = await new ln.Folder(`${root}/batch`, { description: "batch one" }).save();
      await ln.close();
      await open(root);
      assertEquals((await ln.File.get(f.id)).description, "raw counts");
      assertEquals((await ln.File.filter({ description: "raw counts" })).map((x) => x.id), [f.id]);
      assertEquals((await ln.File.filter({ key: "batch/1.txt" }))[0].description, null);
      assertEquals((await ln.Transform.filter({ description: "quality control" }))[0].id, tr.id);
      assertEquals((await ln.Run.get({ description: "first try" })).id, run.id);
      assertEquals((await ln.Folder.get({ description: "batch one" })).id, folder.id);
      assert(String(await ln.File.get(f.id)).includes('description="raw counts"'));
      await assertRejects(
        () => new ln.File(enc.encode("x"), { description: 3 as unknown as string }),
        ln.ValidationError,
        /description must be a string/,
      );
    },
  );

  t(
    "labels: one record per name, on files and runs, File.filter by a label, labels or ids",
    async () => {
      const tcell = await new ln.ULabel({ name: "T cell", description: "CD3+" }).save();
      const bcell = await new ln.ULabel({ name: "B cell" }).save();
      assertEquals(tcell.id.length, 8);
      const again = await new ln.ULabel({ name: "T cell" }).save();
      assertEquals([again.id, again.description], [tcell.id, "CD3+"]);
      const same = await Promise.all(
        Array.from({ length: 4 }, () => new ln.ULabel({ name: "raced" }).save()),
      );
      assertEquals(new Set(same.map((l) => l.id)).size, 1);
      const a = await new ln.File(enc.encode("a"), { key: "a.txt" }).save();
      const b = await new ln.File(enc.encode("b"), { key: "b.txt" }).save();
      await new ln.File(enc.encode("c"), { key: "c.txt" }).save();
      await a.ulabels.add(tcell);
      await a.ulabels.add(tcell, bcell); // idempotent
      await b.ulabels.add(bcell);
      const keys = (fs: ln.File[]) => fs.map((f) => f.key).sort();
      assertEquals(keys(await ln.File.filter({ ulabels: tcell })), ["a.txt"]);
      assertEquals(keys(await ln.File.filter({ ulabels: bcell })), ["a.txt", "b.txt"]);
      assertEquals(keys(await ln.File.filter({ ulabels: [tcell, bcell] })), ["a.txt", "b.txt"]);
      assertEquals(keys(await ln.File.filter({ ulabels: tcell.id, key: "a.txt" })), ["a.txt"]);
      assertEquals(keys(await ln.File.filter({ ulabels: tcell, key: "b.txt" })), []);
      assertEquals(await ln.File.filter({ ulabels: [] }), []);
      // One label drives the query (its links joined): order, pages, groups and counts as the
      // general form (the same label twice) gives them.
      for (const one of [bcell, bcell.id, [bcell]]) {
        const page = (o: ln.QueryOptions) =>
          ln.File.filter({ ulabels: one, not: { key: "c.txt" } }, o);
        const general = (o: ln.QueryOptions) =>
          ln.File.filter({ ulabels: [bcell, bcell.id], not: { key: "c.txt" } }, o);
        for (const o of [{ orderBy: "-key" }, { orderBy: "key", limit: 1, offset: 1 }]) {
          assertEquals((await page(o)).map((f) => f.key), (await general(o)).map((f) => f.key));
        }
        assertEquals(await page({}).count(), 2);
        assertEquals(
          keys(await ln.File.filter({ ulabels: one, or: [{ key: "b.txt" }, { key: "c.txt" }] })),
          ["b.txt"],
        );
      }
      assertEquals((await a.ulabels.all()).map((l) => l.name).sort(), ["B cell", "T cell"]);
      assertEquals(keys(await bcell.files.all()), ["a.txt", "b.txt"]);
      await a.ulabels.remove(bcell);
      assertEquals(keys(await bcell.files.all()), ["b.txt"]);
      const run = await new ln.Run({ transform: await new ln.Transform({ name: "t" }).save() })
        .save();
      await run.ulabels.add(tcell);
      assertEquals((await tcell.runs.all()).map((r) => r.id), [run.id]);
      assertEquals((await ln.Run.filter({ ulabels: tcell })).map((r) => r.id), [run.id]);
      assertEquals((await ln.ULabel.get({ name: "B cell" })).id, bcell.id);
      assertEquals((await ln.ULabel.filter({})).length, 3);
      await assertRejects(
        () => a.ulabels.add(new ln.ULabel({ name: "unsaved" })),
        ln.ValidationError,
        /not saved yet/,
      );
      // A where over the labels (lamindb's ulabels__name): some label of the file matches.
      assertEquals(keys(await ln.File.filter({ ulabels: { name: "T cell" } })), keys([a]));
      await a.delete();
      assertEquals(keys(await tcell.files.all()), []);
    },
  );

  t("label parents and children; a cycle is refused and nothing is written", async () => {
    const l = async (name: string) => await new ln.ULabel({ name }).save();
    const [c, ly, t1, c8] = [
      await l("cell"),
      await l("lymphocyte"),
      await l("T cell"),
      await l("CD8"),
    ];
    await ly.parents.add(c);
    await t1.parents.add(ly);
    await ly.children.add(await l("B cell"));
    await c8.parents.add(t1);
    const names = (ls: ln.ULabel[]) => ls.map((x) => x.name).sort();
    assertEquals(names(await ly.children.all()), ["B cell", "T cell"]);
    assertEquals(names(await c8.parents.all()), ["T cell"]);
    assertEquals(names(await ln.ULabel.filter({ parents: ly })), ["B cell", "T cell"]);
    assertEquals(names(await ln.ULabel.filter({ children: ly })), ["cell"]);
    const links = async () =>
      (await Promise.all([c, ly, t1, c8].map((x) => x.parents.all())))
        .map(names);
    const before = await links();
    await assertRejects(() => c.parents.add(c8), ln.ValidationError, /cycle.*nothing was changed/);
    const fine = await l("fine");
    await assertRejects(() => c.parents.add(fine, c8), ln.ValidationError, /cycle/);
    await assertRejects(() => c8.children.add(c), ln.ValidationError, /cycle/);
    await assertRejects(() => t1.parents.add(t1), ln.ValidationError, /its own parent/);
    assertEquals(await links(), before);
    assertEquals(await fine.children.all(), []);
    // Two additions at once that would close a cycle between them (x > y > z > w > x): one wins.
    for (let round = 0; round < 8; round++) {
      const [x, y, z, w] = await Promise.all(["x", "y", "z", "w"].map((n) => l(`${n}${round}`)));
      await Promise.all([y.parents.add(z), w.parents.add(x)]);
      const raced = await Promise.allSettled([x.parents.add(y), z.parents.add(w)]);
      assertEquals(raced.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
      const lost = raced.find((r) => r.status === "rejected") as PromiseRejectedResult;
      assert(lost.reason instanceof ln.ValidationError, String(lost.reason));
    }
    await c8.parents.remove(t1);
    await c.parents.add(c8); // no longer a cycle
    assertEquals(names(await c.parents.all()), ["CD8"]);
  });

  t(
    "query.delete(): every record of a File or Collection query, each as its delete(); checked before anything is deleted",
    async (root) => {
      const keys = ["a.csv", "b.csv", "c.csv", "d.txt"];
      const files: ln.File[] = [];
      for (const key of keys) files.push(await new ln.File(enc.encode(key), { key }).save());
      const label = await new ln.ULabel({ name: "to go" }).save();
      await files[0].ulabels.add(label);
      const all = async () => (await ln.File.filter({}).orderBy("key")).map((f) => f.key);
      // Refused, nothing deleted: bad options, a paged query, a file in a collection, other records.
      await assertRejects(
        () => ln.File.filter({ suffix: ".csv" }).delete({ permanent: false }),
        ln.ValidationError,
        /no trash/,
      );
      await assertRejects(
        () => ln.File.filter({ suffix: ".csv" }).limit(1).delete(),
        ln.ValidationError,
        /limit\(\) or offset\(\)/,
      );
      await assertRejects(() => ln.ULabel.filter({}).delete(), ln.ValidationError, /File and Coll/);
      await assertRejects(
        () => ln.File.search("csv").delete(),
        ln.ValidationError,
        /search\(\) results/,
      );
      // A query refused as built says why when asked to delete too.
      await assertRejects(
        () => ln.File.filter({}).limit(1).filter({}).delete(),
        ln.ValidationError,
        /filter\(\) or exclude\(\) after limit\(\)/,
      );
      await new ln.Collection([files[2]], { name: "holds c" }).save();
      const e = await assertRejects(
        () => ln.File.filter({ suffix: ".csv" }).delete(),
        ln.IntegrityError,
        /in collection/,
      );
      assert(e.message.includes(files[2].id), e.message);
      assertEquals(await all(), keys);
      // Collections first, then their files.
      assertEquals(await ln.Collection.filter({ name: "holds c" }).delete(), 1);
      assertEquals(await ln.Collection.filter({}).count(), 0);
      assert((await ln.Collection.filter({ name: "holds c" }).delete()) === 0, "none left");
      assertEquals(await ln.File.filter({ suffix: ".csv" }).delete(), 3);
      assertEquals(await all(), ["d.txt"]);
      assertEquals((await label.files.all()).length, 0, "links go with the files");
      // Managed objects are gone; the report of a healthy instance is empty.
      assertEquals(await Deno.stat(`${root}/a.csv`).then(() => true, () => false), false);
      assertEquals(await ln.fsck(), HEALTHY);
    },
  );

  t(
    "feature values: addValues/getValues/setValues/removeValues, File.filter({ features }), typed errors that write nothing",
    async () => {
      const save = (key: string) => new ln.File(enc.encode(key), { key }).save();
      const [a, b, c] = [await save("a.txt"), await save("b.txt"), await save("c.txt")];
      await a.features.addValues({ temperature: 21.6, tissue: "lung", genes: ["CD4", "CD8A"] });
      await b.features.addValues({ temperature: 4, tissue: "blood", meta: { n: 2, ok: true } });
      await c.features.addValues({ tissue: "lung", skipped: null });
      assertEquals(await a.features.getValues(), {
        genes: ["CD4", "CD8A"],
        temperature: 21.6,
        tissue: "lung",
      });
      assertEquals(await c.features.getValues(), { tissue: "lung" }, "null values are skipped");
      const text = (await a.describe()).text;
      // df({ features }): a column per name, typed by its values (mixed or nested: JSON text).
      const df = await ln.File.filter({}, { orderBy: "key" }).df({ features: true });
      assertEquals(df.columns.slice(-4), ["genes", "meta", "temperature", "tissue"]);
      assertEquals(df.getColumn("temperature").toArray(), [21.6, 4, null]);
      assertEquals(df.getColumn("tissue").toArray(), ["lung", "blood", "lung"]);
      assertEquals(df.getColumn("genes").toArray(), ['["CD4","CD8A"]', null, null]);
      assertEquals(df.getColumn("meta").toArray(), [null, '{"n":2,"ok":true}', null]);
      const some = await ln.File.filter({}, { orderBy: "key" }).toDataFrame({
        features: ["tissue", "none"],
      });
      assertEquals(some.columns.slice(-2), ["tissue", "none"]);
      assertEquals(some.getColumn("none").toArray(), [null, null, null]);
      assertEquals(
        (await ln.File.filter({}).df({ features: false })).columns.includes("tissue"),
        false,
      );
      await assertRejects(
        () => ln.File.filter({}).df({ features: "all" } as never),
        ln.ValidationError,
        /true or an array/,
      );
      await assertRejects(
        () => ln.File.filter({}).df({ feature: true } as never),
        ln.ValidationError,
        /feature/,
      );
      await assertRejects(
        () => ln.ULabel.filter({}).df({ features: true }),
        ln.ValidationError,
        /File/,
      );
      // A feature named like a field: its own column beside the field's.
      await c.features.addValues({ key: "k" });
      const both = await ln.File.filter({ key: "c.txt" }).df({ features: ["key"] });
      assertEquals([both.getColumn("key").toArray(), both.getColumn("key (feature)").toArray()], [[
        "c.txt",
      ], ["k"]]);
      await c.features.removeValues("key");
      // Names in code point order (U+FF01 before U+1F600, which UTF-16 order reverses).
      await c.features.addValues({ "\u{1F600}": 1, "\uFF01": 2 });
      const named = await ln.File.filter({ key: "c.txt" }).df({ features: true });
      assertEquals(named.columns.slice(-3), ["tissue", "\uFF01", "\u{1F600}"]);
      await c.features.removeValues(["\u{1F600}", "\uFF01"]);
      await assertRejects(
        () => ln.File.filter({}).df({ features: ["a\0b"] }),
        ln.ValidationError,
        /NUL/,
      );
      await assertRejects(
        () => ln.File.filter({}).df({ features: ["x", "x"] }),
        ln.ValidationError,
        /twice/,
      );
      // A search's table takes the same options.
      const found = await ln.File.search("a.txt").df({ features: ["temperature"] });
      assert(found.columns.includes("temperature"), found.columns.join());
      await assertRejects(
        () => ln.File.search("a").df({ bogus: 1 } as never),
        ln.ValidationError,
        /bogus/,
      );
      assert(/temperature\W+21\.6/.test(text) && /genes\W+\["CD4","CD8A"\]/.test(text), text);
      const keys = async (features: unknown) =>
        (await ln.File.filter({ features } as ln.Where, { orderBy: "key" })).map((f) => f.key);
      assertEquals(await keys({ tissue: "lung" }), ["a.txt", "c.txt"]);
      assertEquals(await keys({ tissue: "lung", temperature: 21.6 }), ["a.txt"]);
      assertEquals(await keys({ temperature: { gt: 5 } }), ["a.txt"]);
      assertEquals(await keys({ temperature: { gte: 4, lt: 21.6 } }), ["b.txt"]);
      assertEquals(await keys({ tissue: { in: ["blood", "lung"] } }), ["a.txt", "b.txt", "c.txt"]);
      assertEquals(await keys({ tissue: { ne: "lung" } }), ["b.txt"]);
      assertEquals(await keys({ temperature: { isNull: true } }), ["c.txt"]);
      assertEquals(await keys({ genes: ["CD4", "CD8A"] }), ["a.txt"]);
      assertEquals(await keys({ genes: ["CD8A", "CD4"] }), [], "arrays compare as wholes");
      assertEquals(await keys({ meta: { eq: { ok: true, n: 2 } } }), ["b.txt"]);
      assertEquals(await keys({ tissue: "Lung" }), [], "case-exact");
      assertEquals(
        (await ln.File.filter({ not: { features: { tissue: "lung" } } })).map((f) => f.key),
        ["b.txt"],
      );
      // A name given again gets the new value; set replaces all; remove drops names.
      await a.features.addValues({ temperature: 37 });
      assertEquals((await a.features.getValues()).temperature, 37);
      assertEquals(await keys({ temperature: { gt: 30 } }), ["a.txt"]);
      await b.features.setValues({ batch: 1 });
      assertEquals(await b.features.getValues(), { batch: 1 });
      await a.features.removeValues("genes");
      assertEquals(Object.keys(await a.features.getValues()), ["temperature", "tissue"]);
      await a.features.removeValues();
      assertEquals(await a.features.getValues(), {});
      // Bad input: a ValidationError, nothing written.
      await c.features.addValues({ tissue: "lung" });
      for (
        const bad of [
          [{ t: NaN }, /finite/],
          [{ t: new Date() }, /Date/],
          [{ "": 1 }, /1-255 characters/],
          [{ ["__proto__"]: 1 }, /not allowed/],
          ["lung", /plain object/],
        ] as const
      ) {
        await assertRejects(
          () => c.features.addValues(bad[0] as never),
          ln.ValidationError,
          bad[1],
        );
      }
      assertEquals(await c.features.getValues(), { tissue: "lung" });
      for (
        const bad of [
          {},
          "lung",
          { tissue: { gt: "a" } },
          { tissue: { in: [] } },
          { tissue: undefined },
          { tissue: { isNull: 1 } },
        ]
      ) {
        await assertRejects(() => keys(bad), ln.ValidationError, /where\.features/);
      }
      await assertRejects(() => c.features.removeValues(3 as never), ln.ValidationError);
      await assertRejects(() => c.features.removeValues(["a\0b"]), ln.ValidationError, /NUL/);
      // A typo among operators, a name the registry cannot store: typed errors.
      await assertRejects(
        () => keys({ tissue: { ne: "a", nee: "b" } }),
        ln.ValidationError,
        /"nee" is no operator/,
      );
      await assertRejects(() => keys({ ["a\0b"]: 1 }), ln.ValidationError, /NUL/);
      // Writers at once: each name ends with one value, no error.
      await Promise.all(
        [1, 2, 3, 4].map((v) => c.features.addValues({ fresh: v, [`own${v}`]: v })),
      );
      const after = await c.features.getValues();
      assert([1, 2, 3, 4].includes(after.fresh as number), JSON.stringify(after));
      assertEquals(Object.keys(after).filter((k) => k.startsWith("own")).length, 4);
      // lamindb's Artifact.filter(temperature=21.6): the error says how it is written here.
      await assertRejects(
        () => ln.File.filter({ temperature: 21.6 } as ln.Where),
        ln.ValidationError,
        /no field "temperature"; a feature value is written \{ features: \{ "temperature": \.\.\. \} \}/,
      );
      // Deleting a file deletes its values; an unsaved or deleted file takes none.
      await c.delete();
      assertEquals(await keys({ tissue: "lung" }), []);
      await assertRejects(() => c.features.addValues({ x: 1 }), ln.ValidationError, /not saved/);
      const stale = await ln.File.get(b.id);
      await b.delete();
      await assertRejects(
        () => stale.features.addValues({ x: 1 }),
        ln.ValidationError,
        /not in the registry/,
      );
    },
  );

  t("label names: empty, 10,000 characters, __proto__ and constructor", async () => {
    for (const name of ["", "   ", 3, undefined]) {
      await assertRejects(
        () => new ln.ULabel({ name: name as string }),
        ln.ValidationError,
        /non-empty `name`/,
      );
    }
    await assertRejects(
      () => new ln.ULabel({ name: "x".repeat(10_000) }),
      ln.ValidationError,
      /at most 255 characters, got 10000/,
    );
    assertEquals((await new ln.ULabel({ name: "é".repeat(255) }).save()).name.length, 255);
    for (const name of ["__proto__", "constructor", "toString", "a'; drop table ulabel; --"]) {
      const saved = await new ln.ULabel({ name }).save();
      assertEquals((await ln.ULabel.get({ name })).id, saved.id);
    }
    await assertRejects(
      () => ln.ULabel.filter({ ["__proto__"]: "x" } as ln.Where),
      ln.ValidationError,
    );
    await assertRejects(
      () => ln.File.filter(JSON.parse('{"__proto__": {"ulabels": "x"}}')),
      ln.ValidationError,
      /no field "__proto__"/,
    );
    assertEquals((await ln.ULabel.filter({})).length, 5);
  });
}
