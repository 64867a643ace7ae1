// A collection's files on local disk (`cache()`) and its tables as one
// lazy scan (`open()`), as lamindb's Collection.cache() and open().
import { ValidationError } from "../errors.ts";
import { checkJoin, checkKeysAndFlags, LOAD_KEYS } from "./_collection_options.ts";
import { pool } from "../storage/_pool.ts";
import { concatGuarded } from "../formats/_table_scan.ts";
import { loadPolars } from "../formats/tables.ts";
import { type LazyFrame, SCANNABLE_SUFFIXES } from "../query/scan.ts";
import { openTable } from "./_file_open.ts";
import { commonColumns, fileLabel, filesKind, guard, linkAll } from "./_collection_load.ts";
import type { Collection, CollectionCacheOptions, CollectionOpenOptions } from "./collection.ts";

/** See `Collection.open`. */
export async function openCollection(
  c: Collection,
  options: CollectionOpenOptions,
): Promise<LazyFrame> {
  checkKeysAndFlags(options, LOAD_KEYS, "collection.open(options)", ["isRunInput"]);
  const join = checkJoin(options.join);
  const files = await c.files.all();
  const what = `collection "${c.name}"`;
  if (filesKind(files, what) !== "dataframe") {
    throw new ValidationError(
      `${what}.open(): its files are AnnData; open() scans tables (${
        SCANNABLE_SUFFIXES.join(" ")
      }); read AnnData with collection.stream(), mapped() or load()`,
    );
  }
  const unscannable = files.find((f) => !SCANNABLE_SUFFIXES.includes(f.suffix.toLowerCase()));
  if (unscannable) {
    throw new ValidationError(
      `${what}.open(): ${fileLabel(unscannable)} is ${unscannable.suffix}, which has no lazy ` +
        `scan (${SCANNABLE_SUFFIXES.join(" ")}); use collection.load()`,
    );
  }
  const frames = await pool(files, 4, (f) => guard(f, async () => (await openTable(f))!));
  const columns = frames.map((lf) => lf.columns);
  let parts = frames;
  if (join === "inner") {
    const common = commonColumns(columns, what);
    parts = frames.map((lf, i) =>
      columns[i].length === common.length && columns[i].every((col, k) => col === common[k])
        ? lf
        : lf.select(...common)
    );
  }
  // Stacked as load() stacks them: a column of different types in different
  // tables becomes their supertype (int and float: float; number and text: text).
  const out = parts.length === 1 ? parts[0] : concatGuarded(await loadPolars(), parts);
  await linkAll(c, files, options.isRunInput);
  return out;
}

/** See `Collection.cache`. */
export async function cacheCollection(
  c: Collection,
  options: CollectionCacheOptions,
): Promise<string[]> {
  checkKeysAndFlags(options, ["isRunInput"], "collection.cache(options)", ["isRunInput"]);
  const files = await c.files.all();
  const paths = await pool(files, 4, (f) => guard(f, () => f.stage({ isRunInput: false })));
  await linkAll(c, files, options.isRunInput);
  return paths;
}
