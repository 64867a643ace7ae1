// What File data is, and its size and hash (read once, streamed).
import * as rt from "../_runtime.ts";
import { basename, join, resolve } from "node:path";
import { fileURLToPath as fromFileURL } from "node:url";
import { match } from "ts-pattern";
import { NotFoundError, StorageError, ValidationError } from "../errors.ts";
import type { AnnData } from "../formats/anndata/anndata.ts";
import type { MuData } from "../formats/anndata/mudata.ts";
import { hashBytes, hashDirectory, hashFile, Md5 } from "../storage/hash.ts";
import { interruptCheck, isInterrupted, SLICE, yieldToLoop } from "../_interrupt.ts";
import { type ProgressOptions, type ProgressTracker, startProgress } from "../storage/_progress.ts";
import type { DataFrame } from "../formats/tables.ts";
import type { ImageArray } from "../formats/image.ts";
import type { ArrowTable } from "../formats/arrow.ts";
import type { ZarrArray } from "../formats/tensor.ts";
import type { Codec } from "../formats/codec.ts";
import { codecForData, codecs } from "../formats/codecs.ts";

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
export type RawInput =
  | { kind: "path"; path: string }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "remote"; uri: string };

/** Data as given: raw, or an in-memory object with the codec and format it is saved with. */
export type Input =
  | RawInput
  | { kind: "object"; data: unknown; codec: Codec; format: string; suffix: string };

/** The suffix in-memory data is saved with, or undefined for paths and bytes. */
export function inputSuffix(src: Input): string | undefined {
  return src.kind === "object" ? src.suffix : undefined;
}

/** Serialized data and how to remove what serializing left behind. */
export interface Materialized {
  src: RawInput;
  cleanup(): Promise<void>;
}

const noCleanup = () => Promise.resolve();

/** Serialize in-memory data through its codec at save time; paths and bytes pass through. */
export async function materialize(src: Input): Promise<Materialized> {
  return await match(src)
    .with({ kind: "path" }, { kind: "bytes" }, { kind: "remote" }, (raw) => ({
      src: raw,
      cleanup: noCleanup,
    }))
    .with({ kind: "object" }, async ({ data, codec, format, suffix }) => {
      if (codec.encode) {
        return {
          src: { kind: "bytes", bytes: await codec.encode(data, { format }) } as const,
          cleanup: noCleanup,
        };
      }
      const dir = await rt.makeTempDir({ prefix: `lamindeno-${codec.name}-` });
      const cleanup = () => rt.remove(dir, { recursive: true }).catch(() => {});
      try {
        const path = `${dir}/data${suffix}`;
        await codec.write!(data, path, { format });
        return { src: { kind: "path", path } as const, cleanup };
      } catch (e) {
        await cleanup();
        throw e;
      }
    })
    .exhaustive();
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

/** Classify constructor data (sync, no I/O); `format`/`keySuffix` pick the codec's format. */
export function toInput(data: unknown, format?: string, keySuffix = ""): Input {
  if (data instanceof Uint8Array) return { kind: "bytes", bytes: data };
  if (data instanceof URL) {
    if (["s3:", "http:", "https:"].includes(data.protocol)) return toInput(data.href);
    if (data.protocol !== "file:") {
      throw new StorageError(
        `cannot register ${data.protocol} URLs: a File is made from a local path, a file: URL, ` +
          `an s3:// URL inside the instance's S3 storage or a public http(s):// URL`,
      );
    }
    return { kind: "path", path: resolve(fromFileURL(data)) };
  }
  if (typeof data === "string") {
    if (data === "") throw new ValidationError("a File needs data: got an empty path");
    if (/^(s3|https?):\/\//i.test(data)) return { kind: "remote", uri: data };
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(data) && !data.startsWith("file://")) {
      throw new StorageError(
        `cannot register ${data.slice(0, data.indexOf(":"))}: URLs: a File is made from a ` +
          `local path, a file: URL, an s3:// URL inside the instance's S3 storage or a public ` +
          `http(s):// URL`,
      );
    }
    const path = data.startsWith("file://") ? fromFileURL(new URL(data)) : data;
    return { kind: "path", path: resolve(path) };
  }
  const encoding = codecForData(data, format, keySuffix);
  if (encoding) return { kind: "object", data, ...encoding };
  const nouns = [...new Set(codecs().filter((c) => c.accepts).map((c) => c.noun))];
  throw new ValidationError(
    `a File is made from a local path (string or file: URL), a Uint8Array, ${
      nouns.join(", ")
    }; got ${
      data === null ? "null" : typeof data === "object" ? data.constructor?.name : typeof data
    }`,
  );
}

/** The name a source suggests (its base name), if any. */
export function inputName(src: Input): string | null {
  return src.kind === "path"
    ? basename(src.path)
    : src.kind === "remote"
    ? basename(src.uri)
    : null;
}

/** stat a source path (synchronously: ~10x cheaper per small file); NotFoundError naming it when missing. */
export function statPath(path: string): rt.FileInfo {
  try {
    return rt.statSync(path);
  } catch (e) {
    if (rt.isNotFound(e)) {
      throw new NotFoundError(`no file or folder at ${path}; check the path`);
    }
    throw new StorageError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Size and md5 of a source, streaming; folders hash per `hashDirectory`.
 * Progress (phase `"hash"`) goes to `progress.onProgress` and, for large
 * sources, to a bar.
 */
export async function measure(src: RawInput, progress: ProgressOptions = {}): Promise<Measured> {
  if (src.kind === "bytes") {
    const t = startProgress("hash", src.bytes.byteLength, progress);
    const hash = await hashSliced(src.bytes, interruptCheck("the save"));
    t?.end();
    return { size: src.bytes.byteLength, hash, hashType: "md5" };
  }
  if (src.kind === "remote") {
    throw new ValidationError(
      `${src.uri}: an S3 object can be registered with new File(uri).save(), not used as new content`,
    );
  }
  const st = statPath(src.path);
  if (st.isFile) {
    const t = startProgress("hash", st.size, progress);
    const h = await readHash(src.path, st.size, t);
    t?.end(h.size);
    return { ...h, hashType: "md5" };
  }
  if (!st.isDirectory) throw new ValidationError(`${src.path} is neither a file nor a folder`);
  const files = (await walk(src.path)).map((f) => ({ ...f, size: statPath(f.path).size }));
  const t = startProgress("hash", files.reduce((a, f) => a + f.size, 0), progress);
  const entries: DirEntry[] = [];
  for (const { rel, path, size } of files) {
    const h = await readHash(path, size, t);
    entries.push({ rel, path, size: h.size, hash: h.hash });
  }
  const size = entries.reduce((a, e) => a + e.size, 0);
  t?.end(size);
  return {
    size,
    hash: hashDirectory(entries.map((e) => ({ path: e.rel, hash: e.hash }))),
    hashType: "md5-d",
    entries,
  };
}

/**
 * md5 of bytes in slices, letting the event loop run between them: a kernel
 * interrupt is handled (and acknowledged) at once and stops the save here.
 */
async function hashSliced(bytes: Uint8Array, check: () => void): Promise<string> {
  if (bytes.byteLength <= SLICE) return hashBytes(bytes);
  const md5 = new Md5();
  let yielded = Date.now();
  for (let i = 0; i < bytes.byteLength; i += SLICE) {
    // Every 50 ms of hashing (a timer each 8 MB would cost more): well within the
    // kernel's 300 ms wait for its interrupt ack.
    if (Date.now() - yielded >= 50) {
      await yieldToLoop();
      yielded = Date.now();
    }
    check();
    md5.update(bytes.subarray(i, i + SLICE));
  }
  return md5.digest().hash;
}

/** Files up to this size are read in one synchronous call (much cheaper per file). */
const SMALL_FILE = 1 << 20;

async function readHash(path: string, size: number, progress?: ProgressTracker) {
  try {
    if (size <= SMALL_FILE) {
      const bytes = rt.readFileSync(path);
      progress?.add(bytes.byteLength);
      return { size: bytes.byteLength, hash: hashBytes(bytes) };
    }
    // Checked for a kernel interrupt at each chunk read.
    const check = interruptCheck("the save");
    return await hashFile(path, { add: (n) => (check(), progress?.add(n)) });
  } catch (e) {
    if (isInterrupted(e)) throw e;
    if (rt.isNotFound(e)) throw new NotFoundError(`no file at ${path}`);
    throw new StorageError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Files beneath `dir` (recursively), relative POSIX paths, sorted. Links are
 * followed; a link back to a folder it is in (a loop, which would be walked
 * until the system's link limit, in 2^40 paths with two such links) is a
 * `ValidationError`.
 */
export async function walk(dir: string): Promise<{ rel: string; path: string }[]> {
  const out: { rel: string; path: string }[] = [];
  // `real`: the folder's real path; `above`: those of the folders it is in.
  const visit = async (abs: string, rel: string, real: string, above: string[]) => {
    const within = [...above, real];
    for (const e of await rt.readDir(abs)) {
      const path = join(abs, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await visit(path, r, join(real, e.name), within);
      else if (e.isFile) out.push({ rel: r, path });
      else if (e.isSymlink) {
        const st = await rt.stat(path).catch(() => undefined);
        if (st?.isFile) out.push({ rel: r, path });
        else if (st?.isDirectory) {
          const target = await rt.realPath(path);
          if (within.includes(target)) {
            throw new ValidationError(
              `${dir} holds a symbolic link loop: ${path} leads back to ${target}, a folder it ` +
                `is in; remove the link, or save a copy of the folder without it`,
            );
          }
          await visit(path, r, target, within);
        }
      }
    }
  };
  await visit(dir, "", await rt.realPath(dir), []);
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
