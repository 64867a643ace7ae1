// The anndata ElementStore over our byte-range HDF5 reader, and RangeArrays
// over its datasets, so the same decoder and planner serve h5ad from any
// storage.
import { CorruptFileError, UnsupportedFormatError } from "../../errors.ts";
import type { ElementStore, StoreArray } from "../anndata/_store.ts";
import type { NumericArray } from "../anndata/matrix.ts";
import { READABLE_FILTERS } from "./_filters.ts";
import { type DType, sizeOf } from "./_parse.ts";
import { guard } from "./_scheduler.ts";
import { RecordFields } from "./_records.ts";
import { readSpans } from "./_spans.ts";
import { vstringsUtf8 } from "./_vstrings.ts";
import { type LocalExtent, type RangeArray, spans, watchFor } from "../ranges.ts";
import { metadataBlock } from "../read_plan.ts";
import { type ByteReader, H5Dataset, H5File, type H5Values, type ReadOptions } from "./h5file.ts";

function plain(v: H5Values, scalar: boolean): unknown {
  const list: unknown[] = v.kind === "bool"
    ? Array.from(v.data, (x) => x !== 0)
    : v.kind === "string"
    ? v.data
    : Array.from(v.data as ArrayLike<number | bigint>, Number);
  return scalar ? list[0] : list;
}

/** An ElementStore over an HDF5 file read by byte ranges. */
export async function openH5Range(
  source: ByteReader,
  label: string,
  rowOptions: ReadOptions = {},
): Promise<
  ElementStore & { file: H5File }
> {
  const file = await H5File.open(
    source,
    label,
    rowOptions.cost ? metadataBlock(rowOptions.cost) : undefined,
  );
  // Remote: string heaps a read needs are fetched together, by the plan.
  if (rowOptions.cost) {
    const none = new Uint8Array(0);
    file.heaps.readTogether((pieces) => file.fetch(pieces, none, rowOptions));
  }
  // The same selection is read from every obs column: plan its runs once.
  const planned = new WeakMap<Uint32Array, ReturnType<typeof spans>>();
  const spansOf = (rows: Uint32Array) => {
    let r = planned.get(rows);
    if (!r) planned.set(rows, r = spans(rows));
    return r;
  };
  const dataset = async (p: string) => {
    const node = await file.get(p);
    if (!node || node.kind !== "dataset") {
      throw new CorruptFileError(`"${label}": no dataset at /${p}`);
    }
    return node as H5Dataset;
  };
  // A dataset of records (anndata's rec-array, e.g. scanpy's
  // rank_genes_groups) reads as a group of its fields, one array each (as
  // h5wasm's store and the zarr store give them); its bytes read once.
  const records = new Map<string, RecordFields>();
  const recordsOf = (node: unknown) =>
    node && (node as H5Dataset).kind === "dataset" &&
      (node as H5Dataset).type.kind === "compound"
      ? node as H5Dataset
      : undefined;
  const fieldOf = async (p: string) => {
    const cut = p.lastIndexOf("/");
    if (cut < 0) return undefined;
    const ds = recordsOf(await file.get(p.slice(0, cut)));
    const t = ds?.type as Extract<DType, { kind: "compound" }> | undefined;
    const member = t?.members.find((m) => m.name === p.slice(cut + 1));
    return ds && t && member ? { ds, t, member, path: p.slice(0, cut) } : undefined;
  };
  const readField = async (p: string): Promise<StoreArray | undefined> => {
    const f = await fieldOf(p);
    if (!f) return undefined;
    const { ds, t, member } = f;
    if (ds.shape.length !== 1) {
      throw new UnsupportedFormatError(
        `"${label}": /${f.path} is an array of records of ${ds.shape.length} dimensions, which ` +
          `lamindeno does not read; read it in Python, or leave it out of the file`,
      );
    }
    let fields = records.get(f.path);
    if (!fields) records.set(f.path, fields = new RecordFields(file, ds, t, f.path));
    return await fields.read(member);
  };
  return {
    label,
    file,
    async describe(p) {
      const node = await file.get(p);
      if (!node) return (await fieldOf(p)) ? "array" : undefined;
      return node.kind === "group" || recordsOf(node) ? "group" : "array";
    },
    async keys(p) {
      const t = recordsOf(await file.get(p))?.type;
      return t?.kind === "compound" ? t.members.map((m) => m.name) : await file.keys(p);
    },
    async attrs(p) {
      const node = await file.get(p);
      const out: Record<string, unknown> = {};
      if (!node) return out;
      for (const [name, a] of node.info.attrs) {
        const n = a.shape.reduce((x, y) => x * y, 1);
        out[name] = plain(await file.decode(a.type, a.raw, n), a.shape.length === 0);
      }
      return out;
    },
    async read(p, watch): Promise<StoreArray> {
      // No node there: maybe a field of records.
      const field = (await file.get(p)) ? undefined : await readField(p);
      if (field) return field;
      const ds = await dataset(p);
      // An index check for int32 arrays, its wide one for 64-bit (see PartWatch).
      const t = ds.type;
      watch = watchFor(watch, t.kind !== "int" ? "" : `${t.signed ? "" : "u"}int${8 * sizeOf(t)}`);
      const v = await ds.read(watch && { watch });
      if (v.kind === "number") {
        return { kind: "number", data: v.data, shape: ds.shape, dtype: v.dtype };
      }
      if (v.kind === "bool") return { kind: "bool", data: v.data, shape: ds.shape };
      return { kind: "string", data: v.data, shape: ds.shape };
    },
    async readRows(p, rows): Promise<StoreArray> {
      const ds = await dataset(p);
      if (ds.shape.length !== 1) {
        throw new CorruptFileError(`"${label}": /${p} is not 1-D`);
      }
      const r = spansOf(rows);
      const v = await ds.readSpans(r.starts, r.ends, r.n, rowOptions);
      const shape = [rows.length];
      if (v.kind === "number") return { kind: "number", data: v.data, shape, dtype: v.dtype };
      if (v.kind === "bool") return { kind: "bool", data: v.data, shape };
      return { kind: "string", data: v.data, shape };
    },
    async readUtf8(p, rows) {
      const ds = await dataset(p);
      if (ds.shape.length !== 1 || ds.info.type?.kind !== "vstring") return undefined;
      let raw: Uint8Array;
      if (rows) {
        const r = spansOf(rows);
        raw = await readSpans(ds, file, r.starts, r.ends, r.n, rowOptions);
      } else raw = await ds.readRows([[0, ds.shape[0]]]);
      const n = rows ? rows.length : ds.shape[0];
      return await guard(label, () => vstringsUtf8(raw, n, label, file.heaps));
    },
    close() {},
  };
}

/** A RangeArray over a numeric dataset of `file`. */
export async function h5RangeArray(
  file: H5File,
  path: string,
  options: ReadOptions = {},
): Promise<RangeArray> {
  const node = await file.get(path);
  if (!node || node.kind !== "dataset") {
    throw new CorruptFileError(`"${file.label}": no dataset at /${path}`);
  }
  const ds = node;
  const dtype = ds.dtype;
  let indexed = false;
  if (dtype === "str") throw new CorruptFileError(`"${file.label}": /${path} holds strings`);
  return {
    shape: ds.shape,
    dtype,
    async readRanges(ranges) {
      const v = await ds.readRanges(ranges, options);
      if (v.kind === "string") {
        throw new CorruptFileError(`"${file.label}": /${path} holds strings`);
      }
      return v.data as NumericArray;
    },
    async readSpans(starts, ends, n) {
      const v = await ds.readSpans(starts, ends, n, options);
      if (v.kind === "string") {
        throw new CorruptFileError(`"${file.label}": /${path} holds strings`);
      }
      return v.data as NumericArray;
    },
    // Workers may read it from its local file (src/query/_kept.ts).
    localExtent: () => localExtent(ds, file, options),
    // Remote: the chunk index (a chain of round trips) looked up ahead;
    // its pages stay in the file's page cache for the read that needs them.
    ...(options.cost && ds.chunks?.[0]
      ? {
        async prefetch() {
          await ds.chunkAddresses([[0, ds.shape[0]]], ds.chunks![0]);
        },
      }
      : {}),
    // Local, uncompressed: called window by window, so the chunk index is
    // looked up once for all of it (metadata: ~40 B a chunk).
    ...((ds.info.filters ?? []).length || options.cost || !file.source.readIntoSync) ? {} : {
      async readSpansInto(starts: Float64Array, ends: Float64Array, n: number, into: Uint8Array) {
        const extent = ds.chunks?.[0];
        if (extent && !indexed) {
          await ds.chunkAddresses([[0, ds.shape[0]]], extent);
          indexed = true;
        }
        await readSpans(ds, file, starts, ends, n, options, into);
      },
    },
  };
}

/**
 * Where a 1-D dataset lies in its local file, when it is unfiltered:
 * contiguous (one chunk; its layout must hold every element), or its
 * chunks' addresses looked up once.
 */
async function localExtent(
  ds: H5Dataset,
  file: H5File,
  options: ReadOptions,
): Promise<LocalExtent | undefined> {
  const layout = ds.info.layout, path = file.source.path;
  const counted = file.source.counted?.bind(file.source);
  if (!layout || !path || options.cost || (ds.info.filters ?? []).length) return undefined;
  const item = ds.dtype === "str" || !ds.info.type ? 0 : sizeOf(ds.info.type), n = ds.shape[0];
  if (ds.shape.length !== 1 || !(item === 4 || item === 8) || !(n > 0)) return undefined;
  if (layout.kind === "contiguous") {
    if (layout.address === undefined || layout.size < n * item) return undefined;
    return { path, itemsize: item, chunk: n, addresses: Float64Array.of(layout.address), counted };
  }
  const extent = ds.chunks?.[0];
  if (layout.kind !== "chunked" || !extent) return undefined;
  const addresses = await ds.chunkAddresses([[0, n]], extent);
  return { path, itemsize: item, chunk: extent, addresses, counted };
}

/**
 * Check, from metadata only, that every dataset under `path` has a layout
 * and filters our reader decodes (each group's children in parallel);
 * `UnsupportedFormatError` naming the first that does not, so callers can
 * fall back before reading anything.
 */
export async function assertReadable(file: H5File, path = ""): Promise<void> {
  const node = await file.get(path);
  if (!node) return;
  if (node.kind === "dataset") {
    const bad = (node.info.filters ?? []).find((f) => !READABLE_FILTERS.has(f.id));
    if (bad) {
      throw new UnsupportedFormatError(
        `"${file.label}": /${path} uses HDF5 filter ${bad.id}, which lamindeno's reader does not decode`,
      );
    }
    return;
  }
  const keys = await file.keys(path);
  await Promise.all(keys.map((k) => assertReadable(file, path ? `${path}/${k}` : k)));
}
