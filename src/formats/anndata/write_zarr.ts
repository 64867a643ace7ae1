import * as rt from "../../_runtime.ts";
import { deflateSync } from "node:zlib";
import { basename, dirname, join } from "node:path";
import { LaminError, StorageError, ValidationError } from "../../errors.ts";
import { base62 } from "../../_ids.ts";
import type { AnnData } from "./anndata.ts";
import type { NumericArray } from "./matrix.ts";
import { encodeAnnData } from "./_encode.ts";
import type { TreeArray, TreeGroup, TreeRecords } from "./_tree.ts";
import { CONSOLIDATED, V2_METADATA, zarrJson } from "./_zmetadata.ts";
import { checkWriteArgs } from "./_options.ts";

/** Options of {@linkcode writeZarr}. */
export interface WriteZarrOptions {
  /** Compress chunks with zlib (numcodecs `zlib`, level 5). Default: uncompressed, for range reads. */
  compression?: "zlib";
}

const DTYPES: Record<string, string> = {
  float32: "<f4",
  float64: "<f8",
  int8: "|i1",
  int16: "<i2",
  int32: "<i4",
  int64: "<i8",
  uint8: "|u1",
  uint16: "<u2",
  uint32: "<u4",
  uint64: "<u8",
  bool: "|b1",
  str: "|O",
};

const enc = new TextEncoder();

function vlenUtf8(items: (string | null)[]): Uint8Array {
  const encoded = items.map((s) => enc.encode(s ?? ""));
  const total = 4 + encoded.reduce((n, e) => n + 4 + e.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, items.length, true);
  let off = 4;
  for (const e of encoded) {
    dv.setUint32(off, e.length, true);
    out.set(e, off + 4);
    off += 4 + e.length;
  }
  return out;
}

function bytesOf(a: NumericArray, start: number, count: number, padTo: number): Uint8Array {
  const size = a.BYTES_PER_ELEMENT;
  const out = new Uint8Array(padTo * size);
  out.set(new Uint8Array(a.buffer, a.byteOffset + start * size, count * size));
  return out;
}

/** `value` as JSON laid out as zarr-python writes it (see `zarrJson`). */
async function writeJson(path: string, value: unknown, docs?: Docs): Promise<void> {
  await rt.writeTextFile(path, zarrJson(value));
  docs?.all.set(path.slice(docs.root.length + 1).replaceAll("\\", "/"), value);
}

/** The metadata documents written so far, by key under the store's folder `root`. */
interface Docs {
  root: string;
  all: Map<string, unknown>;
}

const ZARR_NAMES = new Set([...V2_METADATA, "zarr.json", CONSOLIDATED]);

/**
 * Refuse a name that is not one folder of the store: empty, `.` or `..`,
 * holding `/`, `\` or NUL, or one of zarr's metadata documents (which it
 * would overwrite). Checked before anything of it is written.
 */
function validateKey(name: string, where: string): void {
  if (
    name === "" || name === "." || name === ".." || /[/\\\0]/.test(name) || ZARR_NAMES.has(name)
  ) {
    throw new ValidationError(
      `${where}: "${name}" cannot be a key of a zarr store (empty, "." or "..", holding "/", ` +
        `"\\" or NUL, or a zarr metadata name); rename it (newer anndata refuses "/" in keys too)`,
    );
  }
}

async function writeArray(
  dir: string,
  a: TreeArray,
  docs: Docs,
  compression?: "zlib",
): Promise<void> {
  await rt.mkdir(dir, { recursive: true });
  const shape = a.shape;
  const rows = shape.length === 0 ? 1 : shape[0];
  const rowLen = shape.slice(1).reduce((x, y) => x * y, 1);
  const chunkRows = a.chunks ? a.chunks[0] : Math.max(rows, 1);
  const chunks = shape.length === 0
    ? []
    : [chunkRows, ...shape.slice(1).map((n) => Math.max(n, 1))];
  const compressor = compression ? { id: "zlib", level: 5 } : null;
  await writeJson(join(dir, ".zarray"), {
    chunks,
    compressor,
    dtype: DTYPES[a.dtype],
    fill_value: a.dtype === "str" ? null : a.dtype === "bool" ? false : 0,
    filters: a.dtype === "str" ? [{ id: "vlen-utf8" }] : null,
    order: "C",
    shape,
    zarr_format: 2,
  }, docs);
  await writeJson(join(dir, ".zattrs"), a.attrs, docs);
  const nChunks = Math.ceil(rows / chunkRows);
  for (let c = 0; c < nChunks; c++) {
    const start = c * chunkRows;
    const count = Math.min(chunkRows, rows - start);
    let raw: Uint8Array;
    if (a.dtype === "str") {
      const items = (a.data as (string | null)[]).slice(start * rowLen, (start + count) * rowLen);
      while (items.length < chunkRows * rowLen && shape.length > 0) items.push("");
      raw = vlenUtf8(items);
    } else {
      raw = bytesOf(a.data as NumericArray, start * rowLen, count * rowLen, chunkRows * rowLen);
    }
    const key = shape.length === 0 ? "0" : [c, ...shape.slice(1).map(() => 0)].join(".");
    await rt.writeFile(join(dir, key), compression ? deflateSync(raw, { level: 5 }) : raw);
  }
}

/**
 * An array of records as anndata writes a rec-array to zarr: numpy's
 * structured dtype, strings as fixed-length unicode (`<U{n}`, UTF-32, n
 * the longest), in one chunk.
 */
async function writeRecords(
  dir: string,
  r: TreeRecords,
  docs: Docs,
  compression?: "zlib",
): Promise<void> {
  await rt.mkdir(dir, { recursive: true });
  const n = r.length;
  const codes = r.fields.map((f) => {
    // A numeric code says its size ("<f4", "|b1").
    if (f.dtype !== "str") return { code: DTYPES[f.dtype], size: Number(DTYPES[f.dtype].slice(2)) };
    let most = 1;
    for (const v of f.data as (string | null)[]) most = Math.max(most, [...(v ?? "")].length);
    return { code: `<U${most}`, size: 4 * most };
  });
  const size = codes.reduce((t, c) => t + c.size, 0);
  await writeJson(join(dir, ".zarray"), {
    chunks: [Math.max(n, 1)],
    compressor: compression ? { id: "zlib", level: 5 } : null,
    dtype: r.fields.map((f, k) => [f.name, codes[k].code]),
    fill_value: null,
    filters: null,
    order: "C",
    shape: [n],
    zarr_format: 2,
  }, docs);
  await writeJson(join(dir, ".zattrs"), r.attrs, docs);
  if (n === 0) return;
  const body = new Uint8Array(size * n);
  const dv = new DataView(body.buffer);
  let at = 0;
  for (const [k, f] of r.fields.entries()) {
    const es = codes[k].size;
    if (f.dtype === "str") {
      (f.data as (string | null)[]).forEach((v, i) => {
        let o = i * size + at;
        for (const ch of v ?? "") dv.setUint32((o += 4) - 4, ch.codePointAt(0)!, true);
      });
    } else {
      const a = f.data as NumericArray;
      const src = new Uint8Array(a.buffer, a.byteOffset, n * es);
      for (let i = 0; i < n; i++) body.set(src.subarray(i * es, (i + 1) * es), i * size + at);
    }
    at += es;
  }
  await rt.writeFile(join(dir, "0"), compression ? deflateSync(body, { level: 5 }) : body);
}

/** Check every key of the tree `g` (at `where`) before anything is written. */
function validateTree(g: TreeGroup, where: string): void {
  for (const [name, child] of Object.entries(g.children)) {
    validateKey(name, where || "/");
    if (child.kind === "group") validateTree(child, `${where}/${name}`);
  }
}

async function writeGroup(
  dir: string,
  g: TreeGroup,
  docs: Docs,
  compression?: "zlib",
): Promise<void> {
  await rt.mkdir(dir, { recursive: true });
  await writeJson(join(dir, ".zgroup"), { zarr_format: 2 }, docs);
  await writeJson(join(dir, ".zattrs"), g.attrs, docs);
  for (const [name, child] of Object.entries(g.children)) {
    if (child.kind === "group") await writeGroup(join(dir, name), child, docs, compression);
    else if (child.kind === "records") {
      await writeRecords(join(dir, name), child, docs, compression);
    } else await writeArray(join(dir, name), child, docs, compression);
  }
}

/**
 * Refuse a `path` in a folder that does not exist (as writeH5ad does), or
 * where something that is not a zarr store would be replaced (deleted).
 */
async function checkTarget(path: string): Promise<void> {
  if (!(await rt.stat(dirname(path)).catch(() => undefined))?.isDirectory) {
    throw new StorageError(
      `cannot write ${path}: the folder ${dirname(path)} does not exist; create it first`,
    );
  }
  let st: { isDirectory: boolean } | undefined;
  try {
    st = await rt.stat(path);
  } catch {
    return; // nothing there
  }
  const isStore = st.isDirectory &&
    (await Promise.all(
      [".zgroup", ".zarray", "zarr.json"].map((k) =>
        rt.stat(join(path, k)).then(() => true, () => false)
      ),
    )).some(Boolean);
  if (!isStore) {
    throw new ValidationError(
      `${path} exists and is not a zarr store: writeZarr would delete it; remove it or write ` +
        `somewhere else`,
    );
  }
}

/**
 * Write an AnnData as a zarr v2 store that Python anndata 0.8+ reads. The
 * store is built under a temporary name and moved into place, so a failure
 * leaves nothing at `path`; an existing store at `path` is replaced only
 * after the new one is complete.
 *
 * @example
 * ```ts ignore
 * import { writeZarr } from "@lamindeno/lamindb";
 * await writeZarr(adata, "out.zarr");
 * ```
 */
export async function writeZarr(
  adata: AnnData,
  path: string,
  options: WriteZarrOptions = {},
): Promise<void> {
  checkWriteArgs("writeZarr", path, options, ["zlib"]);
  const tree = encodeAnnData(adata);
  validateTree(tree, "");
  await checkTarget(path);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${base62(8)}`);
  try {
    const docs: Docs = { root: tmp, all: new Map() };
    await writeGroup(tmp, tree, docs, options.compression);
    // Every document in one (zarr-python's consolidated metadata, as
    // `zarr.consolidate_metadata` writes it): a store on object storage
    // opens with one request instead of one per element.
    await writeJson(join(tmp, CONSOLIDATED), {
      metadata: Object.fromEntries(docs.all),
      zarr_consolidated_format: 1,
    });
    await rt.remove(path, { recursive: true }).catch(() => {});
    await rt.rename(tmp, path);
  } catch (e) {
    await rt.remove(tmp, { recursive: true }).catch(() => {});
    if (e instanceof LaminError) throw e;
    throw new StorageError(`could not write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
