// keepingMetadata: a zarr store's metadata documents read once; on object
// storage (`together`) a folder's documents asked at once, absent ones
// known from a listing when there is one, zarr.json asked only in a store
// that is not zarr v2; consolidated metadata (.zmetadata) used when the
// listing's etags say every document is as it holds it.
import { keepingMetadata, type ZarrStoreAt } from "../../../src/formats/anndata/_zarr_store.ts";
import {
  consolidatedDocs,
  type ListedKey,
  zarrJson,
} from "../../../src/formats/anndata/_zmetadata.ts";
import { createHash } from "node:crypto";
import { assert, assertEquals, assertRejects } from "../../_helpers.ts";
import { StorageError } from "../../../mod.ts";

/**
 * A store of `keys` (each holding `files[key]`, else its own name;
 * `.zmetadata` the given `consolidated` text) recording what is asked;
 * listed with each key's etag (the md5 of what it holds, as S3 gives it).
 */
function store(
  keys: string[],
  list: boolean,
  consolidated?: string,
  files: Record<string, string> = {},
): ZarrStoreAt & { asked: string[] } {
  const asked: string[] = [];
  const held = new Map(keys.map((k) => [k, files[k] ?? k]));
  if (consolidated !== undefined) held.set(".zmetadata", consolidated);
  const listing: ListedKey[] = [...held].map(([key, text]) => ({
    key,
    etag: `"${createHash("md5").update(text).digest("hex")}"`,
  }));
  return {
    asked,
    get(key) {
      asked.push(key);
      const text = held.get(key);
      return Promise.resolve(text === undefined ? undefined : new TextEncoder().encode(text));
    },
    children: () => Promise.resolve(["from-the-store"]),
    ...(list ? { listAll: () => Promise.resolve(listing) } : {}),
  };
}

/** `.zmetadata` holding each of `keys` as `{"k": key}`, and those documents as files, both as zarr-python lays them out. */
function consolidated(keys: string[]): { zmetadata: string; files: Record<string, string> } {
  return {
    zmetadata: zarrJson({
      metadata: Object.fromEntries(keys.map((k) => [k, { k }])),
      zarr_consolidated_format: 1,
    }),
    files: Object.fromEntries(keys.map((k) => [k, zarrJson({ k })])),
  };
}

const V2 = [".zgroup", ".zattrs", "X/.zgroup", "X/.zattrs", "X/data/.zarray", "X/data/0"];

Deno.test("listed: absent documents are not asked, a folder's others come along, children from the listing", async () => {
  const s = store(V2, true);
  const m = keepingMetadata(s, true);
  assertEquals(await m.get("X/data/.zgroup"), undefined);
  assertEquals(await m.get("X/data/zarr.json"), undefined);
  assertEquals(s.asked, [], "absent from the listing: nothing asked");
  assertEquals(new TextDecoder().decode(await m.get("X/.zattrs")), "X/.zattrs");
  assertEquals(s.asked.sort(), ["X/.zattrs", "X/.zgroup"], "the folder's documents at once");
  await m.get("X/.zgroup");
  assertEquals(s.asked.length, 2, "kept once read");
  assertEquals(await m.children("X"), ["data"]);
  assertEquals(await m.children(""), ["X"]);
  await m.get("X/data/0");
  await m.get("X/data/0");
  assertEquals(s.asked.filter((k) => k === "X/data/0").length, 1, "a chunk kept while open");
  m.release!();
  await m.get("X/data/0");
  assertEquals(s.asked.filter((k) => k === "X/data/0").length, 2, "and let go when released");
});

Deno.test("not listed: a folder's three v2 documents at once; zarr.json only outside a v2 store", async () => {
  const s = store(V2, false);
  const m = keepingMetadata(s, true);
  await m.get("X/data/.zarray");
  assertEquals(s.asked.sort(), [
    ".zmetadata", // not listed: its consolidated metadata asked once, first,
    "X/data/.zarray",
    "X/data/.zattrs",
    "X/data/.zgroup",
    "zarr.json", // with zarr v3's root document (consolidated there too)
  ]);
  s.asked.length = 0;
  // A folder with no v2 document, in a v2 store: no v3 document either.
  assertEquals(await m.get("nothing/zarr.json"), undefined);
  assertEquals(s.asked.includes("nothing/zarr.json"), false);
  assertEquals(await m.children(""), ["from-the-store"]);
  // A v3 store: zarr.json is asked where no v2 document is.
  const v3 = store(["zarr.json", "X/zarr.json"], false);
  const m3 = keepingMetadata(v3, true);
  assertEquals(new TextDecoder().decode(await m3.get("X/zarr.json")), "X/zarr.json");
  // Not together (local folders): one document, one read.
  const local = store(V2, true);
  await keepingMetadata(local).get("X/.zattrs");
  assertEquals(local.asked, ["X/.zattrs"]);
});

Deno.test("listed: a chunk not listed is its fill value (no request); one listed but gone is a StorageError", async () => {
  const s = store(V2, true);
  const listed = {
    ...s,
    listAll: () => Promise.resolve([...V2, "X/data/1"].map((key) => ({ key }))),
  };
  const m = keepingMetadata(listed, true);
  assertEquals(await m.get("X/data/7"), undefined);
  assertEquals(s.asked, [], "never written: not asked");
  await assertRejects(() => m.get("X/data/1"), StorageError, /X\/data\/1 .*disappeared/);
});

Deno.test("not listed: a chunk not there is its fill value while the root is there; without the root, a StorageError", async () => {
  const m = keepingMetadata(store(V2, false), true);
  assertEquals(await m.get("X/data/9"), undefined);
  const gone = keepingMetadata(store(["X/data/.zarray"], false), true);
  await assertRejects(() => gone.get("X/data/9"), StorageError, /zarr store disappeared/);
});

Deno.test("listed: chunks of a 1-D array read in order bring the next one ahead, kept for its reader", async () => {
  const keys = [...V2, "X/data/1", "X/data/2", "X/data/3"];
  const s = store(keys, true);
  const m = keepingMetadata(s, true);
  await m.get("X/data/0");
  assertEquals(s.asked.includes("X/data/1"), false, "one chunk: no order yet");
  await m.get("X/data/1");
  assertEquals(s.asked.includes("X/data/2"), true, "in order: the next one asked ahead");
  assertEquals(s.asked.includes("X/data/3"), false);
  const before = s.asked.length;
  assertEquals(new TextDecoder().decode(await m.get("X/data/2")), "X/data/2");
  assertEquals(s.asked.slice(before), ["X/data/3"], "read from what came ahead; the next asked");
  m.release!();
});

const DOCS = V2.filter((k) => k.includes(".z"));

Deno.test("consolidated and listed, every document as it holds it: all from .zmetadata, none asked", async () => {
  const c = consolidated(DOCS);
  const s = store(V2, true, c.zmetadata, c.files);
  const m = keepingMetadata(s, true);
  const doc = await m.get("X/data/.zarray");
  assertEquals(new TextDecoder().decode(doc), c.files["X/data/.zarray"], "byte for byte");
  assertEquals(await m.get("X/data/.zattrs"), undefined, "not in it, not listed: absent");
  assertEquals(await m.children("X"), ["data"]);
  assertEquals(s.asked, [".zmetadata"]);
});

Deno.test("consolidated but changed since or different from the listing: not used, documents read", async () => {
  const c = consolidated(DOCS);
  const fewer = consolidated(DOCS.slice(1)), more = consolidated([...DOCS, "Y/.zgroup"]);
  const cases: [string, ReturnType<typeof store>][] = [
    [
      "a document rewritten after it (same keys)",
      store(V2, true, c.zmetadata, { ...c.files, "X/.zattrs": zarrJson({ k: "changed" }) }),
    ],
    ["a listed document missing from it", store(V2, true, fewer.zmetadata, c.files)],
    ["a document in it not listed", store(V2, true, more.zmetadata, c.files)],
    ["bad JSON", store(V2, true, "{not json", c.files)],
    ["not consolidated format 1", store(V2, true, JSON.stringify({ metadata: {} }), c.files)],
    [
      "a key that is not a v2 document",
      store(V2, true, consolidated([...DOCS, "X/data/0"]).zmetadata, c.files),
    ],
  ];
  for (const [why, s] of cases) {
    const m = keepingMetadata(s, true);
    assertEquals(
      new TextDecoder().decode(await m.get("X/.zattrs")),
      s === cases[0][1] ? zarrJson({ k: "changed" }) : c.files["X/.zattrs"],
      `${why}: the document itself`,
    );
    assert(s.asked.includes("X/.zattrs"), why);
  }
  // Without etags nothing can be compared: not used.
  const noTags = DOCS.map((key) => ({ key }));
  assertEquals(consolidatedDocs(new TextEncoder().encode(c.zmetadata), noTags), undefined);
});

Deno.test("consolidated, store too large to list: trusted (as zarr-python's open_consolidated), children from it", async () => {
  const c = consolidated(DOCS);
  const s = store(V2, false, c.zmetadata, c.files);
  const m = keepingMetadata(s, true);
  assertEquals(new TextDecoder().decode(await m.get("X/.zgroup")), c.files["X/.zgroup"]);
  assertEquals(await m.get("X/data/.zgroup"), undefined);
  assertEquals(await m.children(""), ["X"]);
  // zarr v3's root document asked with it (at once: no round trip more).
  assertEquals(s.asked, [".zmetadata", "zarr.json"]);
});

Deno.test("zarrJson lays out JSON as zarr-python's json_dumps: four spaces, keys sorted, ASCII", () => {
  assertEquals(
    zarrJson({ b: [1, 2.5], a: { "é": "ü" }, c: [], d: {}, e: null }),
    '{\n    "a": {\n        "\\u00e9": "\\u00fc"\n    },\n    "b": [\n        1,\n        2.5\n    ],\n' +
      '    "c": [],\n    "d": {},\n    "e": null\n}',
  );
});

Deno.test("zarr v3: the root's consolidated metadata serves every zarr.json (listed: a node added since, not; too large to list: trusted)", async () => {
  const node = (t: string) => ({ zarr_format: 3, node_type: t, attributes: { t } });
  const root = JSON.stringify({
    zarr_format: 3,
    node_type: "group",
    attributes: {},
    consolidated_metadata: {
      kind: "inline",
      must_understand: false,
      metadata: { X: node("group"), "X/data": node("array") },
    },
  });
  const keys = ["zarr.json", "X/zarr.json", "X/data/zarr.json", "X/data/c/0"];
  const files = { "zarr.json": root };
  const s = store(keys, true, undefined, files);
  const m = keepingMetadata(s, true);
  const doc = JSON.parse(new TextDecoder().decode(await m.get("X/data/zarr.json")));
  assertEquals(doc.attributes, { t: "array" });
  assertEquals(JSON.parse(new TextDecoder().decode(await m.get("X/zarr.json"))).node_type, "group");
  assertEquals(await m.get("X/.zarray"), undefined);
  assertEquals(s.asked, ["zarr.json"], "one request: the root's document");
  assertEquals(await m.children("X"), ["data"]);
  // A node the consolidated metadata does not name: its documents are read one by one.
  const s2 = store([...keys, "obs/zarr.json"], true, undefined, files);
  const m2 = keepingMetadata(s2, true);
  assertEquals(new TextDecoder().decode(await m2.get("X/data/zarr.json")), "X/data/zarr.json");
  assert(s2.asked.includes("X/data/zarr.json"), "read from the store");
  // Too large to list: trusted, as zarr-python 3 does (a node added since is not seen).
  const s4 = store([...keys, "obs/zarr.json"], false, undefined, files);
  const m4 = keepingMetadata(s4, true);
  assertEquals(
    JSON.parse(new TextDecoder().decode(await m4.get("X/data/zarr.json"))).attributes,
    { t: "array" },
  );
  assertEquals(await m4.get("obs/zarr.json"), undefined);
  assertEquals(await m4.children(""), ["X"]);
  assertEquals(JSON.parse(new TextDecoder().decode(await m4.get("zarr.json"))).node_type, "group");
  assertEquals(s4.asked, [".zmetadata", "zarr.json"], "the root's document, once");
  // A path leaving the store: not used either.
  const bad = root.replace('"X/data"', '"../data"');
  const s3 = store(keys, true, undefined, { "zarr.json": bad });
  await keepingMetadata(s3, true).get("X/zarr.json");
  assert(s3.asked.includes("X/zarr.json"), "read from the store");
});
