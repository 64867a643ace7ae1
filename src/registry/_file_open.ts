// Opening a saved file's object: on local disk (a cached copy for remote
// storage), or for range reads (stream, backed).
import {
  IntegrityError,
  NotFoundError,
  UnsupportedFormatError,
  ValidationError,
} from "../errors.ts";
import { type CopyProgress, localCopy } from "../storage/_cache.ts";
import { CountingStorage } from "../storage/counting.ts";
import { readDataFrame } from "../formats/anndata/_decode.ts";
import { BackedAnnData } from "../query/backed.ts";
import { storedMatrix } from "../query/stream.ts";
import type { RangeReader } from "../formats/codec.ts";
import { openRangeReader } from "../query/_open.ts";
import { checkBatchSize, iterateAnnData } from "../query/batches.ts";
import { type LazyFrame, SCANNABLE_SUFFIXES, scanTable } from "../query/scan.ts";
import { streamableSuffixes } from "../formats/codecs.ts";
import type { AnnData } from "../formats/anndata/anndata.ts";
import type { File } from "./file.ts";
import { type OnProgress, startProgress } from "../storage/_progress.ts";
import {
  type BatchOptions,
  BatchOptionsSchema,
  checkOptions,
  StreamOptionsSchema,
} from "./file_schemas.ts";
import { loadObject, type LoadOptions, type LoadResult } from "../formats/load.ts";
import type { StreamOptions } from "./file_schemas.ts";
import { streamAnnData } from "../query/stream.ts";
import { linkRunInput } from "./_inputs.ts";
import { retryBusy } from "./_db_errors.ts";

/**
 * The object of a saved file on local disk: itself, or a cached copy of a
 * remote one. (A function, not a private method: records read from the
 * registry are not built by the constructor.)
 */
export async function objectOnDisk(file: File, progress: CopyProgress = {}): Promise<string> {
  return await readSettled(file, () => copyOnDisk(file, progress));
}

/**
 * Make `file` the record its id names now, before its object is read: one
 * held from before a new version was saved at its key (its object moved to
 * `.lamindb/` since) would read the new version's content, one replaced
 * meanwhile would read new content under its old hash, one deleted another
 * file's object saved at its key since. A `NotFoundError` when deleted.
 * While another writer changes the object (a replace, or a new version
 * moving it aside: journaled, op "replace" or "move"), the object at its
 * key may be content its row does not name yet (or never will, when that
 * write fails): waited for a while, then an `IntegrityError`.
 */
async function refresh(file: File): Promise<void> {
  file.path(); // saved?
  for (let attempt = 0;; attempt++) {
    const { row, busy } = await currentRow(file);
    if (!row) {
      throw new NotFoundError(
        `file ${file.id} was deleted since this record was read; nothing to read: ` +
          `look the data up again (ln.File.get({ key }) or ln.File.filter(...))`,
      );
    }
    if (!busy) {
      if (row.updated_at !== file.updatedAt.toISOString()) file._setRow(row, file._inst);
      return;
    }
    if (attempt >= SETTLE_WAITS.length) throw changing(file);
    await new Promise((r) => setTimeout(r, SETTLE_WAITS[attempt]));
  }
}

/** How long a read waits, each time, for another writer's change of the object to end. */
const SETTLE_WAITS = [20, 50, 100, 200, 400, 800, 1600];

function changing(file: File): IntegrityError {
  return new IntegrityError(
    `file ${file.id} is being changed by another writer (a replace, or a new version taking ` +
      `its key; or one was interrupted: ln.fsck({ repair: true }) finishes it); nothing was ` +
      `read: try again`,
  );
}

/** The file's row, and whether a replace or move of its object is journaled, in one query. */
async function currentRow(file: File) {
  const inst = file._inst;
  const r = await retryBusy(() =>
    inst.db.selectFrom("file").selectAll()
      .select((eb) =>
        eb.exists(
          eb.selectFrom("pending_object").select("pending_object.id")
            .whereRef("pending_object.file_id", "=", "file.id")
            .where("pending_object.op", "in", ["replace", "move"]),
        ).as("busy")
      )
      .where("file.id", "=", file.id).executeTakeFirst()
  );
  if (!r) return { row: undefined, busy: false };
  const { busy, ...row } = r;
  return { row, busy: Boolean(Number(busy)) };
}

/**
 * `read` the object of `file` (refreshed first), then check that no other
 * writer began changing it meanwhile (its row's version moved on, or a
 * replace or move is journaled): then it is read again, a few times, before
 * an `IntegrityError`. What was read is the content the row names.
 */
async function readSettled<T>(file: File, read: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    await refresh(file);
    let value: T;
    try {
      value = await read();
    } catch (e) {
      // (An object moved or replaced under the read: read again.)
      if (await settled(file) || attempt >= 2) throw e;
      continue;
    }
    if (await settled(file)) return value;
    if (attempt >= 2) throw changing(file);
  }
}

/** Whether the row of `file` is still the one read, with no change of its object journaled. */
async function settled(file: File): Promise<boolean> {
  const { row, busy } = await currentRow(file);
  return row !== undefined && !busy && row.updated_at === file.updatedAt.toISOString();
}

async function copyOnDisk(file: File, progress: CopyProgress): Promise<string> {
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
  await refresh(file);
  const path = file.path();
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

/**
 * A saved table file as a LazyFrame over its local path (a verified cached
 * copy for remote storage); undefined for `.h5ad`/`.zarr` (opened backed).
 */
export async function openTable(file: File): Promise<LazyFrame | undefined> {
  const suffix = file.suffix.toLowerCase();
  if (!SCANNABLE_SUFFIXES.includes(suffix)) {
    if (streamableSuffixes().includes(suffix)) return undefined;
    throw new UnsupportedFormatError(
      `cannot open "${file.path()}": open() reads tables (${SCANNABLE_SUFFIXES.join(" ")}) ` +
        `and AnnData stores (${streamableSuffixes().join(" ")}), this is ${
          suffix || "a file without suffix"
        }; use file.load(), file.path() or file.stage()`,
    );
  }
  return await scanTable(await objectOnDisk(file), suffix, file.path());
}

/**
 * `file.batches()`: `batchSize` checked at once (the rest of the options on
 * the first batch), then open, iterate counting I/O as it goes, close.
 */
export function fileBatches(file: File, options: BatchOptions): AsyncGenerator<AnnData, void> {
  if (options === null || typeof options !== "object") {
    throw new ValidationError("batches(options): options must be an object like { batchSize }");
  }
  checkBatchSize(options.batchSize);
  return batchesOf(file, options);
}

async function* batchesOf(file: File, options: BatchOptions): AsyncGenerator<AnnData, void> {
  await BatchOptionsSchema.parse(options);
  const { src, io } = await openForRanges(file);
  let counted = { bytesRead: 0, requests: 0 };
  const count = () => {
    if (!options.io) return;
    options.io.bytesRead += io.bytesRead - counted.bytesRead;
    options.io.requests += io.requests - counted.requests;
    counted = { bytesRead: io.bytesRead, requests: io.requests };
  };
  let linked = false;
  try {
    const batches = iterateAnnData(
      src,
      { obs: options.subsetObs?.node, var: options.subsetVar?.node },
      options,
      options.batchSize,
    );
    for await (const batch of batches) {
      count();
      if (!linked) await linkRunInput(file._inst, file, options.isRunInput);
      linked = true;
      yield batch;
    }
    if (!linked) await linkRunInput(file._inst, file, options.isRunInput);
  } finally {
    src.close();
    count();
  }
}

/** `file.stream()`: options checked, the selection read, I/O counted, the input linked. */
export async function streamFile(file: File, options: StreamOptions): Promise<AnnData> {
  await StreamOptionsSchema.parse(options);
  const { src, io, done } = await openForRanges(file, options.onProgress);
  let adata: AnnData;
  try {
    adata = await streamAnnData(
      src,
      { obs: options.subsetObs?.node, var: options.subsetVar?.node },
      options,
    );
  } finally {
    src.close();
    if (options.io) {
      options.io.bytesRead += io.bytesRead;
      options.io.requests += io.requests;
    }
  }
  done();
  await linkRunInput(file._inst, file, options.isRunInput);
  return adata;
}

/** `file.load()`: the in-memory object of a saved file (see `File.load`). */
export async function loadFile(file: File, options: LoadOptions): Promise<LoadResult> {
  file.path(); // saved?
  checkOptions(options, "load", ["isRunInput", "as", "onProgress"]);
  const value = await readSettled(file, async () =>
    await loadObject(
      file._inst.backendFor(file.storageId!).localPath(file._objectKey)
        ? file.path()
        : await copyOnDisk(file, { onProgress: options.onProgress }),
      file.suffix,
      options.as,
    ) as LoadResult);
  await linkRunInput(file._inst, file, options.isRunInput);
  return value;
}
