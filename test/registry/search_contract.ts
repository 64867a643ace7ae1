// The search and key-prefix contract every registry database must meet (run
// on libSQL and PostgreSQL by the contract tests): the same records in the
// same order on both.
import { type Kysely, sql } from "kysely";
import * as ln from "../../mod.ts";
import { contractCase } from "./_contract_case.ts";
import { assert, assertEquals, assertRejects, tempDir } from "../_helpers.ts";
import { migrateToPreviousRelease } from "./_previous_release.ts";
import { compareIds, TUNING } from "../../src/registry/_search_topk.ts";
import { MAX_EXPANSIONS } from "../../src/registry/_search.ts";
import { matchKind, queryWords, recordWords } from "../../src/registry/_search_tokens.ts";

const enc = new TextEncoder();

/** Register the search contract for instances opened by `open`. */
export function searchContract(
  name: string,
  open: (storage: string) => Promise<void>,
  options: { ignore?: boolean; oldRegistry?: (storage: string) => Promise<Kysely<unknown>> } = {},
): void {
  const t = contractCase(name, open, options);
  const save = (key: string, description?: string, name?: string) =>
    new ln.File(enc.encode(key), { key, description, name }).save();
  const keys = async (q: ln.Query<ln.File>) => (await q).map((f) => f.key);

  t("search ranks name matches above key matches above description matches, any case", async () => {
    await save("docs/readme.txt", "The T cell ATLAS of the lung");
    await save("atlas/blood.csv", "pbmc");
    await save("x/t_cell_atlas.h5ad");
    await save("other/unrelated.csv", "nothing here");
    assertEquals(await keys(ln.File.search("atlas")), [
      "x/t_cell_atlas.h5ad", // name (3 x exact 3)
      "atlas/blood.csv", // key (2 x 3)
      "docs/readme.txt", // description (1 x 3)
    ]);
    assertEquals(await keys(ln.File.search("T CELL Atlas")), [
      "x/t_cell_atlas.h5ad",
      "docs/readme.txt",
    ]);
    // Every word must match; a prefix counts, less than the whole word.
    assertEquals(await keys(ln.File.search("atl lung")), ["docs/readme.txt"]);
    assertEquals(await keys(ln.File.search("atlas kidney")), []);
    assertEquals(await keys(ln.File.search("zebrafish")), []);
    assertEquals(await ln.File.search("atlas").count(), 3);
    assertEquals(await keys(ln.File.search("atlas", { limit: 2 })), [
      "x/t_cell_atlas.h5ad",
      "atlas/blood.csv",
    ]);
    assertEquals(await keys(ln.File.search("atlas").offset(1).limit(1)), ["atlas/blood.csv"]);
    assertEquals((await ln.File.search("atlas").first())?.key, "x/t_cell_atlas.h5ad");
    const ranked = await keys(ln.File.search("atlas"));
    assertEquals((await ln.File.search("atlas").last())?.key, ranked.at(-1));
  });

  t("search tolerates one typo in words of four or more letters, not in shorter ones", async () => {
    await save("a/atlas.csv");
    await save("a/cell.csv", "cells of the lung");
    await save("b/exact_atlsa.csv");
    // "atlsa" is a word itself there (exact) and one swap from "atlas".
    assertEquals(await keys(ln.File.search("atlsa")), ["b/exact_atlsa.csv", "a/atlas.csv"]);
    assertEquals(await keys(ln.File.search("atlax")), ["a/atlas.csv"]); // substitution
    assertEquals(await keys(ln.File.search("alas")), ["a/atlas.csv"]); // a letter missing
    assertEquals(await keys(ln.File.search("attlas")), ["a/atlas.csv"]); // insertion
    assertEquals(await keys(ln.File.search("lnug")), ["a/cell.csv"]);
    assertEquals(await keys(ln.File.search("atxxs")), []); // two edits
    assertEquals(await keys(ln.File.search("lug")), []); // three letters: exact or prefix only
  });

  t(
    "search finds what was saved, replaced, renamed, deleted: the index follows writes",
    async () => {
      const f = await save("old/name.csv", "first");
      assertEquals(await keys(ln.File.search("old")), ["old/name.csv"]);
      await f.replace(enc.encode("new content"));
      assertEquals((await ln.File.search("first"))[0].id, f.id);
      await f.delete();
      assertEquals(await keys(ln.File.search("first")), []);
      const label = await new ln.ULabel({ name: "T cell", description: "a lymphocyte" }).save();
      const b = await new ln.ULabel({ name: "B cell" }).save();
      // The same score (the whole word in the name): ties go by id.
      assertEquals((await ln.ULabel.search("cell")).map((l) => l.id), [label.id, b.id].sort());
      assertEquals((await ln.ULabel.search("lymphocyte")).map((l) => l.name), ["T cell"]);
      label.name = "CD8 T cell";
      await label.save();
      assertEquals((await ln.ULabel.search("cd8")).map((l) => l.id), [label.id]);
      const t1 = await new ln.Transform({ name: "qc.ts", version: "1", description: "quality" })
        .save();
      const t2 = await new ln.Transform({ id: t1.id, name: "qc.ts", version: "2" }).save();
      assertEquals(
        (await ln.Transform.search("qc")).map((t) => `${t.id}/${t.version}`).sort(),
        [`${t1.id}/1`, `${t2.id}/2`],
      );
      assertEquals((await ln.Transform.search("qualty")).map((t) => t.version), ["1"]);
    },
  );

  t(
    "search pages rank exactly as a brute-force ranking of every record, for random queries",
    async () => {
      // A skewed vocabulary (word i drawn with weight 1/(i+1)), prefix families, near-typos,
      // non-ASCII: many ties, common words in every field.
      const vocab = [
        "cell",
        "cells",
        "cellular",
        "atlas",
        "atlsa",
        "lung",
        "lungs",
        "t",
        "b",
        "blood",
        "liver",
        "atlases",
        "macrophage",
        "macro",
        "map",
        "maps",
        "café",
        "cafe",
        "naïve",
        "x1",
        "x12",
        "x123",
        "donor",
        "done",
        "tissue",
        "tisue",
        "zebrafish",
        "ω",
        "ωmega",
        "survey",
      ];
      let seed = 7;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      const total = vocab.reduce((a, _, i) => a + 1 / (i + 1), 0);
      const word = () => {
        let x = rand() * total;
        for (let i = 0; i < vocab.length; i++) if ((x -= 1 / (i + 1)) < 0) return vocab[i];
        return vocab[0];
      };
      const some = (n: number) => Array.from({ length: n }, word).join(" ");
      const files = Array.from({ length: 240 }, (_, i) =>
        new ln.File(enc.encode(`content ${i}`), {
          key: `${word()}/${word()}_${i}.csv`,
          name: rand() < 0.3 ? `${some(1 + Math.floor(rand() * 2))}.h5ad` : undefined,
          description: rand() < 0.8 ? some(Math.floor(rand() * 7)) : undefined,
        }));
      await ln.save(files);
      // The index follows writes (PostgreSQL keeps each record's words twice: both must agree).
      for (const f of files.slice(0, 10)) await f.delete();
      for (const f of files.slice(10, 16)) await f.replace(enc.encode(`new content ${f.key}`));
      const records = (await ln.File.filter({})).map((f) => ({
        id: f.id,
        words: recordWords([[f.name, 3], [f.key, 2], [f.description, 1]]),
      }));
      assertEquals(records.length, 230);
      const all = [...new Set(records.flatMap((r) => [...r.words.keys()]))].sort(compareIds);
      const brute = (q: string): string[] => {
        const expanded = queryWords("File", q).map((qw) => {
          const range = all.filter((w) =>
            qw.prefixEnd === null
              ? w === qw.word
              : compareIds(w, qw.word) >= 0 && compareIds(w, qw.prefixEnd) < 0
          ).slice(0, MAX_EXPANSIONS);
          return { qw, words: new Set([...range, ...all.filter((w) => qw.typos.has(w))]) };
        });
        const scored: [string, number][] = [];
        for (const r of records) {
          let score = 0;
          for (const { qw, words } of expanded) {
            let best = 0;
            for (const w of words) {
              const weight = r.words.get(w);
              if (weight !== undefined) best = Math.max(best, matchKind(qw, w) * weight);
            }
            if (best === 0) {
              score = -1;
              break;
            }
            score += best;
          }
          if (score > 0) scored.push([r.id, score]);
        }
        return scored.sort((a, b) => b[1] - a[1] || compareIds(a[0], b[0])).map(([id]) => id);
      };
      const queryWord = () => {
        const w = word();
        const x = rand();
        if (x < 0.5 || w.length < 3) return w;
        if (x < 0.7) return w.slice(0, 2 + Math.floor(rand() * (w.length - 2))); // a prefix
        if (x < 0.85) return w.slice(0, 1) + w.slice(2, 3) + w.slice(1, 2) + w.slice(3); // a swap
        return w.toUpperCase();
      };
      const saved = { ...TUNING };
      const plans = [
        // Every word through the threshold plan, many rounds (on PostgreSQL with range scans).
        { cap: 0, first: 1, minPair: 1, scanFrom: 1, rare: 1e9, semiCap: 0 },
        { cap: 0, first: 5, minPair: 2, scanFrom: 1e9, rare: 1e9, semiCap: 0 },
        { cap: 0, first: 400, minPair: 16, scanFrom: 1_000, rare: 4_000, semiCap: 200_000 },
        // Few matches so far: the two rarest words intersected (at once, or the counts declined).
        // (SQLite: merged in id order, or with merging off, one probed in a list of the other's.)
        { cap: 0, first: 1, minPair: 1, scanFrom: 1, rare: 0, semiCap: 1e9 },
        { cap: 0, first: 1, minPair: 1, scanFrom: 1, rare: 0, semiCap: 1e9, merged: 0 },
        { cap: 0, first: 2, minPair: 1, scanFrom: 1e9, rare: 0, semiCap: 3 },
        // (PostgreSQL) The sample of the longest word's records has none with every word: the
        // records with every word at once, or too many of them and the threshold plan.
        {
          cap: 0,
          first: 400,
          minPair: 16,
          scanFrom: 1_000,
          rare: 4_000,
          semiCap: 200_000,
          sample: 1,
        },
        { cap: 0, first: 1, minPair: 1, scanFrom: 1, rare: 1e9, semiCap: 0, sample: 1, docCap: 2 },
        // Every word rare: the lookup plan.
        { cap: 1e9, first: 400, minPair: 16, scanFrom: 1_000, rare: 4_000, semiCap: 200_000 },
      ];
      let nonEmpty = 0;
      try {
        for (let n = 0; n < 60; n++) {
          const q = Array.from({ length: 1 + Math.floor(rand() * 3) }, queryWord).join(" ");
          const want = brute(q);
          if (want.length > 0) nonEmpty++;
          const limit = 1 + Math.floor(rand() * 25);
          const offset = rand() < 0.5 ? 0 : Math.floor(rand() * 30);
          for (const plan of plans) {
            Object.assign(TUNING, saved, plan);
            const got = (await ln.File.search(q, { limit }).offset(offset)).map((f) => f.id);
            assertEquals(got, want.slice(offset, offset + limit), `${q} ${JSON.stringify(plan)}`);
          }
          assertEquals(await ln.File.search(q).count(), want.length, q);
        }
      } finally {
        Object.assign(TUNING, saved);
      }
      assert(nonEmpty >= 30, `only ${nonEmpty} of 60 random queries matched anything`);
    },
  );

  t("search refuses bad input with a ValidationError", async () => {
    await save("a.csv");
    const bad: [unknown, unknown, RegExp][] = [
      ["", undefined, /no letters or digits/],
      ["  -- !", undefined, /no letters or digits/],
      ["x".repeat(10_000), undefined, /at most 1000/],
      [42, undefined, /takes a string/],
      [null, undefined, /takes a string/],
      [["a"], undefined, /takes a string/],
      [Array.from({ length: 17 }, (_, i) => `w${i}`).join(" "), undefined, /at most 16/],
      ["a", { limit: 0 }, /limit/],
      ["a", { limit: "3" }, /limit/],
      ["a", null, /options/],
    ];
    for (const [q, o, msg] of bad) {
      await assertRejects(
        () => ln.File.search(q as string, o as ln.SearchOptions),
        ln.ValidationError,
        msg,
      );
      await assertRejects(
        () => ln.ULabel.search(q as string, o as ln.SearchOptions).count(),
        ln.ValidationError,
        msg,
      );
    }
    await assertRejects(() => ln.File.search("a").orderBy("key").all(), ln.ValidationError, /rank/);
  });

  t(
    "versions() is a query of the family in code point order of ids (past version 36: 000A < 000a), on every collation",
    async () => {
      const versions: ln.File[] = [];
      for (let i = 0; i < 40; i++) {
        versions.push(await new ln.File(enc.encode(`v${i}`), { key: "v.txt" }).save());
      }
      const ids = versions.map((f) => f.id);
      const codePoint = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      assertEquals(ids, codePoint, "saved in id order");
      assert(ids.some((id) => id.endsWith("A")) && ids.some((id) => id.endsWith("a")));
      const q = versions[3].versions();
      assert(q instanceof ln.Query, "a query");
      assertEquals((await q).map((f) => f.id), ids);
      assertEquals((await q.last())?.id, ids[39]);
      assertEquals((await q.filter({ isLatest: true })).map((f) => f.id), [ids[39]]);
      assertEquals(await q.count(), 40);
      assertEquals((await q.orderBy("-id").limit(2)).map((f) => f.id), [ids[39], ids[38]]);
      assertEquals((await q.df()).height, 40);
      // Any order by id, and ties broken by id: code point order too.
      const other = await save("other.txt");
      const all = [...ids, other.id].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      assertEquals(
        (await ln.File.filter({ isLatest: { in: [true, false] } }, { orderBy: "id" })).map((f) =>
          f.id
        ),
        all,
      );
      const cs: ln.Collection[] = [];
      for (const f of versions) cs.push(await new ln.Collection([f], { name: "c" }).save());
      assertEquals((await cs[0].versions()).map((c) => c.id), cs.map((c) => c.id));
      assertEquals((await cs[1].versions().first())?.id, cs[0].id);
      // Deleting the latest makes the previous one (in code point order) latest.
      await cs[39].delete();
      assertEquals((await ln.Collection.get({ name: "c" })).id, cs[38].id);
      await ln.Collection.filter({ name: "c", isLatest: { in: [true, false] } }).delete();
      await versions[39].delete();
      assertEquals((await ln.File.get({ key: "v.txt" })).id, ids[38]);
    },
  );

  t("key startsWith is an exact index range, also next to the highest code points", async () => {
    // The range [prefix, its upper bound) alone decides: the keys around each bound.
    const stored = [
      "p/y",
      "p/x",
      "p0",
      "p.",
      "pé/a",
      "pf",
      "p\u{FFFD}",
      "p\u{10FFFD}",
      "p\u{10FFFF}",
      "p\u{10FFFF}z",
      "p\u{10FFFF}\u{10FFFF}",
      "q",
      "P/a",
    ];
    for (const key of stored) await save(key);
    const prefixes = [
      "p",
      "p/",
      "pé",
      "p\u{FFFD}",
      "p\u{10FFFF}",
      "p\u{10FFFF}\u{10FFFF}",
      "pf",
      "",
    ];
    for (const prefix of prefixes) {
      const got = (await ln.File.filter({ key: { startsWith: prefix } })).map((f) => f.key!).sort();
      const want = stored.filter((k) => k.startsWith(prefix)).sort();
      assertEquals(got, want, JSON.stringify(prefix));
    }
  });

  t("startsWith on keys is exact: case-sensitive, % and _ literal, any character", async () => {
    for (
      const key of [
        "a%b/1.txt",
        "a_b/2.txt",
        "axb/3.txt",
        "A%b/4.txt",
        "a%bc/5.txt",
        "z\uffff/6.txt",
        "z\u{1F600}/7.txt",
        "z\u{10FFFF}\u{10FFFF}/8.txt",
        "é/9.txt",
      ]
    ) await save(key);
    const starts = async (p: string) =>
      (await ln.File.filter({ key: { startsWith: p } })).map((f) => f.key).sort();
    assertEquals(await starts("a%b"), ["a%b/1.txt", "a%bc/5.txt"]);
    assertEquals(await starts("a%b/"), ["a%b/1.txt"]);
    assertEquals(await starts("a_b"), ["a_b/2.txt"]);
    assertEquals(await starts("A"), ["A%b/4.txt"]);
    assertEquals(
      await starts("z"),
      [
        "z\u{10FFFF}\u{10FFFF}/8.txt",
        "z\u{1F600}/7.txt",
        "z\uffff/6.txt",
      ].sort(),
    );
    assertEquals(await starts("z\uffff"), ["z\uffff/6.txt"]);
    assertEquals(await starts("z\u{10FFFF}"), ["z\u{10FFFF}\u{10FFFF}/8.txt"]);
    assertEquals(await starts("é"), ["é/9.txt"]);
    assertEquals(await starts("e"), []);
    assertEquals((await starts("")).length, 9);
    // Ordering by key is by code point on both databases.
    assertEquals(
      (await ln.File.filter({ key: { startsWith: "a" } }, { orderBy: "key" })).map((f) => f.key),
      ["a%b/1.txt", "a%bc/5.txt", "a_b/2.txt", "axb/3.txt"],
    );
  });

  if (options.oldRegistry) {
    const old = options.oldRegistry;
    Deno.test({
      name: `${name}: a registry of the previous release upgrades and its records are searchable`,
      ignore: options.ignore ?? false,
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const root = await tempDir();
        try {
          const db = await old(root);
          await migrateToPreviousRelease(db);
          const now = new Date().toISOString();
          await sql`insert into "user" (id, handle, created_at, updated_at)
            values ('u0000001', 'old', ${now}, ${now})`.execute(db);
          await sql`insert into transform (id, version, name, type, created_at, updated_at,
            created_by_id) values ('T00000000001', '1', 'old pipeline.ts', 'script', ${now},
            ${now}, 'u0000001')`.execute(db);
          await sql`insert into storage (id, root, type, created_at, updated_at, created_by_id)
            values ('S00000000001', ${await Deno.realPath(root)}, 'local', ${now}, ${now},
            'u0000001')`
            .execute(db);
          await sql`insert into file (id, name, suffix, size, hash, hash_type, key, managed,
            is_dir, storage_id, created_at, updated_at, created_by_id) values
            ('F0000000000000000001', 'atlas.h5ad', '.h5ad', 3, 'h1', 'md5',
            'raw/atlas.h5ad', 0, 0, 'S00000000001', ${now}, ${now}, 'u0000001')`.execute(db);
          await db.destroy();
          await open(root);
          assertEquals((await ln.File.search("atlas")).map((f) => f.id), ["F0000000000000000001"]);
          assertEquals((await ln.File.search("raw atlsa")).length, 1);
          assertEquals((await ln.Transform.search("pipeline")).map((x) => x.id), ["T00000000001"]);
          assertEquals(
            (await ln.File.filter({ key: { startsWith: "raw/" } })).map((f) => f.id),
            ["F0000000000000000001"],
          );
          const added = await save("raw/new.csv", "an atlas too");
          assertEquals((await ln.File.search("atlas")).map((f) => f.id), [
            "F0000000000000000001",
            added.id,
          ]);
          assert(await ln.File.search("atlas").count() === 2);
        } finally {
          await ln.close();
          await Deno.remove(root, { recursive: true });
        }
      },
    });
  }
}
