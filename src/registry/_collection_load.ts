// A collection's files as one object: what kind they are (checked before
// anything is read), bounded parallel reads, missing objects as a
// `StorageError` naming the file, and the concatenation.
import { StorageError, ValidationError } from "../errors.ts";
import { codecForSuffix } from "../formats/codecs.ts";
import type { AnnData } from "../formats/anndata/anndata.ts";
import { concatAnnData, type Join, joinNames, stackFrames } from "../formats/anndata/concat.ts";
import { KEEP_CATEGORIES, usedCategories } from "../query/_categories.ts";
import type { DataFrame } from "../formats/tables.ts";
import { retryBusy } from "./_db_errors.ts";
import { openBacked, openForRanges } from "./_file_open.ts";
import { selectedVar } from "../query/_selection.ts";
import type { Expression } from "../query/expr.ts";
import { linkRunInput } from "./_inputs.ts";
import type { Collection, CollectionLoadOptions, CollectionStreamOptions } from "./collection.ts";
import type { File } from "./file.ts";
import type { StreamOptions } from "./file_schemas.ts";
import type { Instance } from "./instance.ts";
import { pool } from "../storage/_pool.ts";
import {
  checkExpressions,
  checkJoin,
  checkKeysAndFlags,
  checkParallel,
  LOAD_KEYS,
  STREAM_KEYS,
} from "./_collection_options.ts";

/** The obs column of a loaded collection naming the file each row came from. */
export const FILE_ID_COLUMN = "file_id";

/** What a collection's files load as. */
export type Kind = "dataframe" | "anndata";

/** The name a message gives a file: its id and key. */
export function fileLabel(f: File): string {
  return `file ${f.id}${f.key ? ` (${f.key})` : ""}`;
}

/** The kind of every file (one for all), or a `ValidationError` naming the odd one. */
export function filesKind(files: readonly File[], what: string): Kind {
  const kinds = files.map((f): Kind | undefined => {
    const name = codecForSuffix(f.suffix)?.name;
    return name === "table" ? "dataframe" : name?.startsWith("anndata_") ? "anndata" : undefined;
  });
  const bad = kinds.findIndex((k) => k === undefined);
  if (bad >= 0) {
    throw new ValidationError(
      `${what}: ${fileLabel(files[bad])} is ${files[bad].suffix || "without suffix"}; ` +
        `collections concatenate tables (.parquet .csv ...) or AnnData (.h5ad .zarr): ` +
        `load its files one by one (collection.files.all())`,
    );
  }
  const other = kinds.findIndex((k) => k !== kinds[0]);
  if (other >= 0) {
    throw new ValidationError(
      `${what}: the collection mixes ${kinds[0] === "anndata" ? "AnnData" : "tables"} ` +
        `(${fileLabel(files[0])}) with ${kinds[other] === "anndata" ? "AnnData" : "tables"} ` +
        `(${fileLabel(files[other])}), which cannot be concatenated; nothing was read`,
    );
  }
  return kinds[0]!;
}

/** Whether the object of `f` is in its storage. */
async function present(f: File): Promise<boolean> {
  const backend = f._inst.backendFor(f.storageId!);
  const key = f._objectKey;
  try {
    return f._isDir
      ? !(await backend.list(`${key}/`)[Symbol.asyncIterator]().next()).done
      : await backend.head(key) !== undefined;
  } catch {
    return true; // unknown: keep the original error
  }
}

/**
 * `fn` on a file's object; when it fails and the object is gone from
 * storage, a `StorageError` naming the file instead.
 */
export async function guard<R>(f: File, fn: () => Promise<R>): Promise<R> {
  const missing = (cause?: unknown) =>
    new StorageError(
      `${fileLabel(f)} of the collection is missing from storage at ${f.path()}: it was ` +
        `deleted outside lamindeno; nothing was returned (ln.fsck() reports missing objects)`,
      { cause },
    );
  let out: R;
  try {
    out = await fn();
  } catch (e) {
    if (await present(f)) throw e;
    throw missing(e);
  }
  // A local zarr store reads a missing chunk as its fill value: a store
  // deleted while it was read gives zeros, not an error. Check that it is
  // still there. (A remote one finds its chunks gone itself, without a
  // listing after every read: see keepingMetadata.)
  const local = f._inst.backendFor(f.storageId!).capabilities.localPaths;
  if (f._isDir && local && !(await present(f))) throw missing();
  return out;
}

/** Link the collection as an input of the tracked run (its files are linked as they are read). */
export async function linkCollectionInput(
  inst: Instance,
  c: Collection,
  isRunInput: boolean | undefined,
): Promise<void> {
  const run = inst.run;
  if (!run || inst.closed) return;
  if (isRunInput === false || (isRunInput === undefined && !inst.settings.trackRunInputs)) return;
  if (c.runId === run.id) return;
  await retryBusy(() =>
    inst.db.insertInto("run_input_collection").values({ run_id: run.id, collection_id: c.id })
      .onConflict((oc) => oc.doNothing()).execute()
  );
}

/** Link every file (and the collection, once saved) as inputs of the tracked run. */
export async function linkAll(
  c: Collection,
  files: readonly File[],
  isRunInput: boolean | undefined,
): Promise<void> {
  if (files.length === 0) return;
  const inst = files[0]._inst;
  if (c.isSaved) await linkCollectionInput(inst, c, isRunInput);
  for (const f of files) await linkRunInput(inst, f, isRunInput);
}

/** Var names of each AnnData file (read without X), and their join (empty inner: error). */
export async function varSpace(
  files: readonly File[],
  join: Join,
  parallel: number,
): Promise<{ names: string[][]; joined: string[] }> {
  const names = await pool(files, parallel, (f) =>
    guard(f, async () => {
      const b = await openBacked(f);
      try {
        return await b.varNames();
      } finally {
        b.close();
      }
    }));
  return { names, joined: joinVar(files, names, join) };
}

/**
 * The joined var names of files (an empty inner join: `ValidationError`);
 * `subset`: the names are those a subsetVar selects.
 */
export function joinVar(
  files: readonly File[],
  names: string[][],
  join: Join,
  subset = false,
): string[] {
  const joined = joinNames(names, join, (i) => fileLabel(files[i]));
  if (joined.length === 0 && names.some((n) => n.length > 0)) {
    const e = `${fileLabel(files[0])} ${subset ? "selects" : "has"} ${
      names[0].slice(0, 3).join(", ") || "none"
    }`;
    throw new ValidationError(
      subset
        ? `the var that subsetVar selects in the files of the collection has no name in common ` +
          `(e.g. ${e}), so an inner join is empty; nothing was read: use join: "outer", or a ` +
          `subsetVar that selects var every file has`
        : `the files of the collection have no var name in common (e.g. ${e}), so an inner ` +
          `join is empty; nothing was read: use join: "outer", or collect files of one var space`,
    );
  }
  return joined;
}

/** Each file's var names that `subsetVar` selects (only var's columns the query names are read). */
async function selectedVarNames(
  files: readonly File[],
  names: string[][],
  subsetVar: Expression,
  parallel: number,
): Promise<string[][]> {
  return await pool(files, parallel, (f, i) =>
    guard(f, async () => {
      const { src } = await openForRanges(f);
      try {
        return Array.from(await selectedVar(src, subsetVar.node), (c) => names[i][c]);
      } finally {
        src.close();
      }
    }));
}

/** See `Collection.load`. */
/**
 * The columns every table has (in the first one's order), for an inner
 * join of the tables of `what`; none is a `ValidationError`.
 */
export function commonColumns(columns: readonly (readonly string[])[], what: string): string[] {
  const common = columns[0].filter((col) => columns.every((cs) => cs.includes(col)));
  if (common.length === 0) {
    throw new ValidationError(
      `the tables of ${what} have no column in common, so an inner join is empty; ` +
        `use join: "outer"`,
    );
  }
  return common;
}

export async function loadCollection(
  c: Collection,
  options: CollectionLoadOptions,
): Promise<DataFrame | AnnData> {
  checkKeysAndFlags(options, LOAD_KEYS, "collection.load(options)", ["isRunInput"]);
  const join = checkJoin(options.join);
  const files = await c.files.all();
  const kind = filesKind(files, `collection "${c.name}"`);
  const read = { isRunInput: false };
  if (kind === "dataframe") {
    const frames = await pool(files, 4, (f) => guard(f, () => f.load(read))) as DataFrame[];
    let parts = frames;
    if (join === "inner") {
      const common = commonColumns(frames.map((d) => d.columns), `collection "${c.name}"`);
      parts = frames.map((d) => d.select(...common));
    }
    const df = stackFrames(parts, `collection "${c.name}"`);
    await linkAll(c, files, options.isRunInput);
    return df;
  }
  await varSpace(files, join, 4);
  const parts = await pool(files, 4, (f) => guard(f, () => f.load(read))) as AnnData[];
  const out = concatAnnData(parts, { join, label: FILE_ID_COLUMN, keys: files.map((f) => f.id) });
  await linkAll(c, files, options.isRunInput);
  return out;
}

/** See `Collection.stream`. */
export async function streamCollection(
  c: Collection,
  options: CollectionStreamOptions,
): Promise<AnnData> {
  const call = "collection.stream(options)";
  const o = checkKeysAndFlags(options, STREAM_KEYS, call, ["isRunInput"]);
  checkExpressions(o, ["subsetObs", "subsetVar"], call);
  const join = checkJoin(options.join);
  const parallel = checkParallel(options.parallel);
  const files = await c.files.all();
  if (filesKind(files, `collection "${c.name}"`) !== "anndata") {
    throw new ValidationError(
      `collection "${c.name}" holds tables; stream() reads AnnData (.h5ad .zarr): use load()`,
    );
  }
  const { names } = await varSpace(files, join, parallel);
  // The inner join of what subsetVar selects, checked before X is read (an
  // outer join of selections cannot be empty: nothing to check).
  if (options.subsetVar && join === "inner") {
    joinVar(files, await selectedVarNames(files, names, options.subsetVar, parallel), join, true);
  }
  const parts = await pool(
    files,
    parallel,
    (f) =>
      guard(f, () =>
        f.stream({
          subsetObs: options.subsetObs,
          subsetVar: options.subsetVar,
          isRunInput: false,
          // Every category kept per file (files sharing an ordered list agree)...
          [KEEP_CATEGORIES]: true,
        } as StreamOptions)),
  );
  const out = concatAnnData(parts, { join, label: FILE_ID_COLUMN, keys: files.map((f) => f.id) });
  await linkAll(c, files, options.isRunInput);
  // ... and the merged subset keeps those it uses, as anndata's subset does.
  const used = usedCategories(out.obs, out.categories.obs, out.uns);
  out.categories.obs = used.categories;
  return out;
}
