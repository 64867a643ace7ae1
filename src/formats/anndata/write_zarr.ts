import * as rt from "../../_runtime.ts";
import { deflateSync } from "node:zlib";
import { basename, dirname, join } from "node:path";
import { StorageError } from "../../errors.ts";
import { base62 } from "../../_ids.ts";
import type { AnnData } from "./anndata.ts";
import type { NumericArray } from "./matrix.ts";
import { encodeAnnData } from "./_encode.ts";
import type { TreeArray, TreeGroup } from "./_tree.ts";

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

async function writeJson(path: string, value: unknown): Promise<void> {
  await rt.writeTextFile(path, JSON.stringify(value, null, 2));
}

async function writeArray(dir: string, a: TreeArray, compression?: "zlib"): Promise<void> {
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
  });
  await writeJson(join(dir, ".zattrs"), a.attrs);
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

async function writeGroup(dir: string, g: TreeGroup, compression?: "zlib"): Promise<void> {
  await rt.mkdir(dir, { recursive: true });
  await writeJson(join(dir, ".zgroup"), { zarr_format: 2 });
  await writeJson(join(dir, ".zattrs"), g.attrs);
  for (const [name, child] of Object.entries(g.children)) {
    if (child.kind === "group") await writeGroup(join(dir, name), child, compression);
    else await writeArray(join(dir, name), child, compression);
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
  const tree = encodeAnnData(adata);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${base62(8)}`);
  try {
    await writeGroup(tmp, tree, options.compression);
    await rt.remove(path, { recursive: true }).catch(() => {});
    await rt.rename(tmp, path);
  } catch (e) {
    await rt.remove(tmp, { recursive: true }).catch(() => {});
    throw new StorageError(`could not write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
