// Zarr v2 consolidated metadata (`.zmetadata`, zarr-python's
// `consolidate_metadata`) and the JSON layout zarr-python writes: a store's
// documents are checked against the listing's etags (md5 of each object)
// by writing each consolidated document back out byte for byte as the
// writer wrote it, the JSON's own number and string spellings kept.
import { createHash } from "node:crypto";

/** A JSON value with its scalars as written (`0.0`, `"\u00fc"`, `NaN`): for writing it back as it was. */
type Raw =
  | { t: "o"; keys: string[]; raws: string[]; vals: Raw[] }
  | { t: "a"; items: Raw[] }
  | { t: "v"; text: string };

/** Nesting deeper than this is not a zarr document (and no recursion bomb). */
const DEPTH = 64;
/** A `.zmetadata` larger than this is not used (its documents are read one by one). */
const MOST = 64 << 20;
const SCALAR = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|NaN|-?Infinity)$/;

/** `text` as a Raw tree; undefined when it is not JSON (Python's: NaN and Infinity allowed). */
function parseRaw(text: string): Raw | undefined {
  let i = 0;
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const string = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (i >= text.length) throw new SyntaxError("unterminated string");
    return text.slice(start, ++i);
  };
  const value = (depth: number): Raw => {
    if (depth > DEPTH) throw new SyntaxError("nested too deep");
    space();
    const c = text[i];
    if (c === "{" || c === "[") {
      i++;
      const close = c === "{" ? "}" : "]";
      const keys: string[] = [], raws: string[] = [], vals: Raw[] = [];
      space();
      if (text[i] === close) i++;
      else {
        for (;;) {
          if (c === "{") {
            space();
            if (text[i] !== '"') throw new SyntaxError("a key is not a string");
            const raw = string();
            keys.push(JSON.parse(raw));
            raws.push(raw);
            space();
            if (text[i++] !== ":") throw new SyntaxError("no colon after a key");
          }
          vals.push(value(depth + 1));
          space();
          const next = text[i++];
          if (next === close) break;
          if (next !== ",") throw new SyntaxError("no comma between items");
        }
      }
      return c === "{" ? { t: "o", keys, raws, vals } : { t: "a", items: vals };
    }
    if (c === '"') {
      const raw = string();
      JSON.parse(raw); // a bad escape fails here
      return { t: "v", text: raw };
    }
    const start = i;
    while (i < text.length && !",]} \t\n\r".includes(text[i])) i++;
    const token = text.slice(start, i);
    if (!SCALAR.test(token)) throw new SyntaxError(`not a JSON value: ${token.slice(0, 20)}`);
    return { t: "v", text: token };
  };
  try {
    const out = value(0);
    space();
    return i === text.length ? out : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `node` as zarr-python 2 writes a document: `json.dumps(indent=4,
 * sort_keys=True, ensure_ascii=True, separators=(",", ": "))`, nested at
 * `level`.
 */
function zarrLayout(node: Raw, level = 0): string {
  if (node.t === "v") return node.text;
  const pad = "    ".repeat(level + 1), end = "    ".repeat(level);
  if (node.t === "a") {
    if (!node.items.length) return "[]";
    return `[\n${node.items.map((v) => pad + zarrLayout(v, level + 1)).join(",\n")}\n${end}]`;
  }
  if (!node.keys.length) return "{}";
  const order = node.keys.map((_, k) => k)
    .sort((a, b) => (node.keys[a] < node.keys[b] ? -1 : node.keys[a] > node.keys[b] ? 1 : 0));
  const lines = order.map((k) => `${pad}${node.raws[k]}: ${zarrLayout(node.vals[k], level + 1)}`);
  return `{\n${lines.join(",\n")}\n${end}}`;
}

/**
 * `value` as JSON laid out as zarr-python 2 writes its documents (four
 * spaces, keys sorted, every character past ASCII escaped: zarr-python 2
 * decodes metadata as ASCII). Numbers and strings as `JSON.stringify`
 * spells them (NaN: null).
 */
export function zarrJson(value: unknown): string {
  const text = JSON.stringify(value)
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return zarrLayout(parseRaw(text)!);
}

/** The key of zarr v2's consolidated metadata. */
export const CONSOLIDATED = ".zmetadata";

/** The zarr v2 metadata documents of a folder. */
export const V2_METADATA = [".zattrs", ".zarray", ".zgroup"];

/** A key of a listed store, and its etag where the backend gives one. */
export interface ListedKey {
  /** The key (no leading slash). */
  key: string;
  /** The object's etag (S3: the md5 of a single-part upload, in quotes). */
  etag?: string;
}

/**
 * The documents held by a store's consolidated metadata (`.zmetadata`:
 * `{"metadata": {"X/.zarray": {...}, ...}, "zarr_consolidated_format": 1}`),
 * by key, each written out as its writer laid it out; undefined when it
 * cannot be trusted, and the documents are then read one by one. With a
 * listing it is trusted only when it holds exactly the listed documents
 * and each one's etag is the md5 of that document as it holds it (the
 * store was not changed after it was consolidated: a document rewritten,
 * added or removed, or an etag that is not an md5, and it is not used). A
 * store too large to list trusts it as zarr-python's `open_consolidated`
 * does. Anything else in it (a v3 document, a value that is not an object,
 * bad JSON): not used.
 */
export function consolidatedDocs(
  bytes: Uint8Array,
  listing?: ListedKey[],
): Map<string, Uint8Array> | undefined {
  if (bytes.length > MOST) return undefined;
  const root = parseRaw(new TextDecoder().decode(bytes));
  if (root?.t !== "o") return undefined;
  const field = (name: string) => root.vals[root.keys.lastIndexOf(name)];
  const format = field("zarr_consolidated_format"), metadata = field("metadata");
  if (format?.t !== "v" || format.text !== "1" || metadata?.t !== "o") return undefined;
  const docs = new Map<string, Uint8Array>(), enc = new TextEncoder();
  metadata.keys.forEach((key, k) => {
    if (metadata.vals[k].t === "o") docs.set(key, enc.encode(zarrLayout(metadata.vals[k])));
  });
  const known = (key: string) => V2_METADATA.includes(key.slice(key.lastIndexOf("/") + 1));
  if (docs.size !== metadata.keys.length || ![...docs.keys()].every(known)) return undefined;
  if (!docs.has(".zgroup")) return undefined;
  if (listing) {
    let listed = 0;
    for (const { key, etag } of listing) {
      if (!known(key)) continue;
      const doc = docs.get(key);
      if (!doc || !etag) return undefined;
      const md5 = createHash("md5").update(doc).digest("hex");
      if (etag.replaceAll('"', "").toLowerCase() !== md5) return undefined;
      listed++;
    }
    if (listed !== docs.size) return undefined;
  }
  return docs;
}

/**
 * The documents of a zarr v3 store's consolidated metadata (the root
 * `zarr.json`'s `consolidated_metadata`, inline, as zarr-python 3 writes
 * it; anndata >= 0.12 consolidates on write), keyed as in the store:
 * `zarr.json` (the root's, as given) and each node's `<path>/zarr.json`
 * (its entry, as JSON). zarr-python 3 opens a store through its
 * consolidated metadata without checking it; here, with a `listing`, it is
 * used only when the listing's `zarr.json` documents are exactly those it
 * names (no node added or removed since). Undefined when the root has none
 * (or it is not inline, or a path leaves the store, or its JSON is bad).
 */
export function consolidatedDocsV3(
  root: Uint8Array,
  listing?: ListedKey[],
): Map<string, Uint8Array> | undefined {
  if (root.length > MOST) return undefined;
  let doc;
  try {
    doc = JSON.parse(new TextDecoder().decode(root));
  } catch {
    return undefined;
  }
  const cm = doc?.consolidated_metadata;
  if (doc?.zarr_format !== 3 || cm?.kind !== "inline") return undefined;
  const metadata = cm.metadata;
  if (!metadata || typeof metadata !== "object" || Array.isArray(metadata)) return undefined;
  const docs = new Map<string, Uint8Array>([["zarr.json", root]]);
  const enc = new TextEncoder();
  for (const [path, entry] of Object.entries(metadata)) {
    const parts = path.split("/");
    if (!path || parts.some((p) => !p || p === "." || p === "..")) return undefined;
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) return undefined;
    docs.set(`${path}/zarr.json`, enc.encode(JSON.stringify(entry)));
  }
  if (listing) {
    const listed = listing.filter(({ key }) => key === "zarr.json" || key.endsWith("/zarr.json"));
    if (listed.length !== docs.size || !listed.every(({ key }) => docs.has(key))) return undefined;
  }
  return docs;
}
