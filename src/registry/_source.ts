// What File data is, and its size and hash (read once, streamed).
import { basename, join, resolve } from "node:path";
import { fileURLToPath as fromFileURL } from "node:url";
import { NotFoundError, StorageError, UnsupportedFormatError, ValidationError } from "../errors.ts";
import { AnnData } from "../formats/anndata/anndata.ts";
import { MuData, writeH5mu } from "../formats/anndata/mudata.ts";
import { writeH5ad } from "../formats/anndata/write_h5ad.ts";
import { writeZarr } from "../formats/anndata/write_zarr.ts";
import { hashBytes, hashDirectory, hashFile } from "../storage/hash.ts";
import {
  type DataFrame,
  isDataFrame,
  type TableFormat,
  tableFormat,
  writeTable,
} from "../formats/tables.ts";
import {
  encodeImage,
  type ImageArray,
  type ImageFormat,
  isImageArray,
  validateImage,
} from "../formats/image.ts";
import { type ArrowTable, isArrowTable, writeArrowTable } from "../formats/arrow.ts";
import { isZarrArray, writeZarrArray, type ZarrArray } from "../formats/tensor.ts";

/**
 * Data a File can be made from: a local path (string or `file:` URL), an
 * `s3://` URL of an object inside the instance's S3 storage (registered in
 * place), bytes, a nodejs-polars DataFrame, an apache-arrow Table, an
 * AnnData, a MuData, an ImageArray or a zarrita array.
 */
export type FileData =
  | string
  | URL
  | Uint8Array
  | DataFrame
  | ArrowTable
  | AnnData
  | MuData
  | ImageArray
  | ZarrArray;

/** Data as stored: a local file or folder, bytes, or an object already on S3. */
export type RawSource =
  | { kind: "path"; path: string }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "remote"; uri: string };

/** Data as given: raw, or an in-memory object with its serialization format. */
export type Source =
  | RawSource
  | { kind: "table"; df: DataFrame; format: TableFormat }
  | { kind: "arrow"; table: ArrowTable; format: TableFormat }
  | { kind: "anndata"; adata: AnnData; format: "h5ad" | "zarr" }
  | { kind: "image"; img: ImageArray; format: ImageFormat }
  | { kind: "tensor"; arr: ZarrArray; format: "zarr" }
  | { kind: "mudata"; mdata: MuData; format: "h5mu" };

/** The suffix in-memory data is saved with, or undefined for paths and bytes. */
export function sourceSuffix(src: Source): string | undefined {
  return src.kind === "path" || src.kind === "bytes" || src.kind === "remote"
    ? undefined
    : `.${src.format}`;
}

/** Serialized data and how to remove what serializing left behind. */
export interface Materialized {
  src: RawSource;
  cleanup(): Promise<void>;
}

/** Serialize in-memory data at save time; paths and bytes pass through. */
export async function materialize(src: Source): Promise<Materialized> {
  const none = { cleanup: () => Promise.resolve() };
  switch (src.kind) {
    case "path":
    case "bytes":
    case "remote":
      return { src, ...none };
    case "table":
      return { src: { kind: "bytes", bytes: writeTable(src.df, src.format) }, ...none };
    case "arrow":
      return {
        src: { kind: "bytes", bytes: await writeArrowTable(src.table, src.format) },
        ...none,
      };
    case "image":
      return { src: { kind: "bytes", bytes: encodeImage(src.img, src.format) }, ...none };
    case "mudata": {
      const dir = await Deno.makeTempDir({ prefix: "lamindeno-mudata-" });
      const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
      try {
        await writeH5mu(src.mdata, `${dir}/data.h5mu`);
        return { src: { kind: "path", path: `${dir}/data.h5mu` }, cleanup };
      } catch (e) {
        await cleanup();
        throw e;
      }
    }
    case "tensor": {
      const dir = await Deno.makeTempDir({ prefix: "lamindeno-tensor-" });
      const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
      try {
        await writeZarrArray(src.arr, `${dir}/array.zarr`);
        return { src: { kind: "path", path: `${dir}/array.zarr` }, cleanup };
      } catch (e) {
        await cleanup();
        throw e;
      }
    }
    case "anndata": {
      const dir = await Deno.makeTempDir({ prefix: "lamindeno-anndata-" });
      const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
      try {
        const path = `${dir}/adata.${src.format}`;
        if (src.format === "zarr") await writeZarr(src.adata, path);
        else await writeH5ad(src.adata, path);
        return { src: { kind: "path", path }, cleanup };
      } catch (e) {
        await cleanup();
        throw e;
      }
    }
  }
}

/** One file of a folder-like object. */
export interface DirEntry {
  rel: string;
  path: string;
  size: number;
  hash: string;
}

export interface Measured {
  size: number;
  hash: string;
  hashType: "md5" | "md5-d";
  /** Files beneath, for a folder-like object. */
  entries?: DirEntry[];
}

/** Classify constructor data (sync, no I/O); `format`/`keySuffix` pick a serialization. */
export function toSource(data: unknown, format?: string, keySuffix = ""): Source {
  if (data instanceof Uint8Array) return { kind: "bytes", bytes: data };
  if (data instanceof AnnData) {
    const f = (format ?? (keySuffix ? keySuffix.slice(1) : "h5ad")).toLowerCase();
    if (f !== "h5ad" && f !== "zarr") {
      throw new UnsupportedFormatError(`cannot save an AnnData as "${f}"; formats: h5ad, zarr`);
    }
    if (keySuffix && keySuffix.toLowerCase() !== `.${f}`) {
      throw new ValidationError(
        `key suffix ${keySuffix} does not match format "${f}"; make them agree`,
      );
    }
    return { kind: "anndata", adata: data, format: f };
  }
  if (isDataFrame(data) || isArrowTable(data)) {
    const f = tableFormat(format, keySuffix);
    if (keySuffix && keySuffix.toLowerCase() !== `.${f}`) {
      throw new ValidationError(
        `key suffix ${keySuffix} does not match format "${f}"; make them agree`,
      );
    }
    return isDataFrame(data)
      ? { kind: "table", df: data, format: f }
      : { kind: "arrow", table: data, format: f };
  }
  if (data instanceof MuData) {
    if ((format && format.toLowerCase() !== "h5mu") || (keySuffix && keySuffix !== ".h5mu")) {
      throw new UnsupportedFormatError(`a MuData is saved as .h5mu; got ${format ?? keySuffix}`);
    }
    return { kind: "mudata", mdata: data, format: "h5mu" };
  }
  if (isZarrArray(data)) {
    if ((format && format.toLowerCase() !== "zarr") || (keySuffix && keySuffix !== ".zarr")) {
      throw new UnsupportedFormatError(
        `a zarr array is saved as a .zarr store; got ${format ?? keySuffix}`,
      );
    }
    return { kind: "tensor", arr: data, format: "zarr" };
  }
  if (isImageArray(data)) {
    validateImage(data);
    const f = (format ?? (keySuffix ? keySuffix.slice(1) : "png")).toLowerCase();
    const imageFormat = f === "png" ? "png" : f === "jpg" || f === "jpeg" ? "jpg" : undefined;
    if (!imageFormat) {
      throw new UnsupportedFormatError(`cannot save an image as "${f}"; formats: png, jpg`);
    }
    if (keySuffix && ![".png", ".jpg", ".jpeg"].includes(keySuffix.toLowerCase())) {
      throw new ValidationError(`key suffix ${keySuffix} is not an image suffix (.png, .jpg)`);
    }
    return { kind: "image", img: data, format: imageFormat };
  }
  if (data instanceof URL) {
    if (data.protocol !== "file:") {
      throw new StorageError(
        `cannot register ${data.href}: a File is made from a local path or file: URL; to put ` +
          `data on S3, init an instance with an s3:// storage and save local files or objects ` +
          `into it (registering existing S3 objects in place is not supported yet)`,
      );
    }
    return { kind: "path", path: resolve(fromFileURL(data)) };
  }
  if (typeof data === "string") {
    if (data === "") throw new ValidationError("a File needs data: got an empty path");
    if (data.startsWith("s3://")) return { kind: "remote", uri: data };
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(data) && !data.startsWith("file://")) {
      throw new StorageError(
        `cannot register ${data}: a File is made from a local path, a file: URL or an ` +
          `s3:// URL inside the instance's S3 storage`,
      );
    }
    const path = data.startsWith("file://") ? fromFileURL(new URL(data)) : data;
    return { kind: "path", path: resolve(path) };
  }
  throw new ValidationError(
    `a File is made from a local path (string or file: URL), a Uint8Array, a polars DataFrame, an arrow Table, an AnnData, an ImageArray or a zarrita array; got ${
      data === null ? "null" : typeof data === "object" ? data.constructor?.name : typeof data
    }`,
  );
}

/** The name a source suggests (its base name), if any. */
export function sourceName(src: Source): string | null {
  return src.kind === "path"
    ? basename(src.path)
    : src.kind === "remote"
    ? basename(src.uri)
    : null;
}

/** stat a source path (synchronously: ~10x cheaper per small file); NotFoundError naming it when missing. */
export function statSource(path: string): Deno.FileInfo {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`no file or folder at ${path}; check the path`);
    }
    throw new StorageError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Size and md5 of a source, streaming; folders hash per `hashDirectory`. */
export async function measure(src: RawSource): Promise<Measured> {
  if (src.kind === "bytes") {
    return { size: src.bytes.byteLength, hash: hashBytes(src.bytes), hashType: "md5" };
  }
  if (src.kind === "remote") {
    throw new ValidationError(
      `${src.uri}: an S3 object can be registered with new File(uri).save(), not used as new content`,
    );
  }
  const st = statSource(src.path);
  if (st.isFile) return { ...(await readHash(src.path, st.size)), hashType: "md5" };
  if (!st.isDirectory) throw new ValidationError(`${src.path} is neither a file nor a folder`);
  const entries: DirEntry[] = [];
  for (const { rel, path } of await walk(src.path)) {
    const h = await readHash(path, statSource(path).size);
    entries.push({ rel, path, size: h.size, hash: h.hash });
  }
  const size = entries.reduce((a, e) => a + e.size, 0);
  return {
    size,
    hash: hashDirectory(entries.map((e) => ({ path: e.rel, hash: e.hash }))),
    hashType: "md5-d",
    entries,
  };
}

/** Files up to this size are read in one synchronous call (much cheaper per file). */
const SMALL_FILE = 1 << 20;

async function readHash(path: string, size: number) {
  try {
    if (size <= SMALL_FILE) {
      const bytes = Deno.readFileSync(path);
      return { size: bytes.byteLength, hash: hashBytes(bytes) };
    }
    return await hashFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new NotFoundError(`no file at ${path}`);
    throw new StorageError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Files beneath `dir` (recursively), relative POSIX paths, sorted. */
export async function walk(dir: string): Promise<{ rel: string; path: string }[]> {
  const out: { rel: string; path: string }[] = [];
  const visit = async (abs: string, rel: string) => {
    for await (const e of Deno.readDir(abs)) {
      const path = join(abs, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await visit(path, r);
      else if (e.isFile) out.push({ rel: r, path });
      else if (e.isSymlink) {
        const st = await Deno.stat(path).catch(() => undefined);
        if (st?.isFile) out.push({ rel: r, path });
        else if (st?.isDirectory) await visit(path, r);
      }
    }
  };
  await visit(dir, "");
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
