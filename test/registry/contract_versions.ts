// Versions of files, as a contract every registry database meets (run on
// libSQL and PostgreSQL by the contract tests): new content under a key is
// a new version, old versions keep their objects, `revises`, deletion.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { contractCase } from "./_contract_case.ts";
import { assert, assertEquals, assertRejects, HEALTHY } from "../_helpers.ts";

const enc = new TextEncoder();
const csv = (v: string) => enc.encode(`a,b\n${v},1\n`);
const firstA = async (f: ln.File) => String(((await f.load()) as pl.DataFrame).getColumn("a")[0]);

function anndata(n: number, tag: string): ln.AnnData {
  return new ln.AnnData({
    X: new ln.DenseMatrix(Float32Array.from({ length: n * 2 }, (_, i) => i), [n, 2]),
    obs: pl.DataFrame({ donor: Array.from({ length: n }, (_, i) => `${tag}${i % 2}`) }),
    obsNames: Array.from({ length: n }, (_, i) => `c${i}`),
    varNames: ["g1", "g2"],
  });
}

/** Register the versions contract for instances opened by `open`. */
export function versionsContract(
  name: string,
  open: (storage: string) => Promise<void>,
  options: { ignore?: boolean } = {},
): void {
  const t = contractCase(name, open, options);

  t("new content under a key is its next version; old ones keep their objects", async (root) => {
    const run = await ln.track({ name: "make.ts" });
    const v1 = await new ln.File(csv("one"), { key: "t/a.csv" }).save();
    await ln.finish();
    const v2 = await new ln.File(csv("two"), { key: "t/a.csv", version: "2024-06" }).save();
    const v3 = await new ln.File(csv("three"), { key: "t/a.csv" }).save();
    // lamindb's ids: 16 shared characters, a counter in the last 4.
    assertEquals(v1.id.slice(16), "0000");
    assertEquals([v2.id, v3.id], [v1.id.slice(0, 16) + "0001", v1.id.slice(0, 16) + "0002"]);
    assertEquals([v1.isLatest, v2.version, v3.isLatest], [true, "2024-06", true]);
    // get/filter see the latest; isLatest, an id or a hash reach the others.
    assertEquals((await ln.File.get({ key: "t/a.csv" })).id, v3.id);
    assertEquals((await ln.File.filter({ key: "t/a.csv" })).map((f) => f.id), [v3.id]);
    assertEquals(await ln.File.filter({}).count(), 1);
    assertEquals(
      (await ln.File.filter({ isLatest: false }, { orderBy: "id" })).map((f) => f.id),
      [v1.id, v2.id],
    );
    assertEquals((await ln.File.get(v1.id)).isLatest, false);
    // Search, like filter, finds the latest version.
    assertEquals((await ln.File.search("csv")).map((f) => f.id), [v3.id]);
    assertEquals((await ln.File.get({ hash: v2.hash! })).id, v2.id);
    // Oldest first, the latest last; each loads its own content.
    const versions = await v1.versions();
    assertEquals(versions.map((f) => f.id), [v1.id, v2.id, v3.id]);
    assertEquals(versions.map((f) => f.isLatest), [false, false, true]);
    assertEquals(versions[1].version, "2024-06");
    const df = await ln.File.df({ key: "t/a.csv", isLatest: [true, false] }, { orderBy: "id" });
    assertEquals(df.getColumn("isLatest").toArray(), [false, false, true]);
    assertEquals(df.getColumn("version").toArray(), [null, "2024-06", null]);
    assertEquals(await Promise.all(versions.map(firstA)), ["one", "two", "three"]);
    // The key's path holds the latest; the older ones moved to .lamindb/.
    assertEquals(await Deno.readTextFile(`${root}/t/a.csv`), "a,b\nthree,1\n");
    assertEquals(versions[0].path(), `${root}/.lamindb/${v1.id}.csv`);
    assertEquals(versions.map((f) => f.key), ["t/a.csv", "t/a.csv", "t/a.csv"]);
    // Provenance stays with each version.
    assertEquals(versions[0].runId, run.id);
    assertEquals((await run.outputs.all()).map((f) => f.id), [v1.id]);
    assert((await versions[0].viewLineage()).svg.includes("make.ts"));
    assertEquals(await ln.fsck(), HEALTHY);
    // The same content again is the existing version, not a new one.
    const again = await new ln.File(csv("two"), { key: "t/a.csv" }).save();
    assertEquals(again.id, v2.id);
    assertEquals((await v1.versions()).length, 3);
  });

  t("revises: versions of a file without a key, and a key inherited", async () => {
    const a1 = await new ln.File(csv("x"), { name: "a.csv" }).save();
    const a2 = await new ln.File(csv("y"), { revises: a1, version: "2" }).save();
    assertEquals(a2.id.slice(0, 16), a1.id.slice(0, 16));
    assertEquals(a2.key, null);
    assertEquals((await a2.versions()).map((f) => f.id), [a1.id, a2.id]);
    assertEquals(await firstA(await ln.File.get(a1.id)), "x");
    // A version keeps the name (its data had none) and the description it was not given.
    assertEquals([a2.name, (await ln.File.get(a2.id)).name], ["a.csv", "a.csv"]);
    // Its bytes are of the format of the version it revises (load() read none).
    assertEquals([a2.suffix, await firstA(a2)], [".csv", "y"]);
    const k1 = await new ln.File(csv("k"), { key: "k.csv", description: "counts" }).save();
    // Bytes take the key's suffix; the key comes from the file revised.
    const k2 = await new ln.File(enc.encode("a,b\nk2,1\n"), { revises: k1 }).save();
    assertEquals([k2.key, k2.suffix, k2.name, k2.description], [
      "k.csv",
      ".csv",
      "k.csv",
      "counts",
    ]);
    assertEquals((await ln.File.get(k2.id)).description, "counts");
    // Revising an older version makes the next of the family, after the latest.
    const k3 = await new ln.File(csv("k3"), { revises: k1, description: "more counts" }).save();
    assertEquals(k3.description, "more counts");
    // A description set on the record before save() is kept too.
    const k4 = new ln.File(csv("k4"), { key: "k.csv" });
    k4.description = "set later";
    assertEquals((await k4.save()).description, "set later");
    assertEquals((await ln.File.get(k4.id)).description, "set later");
    assertEquals((await k1.versions()).map((f) => f.id), [k1.id, k2.id, k3.id, k4.id]);
    assertEquals((await ln.File.get({ key: "k.csv" })).id, k4.id);
    assertEquals(await ln.fsck(), HEALTHY);
  });

  t(
    "lamindb's get(stem uid) gives the latest version; a file revised reads its own content",
    async () => {
      const v1 = await new ln.File(csv("one"), { key: "s.csv" }).save();
      const v2 = await new ln.File(csv("two"), { revises: v1 }).save();
      // The record passed as revises is no longer the latest, and reads its own object.
      assertEquals([v1.isLatest, v2.isLatest], [false, true]);
      assertEquals(await firstA(v1), "one");
      assertEquals(await Deno.readTextFile(await v1.stage()), "a,b\none,1\n");
      const stem = v1.id.slice(0, 16);
      assertEquals((await ln.File.get(stem)).id, v2.id);
      assertEquals((await ln.File.get(v1.id)).id, v1.id);
      await assertRejects(
        () => ln.File.get("0123456789abcdef"),
        ln.NotFoundError,
        /no File has id "0123456789abcdef" \(nor is it a version family's stem\); to look it up by key: File\.get\(\{ key: "0123456789abcdef" \}\)/,
      );
      await assertRejects(
        () => ln.File.get("s.csv"),
        ln.NotFoundError,
        /File\.get\(\{ key: "s\.csv" \}\)/,
      );
      // A record held from before a new version was saved at its key (not passed as
      // revises) reads its own content too: its object moved aside meanwhile.
      const held = await ln.File.get(v2.id);
      const later = await new ln.File(csv("later"), { key: "s.csv" }).save();
      assertEquals(await firstA(held), "two"); // was "later"
      assertEquals(await Deno.readTextFile(await held.stage()), "a,b\ntwo,1\n");
      assertEquals(held.isLatest, false);
      await later.delete();
      // One deleted since: a NotFoundError, not another file's content at its key.
      const gone = await ln.File.get(later.id).catch(() => undefined);
      assertEquals(gone, undefined);
      const heldW = await new ln.File(csv("w0"), { key: "w0.csv" }).save();
      const sameW = await ln.File.get(heldW.id);
      await sameW.delete();
      await new ln.File(csv("w1"), { key: "w0.csv" }).save();
      await assertRejects(() => heldW.load(), ln.NotFoundError, /was deleted since/);
      // As lamindb's get: a where no latest version matches gives the newest match.
      const v3 = await new ln.File(csv("three"), { revises: v2, version: "3" }).save();
      assertEquals((await ln.File.get({ key: "s.csv", version: "3" })).id, v3.id);
      await v3.delete();
      assertEquals((await ln.File.get({ key: "s.csv", version: null })).id, v2.id);
      const v4 = await new ln.File(csv("four"), { revises: v2, version: "4" }).save();
      assertEquals((await ln.File.get({ key: "s.csv", version: null })).id, v2.id); // not latest
      assertEquals((await ln.File.get({ key: "s.csv" })).id, v4.id);
      assertEquals(await ln.File.filter({ key: "s.csv", version: null }), []);
      await assertRejects(() => ln.File.get({ key: "s.csv", version: "5" }), ln.NotFoundError);
      await v4.delete();
      // Deleting the old version needs no fresh copy of it.
      await v1.delete();
      assertEquals((await v2.versions()).map((f) => f.id), [v2.id]);
      // Collections alike.
      const c1 = await new ln.Collection([v2], { name: "c" }).save();
      const w = await new ln.File(csv("w"), { key: "w.csv" }).save();
      const c2 = await new ln.Collection([v2, w], { revises: c1 }).save();
      assertEquals([c1.isLatest, c2.isLatest], [false, true]);
      assertEquals((await ln.Collection.get(c1.id.slice(0, 16))).id, c2.id);
      const c3 = await new ln.Collection([w], { revises: c2, version: "3" }).save();
      assertEquals((await ln.Collection.get({ name: "c", id: c2.id })).id, c2.id);
      assertEquals((await ln.Collection.get({ name: "c", version: null })).id, c2.id);
      assertEquals((await ln.Collection.get({ name: "c" })).id, c3.id);
      await assertRejects(
        () => ln.Collection.get("nope"),
        ln.NotFoundError,
        /Collection\.get\(\{ name: "nope" \}\)/,
      );
      assertEquals(await ln.fsck(), HEALTHY);
    },
  );

  t("an in-place file's object moves aside for a new version at its path", async (root) => {
    await Deno.mkdir(`${root}/raw`);
    await Deno.writeTextFile(`${root}/raw/s.csv`, "a,b\nin place,1\n");
    const v1 = await new ln.File(`${root}/raw/s.csv`).save();
    assertEquals(v1.key, "raw/s.csv");
    const v2 = await new ln.File(csv("new"), { key: "raw/s.csv" }).save();
    assertEquals(await Deno.readTextFile(`${root}/raw/s.csv`), "a,b\nnew,1\n");
    const old = await ln.File.get(v1.id);
    assertEquals(old.path(), `${root}/.lamindb/${v1.id}.csv`);
    assertEquals(await firstA(old), "in place");
    assertEquals(await firstA(v2), "new");
    assertEquals(await ln.fsck(), HEALTHY);
  });

  t("an AnnData's old versions still stream", async () => {
    const v1 = await new ln.File(anndata(40, "A"), { key: "atlas.h5ad" }).save();
    const v2 = await new ln.File(anndata(60, "B"), { key: "atlas.h5ad" }).save();
    const old = await ln.File.get(v1.id);
    const q = old.subsetter().donor.eq("A1");
    assertEquals((await old.stream({ subsetObs: q })).nObs, 20);
    const q2 = v2.subsetter().donor.eq("B1");
    assertEquals((await v2.stream({ subsetObs: q2 })).nObs, 30);
    assertEquals(await ln.fsck(), HEALTHY);
  });

  t("deleting the latest makes the previous one latest; replace() keeps the id", async () => {
    const v1 = await new ln.File(csv("1"), { key: "d.csv" }).save();
    const v2 = await new ln.File(csv("2"), { key: "d.csv" }).save();
    await v2.delete();
    const latest = await ln.File.get({ key: "d.csv" });
    assertEquals([latest.id, latest.isLatest], [v1.id, true]);
    assertEquals((await ln.File.search("csv")).map((f) => f.id), [v1.id]);
    assertEquals(await firstA(latest), "1");
    // A version after that one continues the family.
    const v3 = await new ln.File(csv("3"), { key: "d.csv" }).save();
    assertEquals((await v3.versions()).map((f) => f.id), [v1.id, v3.id]);
    await v3.replace(csv("3b"));
    assertEquals((await ln.File.get({ key: "d.csv" })).id, v3.id);
    assertEquals(await firstA(await ln.File.get(v1.id)), "1");
    // An old version's content can be replaced in its own place.
    const old = await ln.File.get(v1.id);
    await old.replace(csv("1b"));
    assertEquals(await firstA(await ln.File.get(v1.id)), "1b");
    assertEquals(await firstA(await ln.File.get({ key: "d.csv" })), "3b");
    assertEquals(await ln.fsck(), HEALTHY);
  });

  t("bad versions are refused and change nothing", async (root) => {
    const a = await new ln.File(csv("a"), { key: "a.csv" }).save();
    const b = await new ln.File(csv("b"), { key: "b.csv" }).save();
    const unsaved = new ln.File(csv("u"));
    for (
      const [options, re] of [
        [{ revises: unsaved }, /revises must be a saved File/],
        [{ revises: "a.csv" }, /revises must be a saved File/],
        [{ revises: a, id: "0123456789abcdef0000" }, /either id or revises/],
        [{ version: "" }, /version is a label/],
        [{ version: " 2" }, /version is a label/],
        [{ version: "x".repeat(101) }, /version is a label/],
        [{ version: 2 }, /version is a label/],
      ] as [ln.FileOptions, RegExp][]
    ) {
      assertThrowsValidation(() => new ln.File(csv("z"), options), re);
    }
    const before = await snapshot(root);
    // A key that is another family's latest.
    await assertRejects(
      () => new ln.File(csv("c"), { revises: a, key: "b.csv" }).save(),
      ln.IntegrityError,
      /latest version of file/,
    );
    // An explicit id under a registered key.
    await assertRejects(
      () => new ln.File(csv("d"), { key: "a.csv", id: "0123456789abcdef0000" }).save(),
      ln.IntegrityError,
      /drop the id option/,
    );
    // Two versions of one file in one save.
    await assertRejects(
      () =>
        ln.save([
          new ln.File(csv("e"), { key: "a.csv" }),
          new ln.File(csv("f"), { revises: a }),
        ]),
      ln.IntegrityError,
      /two new versions|two files in one save/,
    );
    assertEquals(await snapshot(root), before);
    assertEquals((await a.versions()).length, 1);
    assertEquals((await b.versions()).length, 1);
    assertEquals(await ln.fsck(), HEALTHY);
  });

  t(
    "two writers making a version of one key at once: each ends a version or an error",
    async () => {
      const v1 = await new ln.File(csv("0"), { key: "race.csv" }).save();
      const results = await Promise.allSettled(
        ["p", "q", "r"].map((x) => new ln.File(csv(x), { key: "race.csv" }).save()),
      );
      for (const r of results) {
        if (r.status === "rejected") assert(r.reason instanceof ln.IntegrityError, `${r.reason}`);
      }
      const ok = results.filter((r) => r.status === "fulfilled").length;
      assert(ok >= 1, "no writer succeeded");
      const versions = await v1.versions();
      assertEquals(versions.length, 1 + ok);
      assertEquals(versions.filter((f) => f.isLatest).length, 1);
      assertEquals(versions.at(-1)!.isLatest, true);
      assertEquals(await ln.fsck(), HEALTHY);
    },
  );
}

function assertThrowsValidation(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert(e instanceof ln.ValidationError, `expected a ValidationError, got ${e}`);
    assert(re.test(e.message), `${e.message} does not match ${re}`);
    return;
  }
  throw new Error(`expected a ValidationError matching ${re}`);
}

/** Every row (id, latest flag) and every path under the root, with contents. */
async function snapshot(root: string): Promise<string> {
  const rows = (await ln.File.filter({ isLatest: [true, false] }, { orderBy: "id" }))
    .map((f) => `${f.id} ${f.isLatest} ${f.hash}`);
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (!e.name.startsWith("lamin.db")) files.push(`${p} ${await Deno.readTextFile(p)}`);
    }
  };
  await walk(root);
  return JSON.stringify([rows, files.sort()]);
}
