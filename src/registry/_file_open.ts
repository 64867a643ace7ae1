// Opening a saved file's object: on local disk (a cached copy for remote
// storage), or for range reads (stream, backed).
import { NotFoundError } from "../errors.ts";
import { type CopyProgress, localCopy } from "../storage/_cache.ts";
import { CountingStorage } from "../storage/counting.ts";
import { readDataFrame } from "../formats/anndata/_decode.ts";
import { BackedAnnData } from "../query/backed.ts";
import { storedMatrix } from "../query/stream.ts";
import type { RangeReader } from "../formats/codec.ts";
import { openRangeReader } from "../query/_open.ts";
import type { File } from "./file.ts";
import { type OnProgress, startProgress } from "../storage/_progress.ts";

/**
 * The object of a saved file on local disk: itself, or a cached copy of a
 * remote one. (A function, not a private method: records read from the
 * registry are not built by the constructor.)
 */
export async function objectOnDisk(file: File, progress: CopyProgress = {}): Promise<string> {
  const path = file.path();
  const inst = file._inst;
  const backend = inst.backendFor(file.storageId!);
  const present = file._isDir
    ? !(await backend.list(`${file._objectKey}/`)[Symbol.asyncIterator]().next()).done
    : await backend.head(file._objectKey) !== undefined;
  if (!present) {
    throw new NotFoundError(`the object of file ${file.id} is missing at ${path}; run ln.fsck()`);
  }
  const label = file.key ?? file.name ?? file._objectKey;
  return await localCopy(backend, file._objectKey, Boolean(file._isDir), inst.settings.cacheDir, {
    ...progress,
    label: progress.label ?? label,
  });
}

/** Bytes read and requests made so far. */
export interface IoCount {
  readonly bytesRead: number;
  readonly requests: number;
}

/**
 * A saved `.h5ad`/`.zarr` file opened for range reads, with its I/O counted.
 * `onProgress` hears the bytes read (phase `"download"`, `total` the file's
 * size, or the bytes read once more; `done()` reports the bytes read as the
 * total).
 */
export async function openForRanges(
  file: File,
  onProgress?: OnProgress,
): Promise<{ src: RangeReader; io: IoCount; done: () => void }> {
  const path = file.path(); // saved?
  const inst = file._inst;
  const t = startProgress("download", file.size ?? 0, { onProgress, quiet: true });
  const onRead = t && ((n: number) => t.add(n));
  const backend = new CountingStorage(inst.backendFor(file.storageId!), { onRead });
  const src = await openRangeReader(
    backend,
    file._objectKey,
    file.suffix,
    path,
    inst.settings.cacheDir,
  );
  const io = {
    get bytesRead() {
      return backend.stats.bytesRead + (src.stats?.()?.bytesRead ?? 0);
    },
    get requests() {
      return backend.stats.requests + (src.stats?.()?.requests ?? 0);
    },
  };
  return { src, io, done: () => t?.end(io.bytesRead) };
}

/** A saved `.h5ad`/`.zarr` file as a {@linkcode BackedAnnData}. */
export async function openBacked(file: File): Promise<BackedAnnData> {
  const { src, io } = await openForRanges(file);
  try {
    const x = await storedMatrix(src, "X");
    let shape: [number, number];
    if (x) shape = x.shape;
    else {
      const obs = await readDataFrame(src.store, "obs");
      const vr = await readDataFrame(src.store, "var");
      shape = [obs.index.length || obs.df.height, vr.index.length || vr.df.height];
    }
    const layers = (await src.store.describe("layers")) === "group"
      ? await src.store.keys("layers")
      : [];
    return new BackedAnnData(src, shape, x !== undefined, layers, io);
  } catch (e) {
    src.close();
    throw e;
  }
}
