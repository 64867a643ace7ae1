import { kindOf, showValue } from "../_display.ts";
import { nameOrKey } from "./_lamindb_hint.ts";
import { checkKnownOptions, isPlainObject } from "../storage/_validate.ts";
import { ValidationError } from "../errors.ts";
import { newId, STEM_LENGTH } from "../_ids.ts";
import type { Join } from "../formats/anndata/concat.ts";
import type { AnnData } from "../formats/anndata/anndata.ts";
import type { DataFrame } from "../formats/tables.ts";
import type { LazyFrame } from "../query/scan.ts";
import type { Expression } from "../query/expr.ts";
import {
  date,
  linkManager,
  type Model,
  type Queries,
  queries,
  Query,
  type QueryOptions,
  type RelatedManager,
  type Row,
  type Where,
} from "./_model.ts";
import {
  describe,
  optionalText,
  requiredText,
  storableText,
  validateDescription,
} from "./_description.ts";
import { assertSaved } from "./_saved.ts";
import { defaultInstance, Instance } from "./instance.ts";
import { type SearchOptions, searchQuery } from "./_search.ts";
import { File } from "./file.ts";
import { FILE_MODEL, FILES, latestUnlessAsked } from "./_file_model.ts";
import { Run, RUN_MODEL, RUNS } from "./run.ts";
import { USER_MODEL } from "./user.ts";
import { type ULabel, ULABEL_MODEL, ulabelsManager } from "./ulabel.ts";
import { deleteCollection, saveCollection } from "./_collection_save.ts";
import { loadCollection, streamCollection } from "./_collection_load.ts";
import { showRecords } from "./_display.ts";
import { checkDeleteOptions, type DeleteOptions } from "./_delete_options.ts";
import type { Description } from "./description.ts";
import { type Batch, mappedCollection, type MappedOptions } from "./_collection_mapped.ts";

export type { Batch, MappedOptions } from "./_collection_mapped.ts";

/** Options of `new ln.Collection(files, options)`. */
export interface CollectionOptions {
  /**
   * The name; a name is the latest version of one collection, so a new
   * collection under a name that is saved becomes its next version.
   * Required unless `revises` is given (then its name).
   */
  name?: string;
  /**
   * lamindb 1.x's spelling of `name` (its collections have a `key`): taken
   * as the name; given with a different `name`, a `ValidationError`.
   */
  key?: string;
  /** Free text: what the collection holds. */
  description?: string;
  /** Make this the next version of that collection (same first 16 id characters). */
  revises?: Collection;
  /** A version label such as `"2"` (1-100 characters). */
  version?: string;
  /** The run that made it (default: the tracked run, if any). */
  run?: Run;
  /** The instance to save it in (default: the files'). */
  instance?: Instance;
}

/** Options of `collection.load()`. */
export interface CollectionLoadOptions {
  /** How var (AnnData) or columns (DataFrames) are joined: `"inner"` (default) or `"outer"`. */
  join?: Join;
  /** Link the collection and its files as inputs of the tracked run (default: settings). */
  isRunInput?: boolean;
}

/** Options of `collection.open()`. */
export interface CollectionOpenOptions {
  /** Columns the tables do not all have: left out (`"inner"`, default) or filled with nulls (`"outer"`). */
  join?: Join;
  /** Link the collection and its files as inputs of the tracked run (default: settings). */
  isRunInput?: boolean;
}

/** Options of `collection.cache()`. */
export interface CollectionCacheOptions {
  /** Link the collection and its files as inputs of the tracked run (default: settings). */
  isRunInput?: boolean;
}

/** Options of `collection.append(file, options)`. */
export interface CollectionAppendOptions {
  /** The run that makes the new version (default: the tracked run, if any). */
  run?: Run;
  /** Its version label (default: none). */
  version?: string;
}

/** Options of `collection.stream()`. */
export interface CollectionStreamOptions extends CollectionLoadOptions {
  /** Which obs rows to read, in every file; all when omitted. */
  subsetObs?: Expression;
  /** Which var rows (columns of X) to read, in every file; all when omitted. */
  subsetVar?: Expression;
  /** Files read at once: 1 to 64 (default 4). */
  parallel?: number;
}

/**
 * Many files as one (lamindb's `Collection`): an ordered list of saved
 * files under a name, versioned and labelled like files. `load()`
 * concatenates them (DataFrames stacked; AnnData along obs with var joined
 * and an obs column `file_id` naming each cell's file), `stream()` runs
 * one query over every file (read in parallel), and `mapped()` yields
 * training batches across files with bounded memory, split into disjoint
 * deterministic shares for `workers` processes.
 *
 * Saving the same files in the same order again gives the saved record.
 * Files in a collection cannot be deleted before it.
 *
 * @example Two tables as one
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * import pl from "nodejs-polars";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const a = await new ln.File(pl.DataFrame({ x: [1, 2] }), { key: "a.parquet" }).save();
 * const b = await new ln.File(pl.DataFrame({ x: [3] }), { key: "b.parquet" }).save();
 * const c = await new ln.Collection([a, b], { name: "xs" }).save();
 * const df = await c.load() as pl.DataFrame;
 * console.assert(df.height === 3 && (await c.files.all())[1].id === b.id);
 * console.assert((await ln.Collection.get({ name: "xs" })).id === c.id);
 * await ln.close();
 * ```
 */
export class Collection {
  /** 20-character base62 id: 16 naming the version family, 4 counting versions. */
  id: string;
  /** The name, shared by its versions. */
  name: string;
  /** Free text, or `null`. */
  description: string | null;
  /** A version label, or `null`. */
  version: string | null;
  /** Whether this is the newest version of its family. */
  isLatest: boolean;
  /** md5 (base64url) of the ordered member file ids; `null` before save. */
  hash: string | null;
  /** Id of the run that made it. */
  runId: string | null;
  /** Id of the transform of that run. */
  transformId: string | null;
  /** Version of that transform. */
  transformVersion: string | null;
  /** When it was saved (unsaved: the construction time). */
  createdAt: Date;
  /** When it was last changed. */
  updatedAt: Date;
  /** Id of the user who saved it. */
  createdById: string | null;
  /** The member files, in order (`files.all()`). */
  readonly files: { all(): Promise<File[]> };
  /** Labels of this collection. */
  readonly ulabels: RelatedManager<ULabel>;
  /** Runs that read this collection. */
  readonly inputOf: RelatedManager<Run>;

  /** @internal Members of an unsaved collection. */ _files: File[] | undefined;
  /** @internal */ _options: CollectionOptions;
  /** @internal */ _saved = false;
  /** @internal */ _instance: Instance | undefined;

  /** A new, unsaved collection of saved files (no I/O). */
  constructor(files: File[] | File, options: CollectionOptions = {}) {
    checkKnownOptions("new ln.Collection(files, options)", options, [
      "name",
      "key",
      "description",
      "revises",
      "version",
      "run",
      "instance",
    ]);
    const list = files instanceof File ? [files] : files;
    if (!Array.isArray(list) || list.length === 0 || list.some((f) => !(f instanceof File))) {
      throw new ValidationError(
        "new Collection(files): files is a non-empty array of File records",
      );
    }
    const unsaved = list.find((f) => !f.isSaved);
    if (unsaved) {
      throw new ValidationError(
        `file ${unsaved.id} (${unsaved.key ?? unsaved.name}) is not saved; save files before ` +
          `collecting them`,
      );
    }
    const ids = new Set<string>();
    for (const f of list) {
      if (ids.has(f.id)) {
        throw new ValidationError(
          `file ${f.id} is in the list twice; a collection lists a file once`,
        );
      }
      ids.add(f.id);
    }
    if (options.revises !== undefined) {
      if (!(options.revises instanceof Collection) || !options.revises._saved) {
        throw new ValidationError("revises must be a saved Collection (the collection to version)");
      }
    }
    const name = nameOrKey("Collection", options) ?? options.revises?.name;
    if (
      typeof name !== "string" || name.trim() === "" || name.length > 255 || name.includes("\0")
    ) {
      throw new ValidationError(
        `a Collection needs a name of 1-255 characters, got ${showValue(name)}`,
      );
    }
    storableText("Collection", "name", name);
    if (
      options.version !== undefined &&
      (typeof options.version !== "string" || !/^\S(.{0,98}\S)?$/su.test(options.version))
    ) {
      throw new ValidationError(
        `version is a label of 1-100 characters without surrounding spaces, got ${
          showValue(options.version)
        }`,
      );
    }
    if (options.version !== undefined) storableText("Collection", "version", options.version);
    if (options.run !== undefined && !(options.run instanceof Run)) {
      throw new ValidationError("run must be a Run record");
    }
    if (options.instance !== undefined && !(options.instance instanceof Instance)) {
      throw new ValidationError("instance must be an Instance from ln.connect()");
    }
    const inst = options.instance ?? list[0]._instance;
    const other = list.find((f) => f._instance && inst && f._instance !== inst);
    if (other) {
      throw new ValidationError(`file ${other.id} is in another instance; collect files of one`);
    }
    const now = new Date();
    this.id = newId("file");
    this.name = name;
    this.description = validateDescription("Collection", options.description);
    this.version = options.version ?? null;
    this.isLatest = true;
    this.hash = null;
    this.runId = options.run?.id ?? null;
    this.transformId = options.run?.transformId ?? null;
    this.transformVersion = options.run?.transformVersion ?? null;
    this.createdAt = now;
    this.updatedAt = now;
    this.createdById = null;
    this._files = [...list];
    this._options = options;
    this._instance = inst;
    [this.files, this.ulabels, this.inputOf] = managers(this);
  }

  /** @internal From a registry row. */
  static fromRow(row: Row<"collection">, inst: Instance): Collection {
    const c = Object.create(Collection.prototype) as Collection;
    c._setRow(row, inst);
    c._options = {};
    c._files = undefined;
    // deno-lint-ignore no-explicit-any
    const m = c as any;
    [m.files, m.ulabels, m.inputOf] = managers(c);
    return c;
  }

  /** @internal */
  _setRow(row: Row<"collection">, inst: Instance): void {
    this.id = row.id;
    this.name = row.name;
    this.description = row.description;
    this.version = row.version;
    this.isLatest = row.is_latest !== 0;
    this.hash = row.hash;
    this.runId = row.run_id;
    this.transformId = row.transform_id;
    this.transformVersion = row.transform_version;
    this.createdAt = date(row.created_at);
    this.updatedAt = date(row.updated_at);
    this.createdById = row.created_by_id;
    this._saved = true;
    this._instance = inst;
  }

  /** @internal The open instance of a saved collection. */
  get _inst(): Instance {
    if (!this._saved) {
      throw new ValidationError(`collection "${this.name}" is not saved yet; call save() first`);
    }
    return (this._instance ?? defaultInstance()).assertOpen();
  }

  /** True once the collection is in the registry. */
  get isSaved(): boolean {
    return this._saved;
  }

  /**
   * lamindb's name for {@linkcode Collection.id} (its records' public id
   * is `uid`).
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * const c = await new ln.Collection([file], { key: "letters" }).save();
   * console.assert((await ln.Collection.get(c.uid)).id === c.id);
   * await ln.close();
   * ```
   */
  get uid(): string {
    return this.id;
  }

  /**
   * lamindb 1.x's name for {@linkcode Collection.name} (its collections
   * have a `key`); setting it sets the name.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * const c = await new ln.Collection([file], { key: "letters" }).save();
   * console.assert(c.key === "letters" && c.name === "letters");
   * await ln.close();
   * ```
   */
  get key(): string {
    return this.name;
  }

  /** Sets the {@linkcode Collection.name} (lamindb 1.x's `key`). */
  set key(value: string) {
    this.name = value;
  }

  /**
   * lamindb's name for {@linkcode Collection.files}
   * (`collection.artifacts`): the member files, in the collection's order
   * (as lamindb's `ordered_artifacts`).
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * const c = await new ln.Collection([file], { key: "letters" }).save();
   * console.assert((await c.artifacts.all())[0].id === file.id);
   * await ln.close();
   * ```
   */
  get artifacts(): { all(): Promise<File[]> } {
    return this.files;
  }

  /**
   * Register it: the next version when its name (or `revises`) is saved,
   * the saved record when the same files in the same order are.
   */
  async save(): Promise<this> {
    if (!this._saved) {
      // Checked again: the fields may have been changed since construction.
      requiredText("Collection", "name", this.name);
      for (const field of ["description", "version"] as const) {
        this[field] = optionalText("Collection", field, this[field]);
      }
    }
    const inst = (this._instance ??= defaultInstance()).assertOpen();
    if (!this._saved && this._options.run !== undefined) {
      await assertSaved(inst.db, "run", [this._options.run.id], "new Collection(files, { run })");
    }
    await saveCollection(inst, this);
    return this;
  }

  /**
   * The files as one object: DataFrames stacked (columns joined by
   * `join`), AnnData concatenated along obs with var joined (`"inner"`
   * default, `"outer"`) and an obs column `file_id` (as `concatAnnData`:
   * layers and obsm matrices every file has; obs columns every file has,
   * or all with `"outer"`; var's columns from the first file that has each
   * name; a categorical stays ordered where every file has the same
   * categories). Files of other formats, or a mix of tables and AnnData,
   * are a `ValidationError` before anything is read; so is an inner join
   * without common var names, and so are an unknown option or an option of
   * the wrong type (as for `stream()` and `mapped()`). X's dtype is the one
   * numpy gives the files' dtypes stacked (int32 and int64 make int64, int16
   * and float32 float32, int32 and float32 float64), CSR when any file's X
   * is sparse; what a file lacks in an outer join is empty in CSR, NaN in a
   * dense float X and 0 in a dense integer one.
   */
  async load(options: CollectionLoadOptions = {}): Promise<DataFrame | AnnData> {
    return await loadCollection(this, options);
  }

  /**
   * One `subsetObs`/`subsetVar` query over every AnnData file (read
   * through byte ranges, `parallel` at once), concatenated as `load()`;
   * categoricals keep the categories the result uses. With an inner join,
   * a `subsetVar` whose selections in the files share no var name is a
   * `ValidationError` before X is read (the query is evaluated on each
   * file's var columns it names first; anndata would give `n x 0`).
   */
  async stream(options: CollectionStreamOptions = {}): Promise<AnnData> {
    return await streamCollection(this, options);
  }

  /**
   * Training batches across the files (see {@linkcode MappedOptions}):
   * each batch reads only its rows, and every batch's X has the dtype, the
   * layout (CSR or dense) and the fill for missing var that `load()` gives
   * X, decided from all the files before the first batch. The batches of one seeded order are
   * cut into `n` consecutive runs whose lengths differ by at most one;
   * worker `i` of `n` gets the `i`-th, so `n` processes share the rows
   * without overlap (and, in file order, each reads one stretch of the
   * files).
   *
   * @example Two workers share the rows
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const part = (n: number) =>
   *   new ln.AnnData({ X: new ln.DenseMatrix(new Float32Array(n * 2).fill(1), [n, 2]), varNames: ["A", "B"] });
   * const a = await new ln.File(part(3), { key: "a.h5ad" }).save();
   * const b = await new ln.File(part(2), { key: "b.h5ad" }).save();
   * const c = await new ln.Collection([a, b], { name: "cells" }).save();
   * const seen: number[] = [];
   * for (const worker of [0, 1]) {
   *   for await (const batch of c.mapped({ batchSize: 2, shuffle: true, seed: 1, worker, workers: 2 })) {
   *     seen.push(...batch.index);
   *   }
   * }
   * console.assert(seen.sort().join() === "0,1,2,3,4");
   * await ln.close();
   * ```
   */
  mapped(options: MappedOptions = {}): AsyncIterable<Batch> {
    return mappedCollection(this, options);
  }

  /**
   * The tables as one polars `LazyFrame` (lamindb's `open()`): each file
   * scanned (`file.open()`: filters and column selections pushed down to
   * the reader; a remote file from its cached copy), stacked in order.
   * Columns not every table has are left out (`join: "inner"`, default, as
   * `load()`) or filled with nulls (`"outer"`); `collect()` gives what
   * `load()` gives. AnnData files, or a table format without a lazy scan,
   * are a `ValidationError` before anything is read; a file gone from
   * storage a `StorageError` naming it.
   *
   * @example Filter two tables without loading them
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * import pl from "nodejs-polars";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const a = await new ln.File(pl.DataFrame({ x: [1, 5] }), { key: "a.parquet" }).save();
   * const b = await new ln.File(pl.DataFrame({ x: [7, 2] }), { key: "b.parquet" }).save();
   * const c = await new ln.Collection([a, b], { name: "xs" }).save();
   * const big = await (await c.open()).filter(pl.col("x").gt(4)).collect();
   * console.assert(big.getColumn("x").toArray().join() === "5,7");
   * await ln.close();
   * ```
   */
  async open(options: CollectionOpenOptions = {}): Promise<LazyFrame> {
    return await (await import("./_collection_open.ts")).openCollection(this, options);
  }

  /**
   * Local paths of the files, in order (lamindb's `cache()`): each file's
   * `stage()` (a remote one downloaded to the cache unless its cached copy
   * is current). A file gone from storage is a `StorageError` naming it.
   *
   * @example Paths on disk
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const a = await new ln.File(new TextEncoder().encode("x\n1\n"), { key: "a.csv" }).save();
   * const c = await new ln.Collection([a], { name: "tables" }).save();
   * console.assert((await c.cache())[0] === a.path());
   * await ln.close();
   * ```
   */
  async cache(options: CollectionCacheOptions = {}): Promise<string[]> {
    return await (await import("./_collection_open.ts")).cacheCollection(this, options);
  }

  /**
   * The next version with `file` added at the end (lamindb's `append()`):
   * a new, unsaved collection revising this one (same name and
   * description); this one is unchanged. `save()` it.
   *
   * @example A second version with one more file
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const bytes = (s: string) => new TextEncoder().encode(s);
   * const a = await new ln.File(bytes("a"), { key: "a.txt" }).save();
   * const b = await new ln.File(bytes("b"), { key: "b.txt" }).save();
   * const v1 = await new ln.Collection([a], { name: "letters" }).save();
   * const v2 = await (await v1.append(b)).save();
   * console.assert((await v2.files.all()).length === 2 && (await v1.files.all()).length === 1);
   * console.assert((await v2.versions()).length === 2 && v2.name === "letters");
   * await ln.close();
   * ```
   */
  async append(file: File, options: CollectionAppendOptions = {}): Promise<Collection> {
    if (!isPlainObject(options as unknown)) {
      throw new ValidationError(
        `collection.append(file, options): options is an object like { run, version }, got ` +
          showValue(options),
      );
    }
    checkKnownOptions("collection.append(file, options)", options, ["run", "version"]);
    if (!(file instanceof File)) {
      throw new ValidationError(
        `collection.append(file): file is a saved File, got ${kindOf(file)}`,
      );
    }
    if (!this._saved) {
      throw new ValidationError(
        `collection "${this.name}" is not saved; save() it before appending to it (or add the ` +
          `file to the list given to new ln.Collection)`,
      );
    }
    const files = await this.files.all();
    return new Collection([...files, file], {
      revises: this,
      ...(this.description !== null ? { description: this.description } : {}),
      ...(options.run !== undefined ? { run: options.run } : {}),
      ...(options.version !== undefined ? { version: options.version } : {}),
      instance: this._inst,
    });
  }

  /**
   * Every version of this collection, oldest first (a query, as lamindb's
   * `versions`: await it, or `df()`, `filter()`, `last()` ...).
   */
  versions(): Query<Collection> {
    if (!this._saved) {
      return Query.of(
        "Collection",
        [this],
        `collection "${this.name}" is not saved: its versions are itself`,
      );
    }
    const stem = this.id.slice(0, STEM_LENGTH);
    return Query.defer(
      "Collection",
      () => COLLECTIONS(this._inst).filter({ id: { startsWith: stem } }, { orderBy: "id" }),
    );
  }

  /**
   * Delete the record and its links (not the files) for good (no trash:
   * `{ permanent: false }` is a `ValidationError`); the previous version
   * becomes latest.
   */
  async delete(options: DeleteOptions = {}): Promise<void> {
    checkDeleteOptions("Collection", options);
    await deleteCollection(this._inst, this);
  }

  /**
   * At a glance, as lamindb's `describe()`: fields, version, the run and
   * transform that made it, runs that read it, its files (count, total
   * size, keys in order) and labels (a {@linkcode Description}: `.text`
   * prints as a tree, a notebook shows `.html`).
   *
   * @example Describe a collection
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const a = await new ln.File(new TextEncoder().encode("x\n1\n"), { key: "a.csv" }).save();
   * const c = await new ln.Collection([a], { name: "tables" }).save();
   * const text = (await c.describe()).text;
   * console.assert(text.startsWith("Collection: tables") && text.includes("files: a.csv"));
   * await ln.close();
   * ```
   */
  async describe(): Promise<Description> {
    return await (await import("./_describe.ts")).describeCollection(this);
  }

  /** The collection with this id, or matching `where` (e.g. `{ name }`; latest versions). */
  static async get(idOrWhere: string | Where): Promise<Collection> {
    return await COLLECTIONS(defaultInstance()).get(idOrWhere);
  }

  /** Collections matching `where` (latest versions unless `isLatest` or `id` is given). */
  static filter(where: Where = {}, options: QueryOptions = {}): Query<Collection> {
    return Query.defer("Collection", () => COLLECTIONS(defaultInstance()).filter(where, options));
  }

  /** The matching collections as a polars DataFrame, newest first, at most 100 (as `Query.df()`). */
  static df(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Collection.filter(where, options).df();
  }

  /**
   * lamindb's name for {@linkcode Collection.df} (`Collection.to_dataframe()`, lamindb 1.11
   * and later): the matching collections as a polars DataFrame, newest first, at
   * most 100 unless `options` order or limit them.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * await new ln.Collection([file], { name: "letters" }).save();
   * console.assert((await ln.Collection.toDataFrame()).height === 1);
   * await ln.close();
   * ```
   */
  static toDataFrame(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Collection.df(where, options);
  }

  /**
   * Latest collection versions whose name or description match the words of
   * `query`, best first (as {@linkcode File.search}: every word matches
   * exactly, as a prefix, or one typo away; `.df()` for a table).
   *
   * @example Find a collection by a word of its description
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const f = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * await new ln.Collection([f], { name: "lung", description: "lung atlas shards" }).save();
   * console.assert((await ln.Collection.search("atlas"))[0].name === "lung");
   * await ln.close();
   * ```
   */
  static search(query: string, options?: SearchOptions): Query<Collection> {
    return searchQuery(
      "Collection",
      "collection",
      defaultInstance,
      query,
      options,
      (inst, ids) => COLLECTIONS(inst).byIds(ids),
      COLLECTION_MODEL as never,
    );
  }

  /** Query the collections of another instance (from `ln.connect()`). */
  static using(instance: Instance): Queries<Collection> {
    return COLLECTIONS(instance);
  }

  /** A short description, e.g. for logs. */
  toString(): string {
    return `Collection(id=${this.id}, name=${JSON.stringify(this.name)}, version=${
      this.version ?? "null"
    }${describe(this.description)})`;
  }
}

showRecords(Collection);

function managers(
  c: Collection,
): [{ all(): Promise<File[]> }, RelatedManager<ULabel>, RelatedManager<Run>] {
  const self = () => ({ id: c.id, inst: c._inst });
  return [
    {
      async all() {
        if (!c._saved) return [...(c._files ?? [])];
        const { id, inst } = self();
        const rows = await inst.db.selectFrom("collection_file").select("file_id")
          .where("collection_id", "=", id).orderBy("position").execute();
        return await FILES(inst).byIds(rows.map((r) => r.file_id));
      },
    },
    ulabelsManager("collection_ulabel", "collection_id", self),
    linkManager(
      "run_input_collection",
      "collection_id",
      self,
      "run_id",
      (inst, ids) => RUNS(inst).byIds(ids),
    ),
  ];
}

/** The `collection` table's mapping. */
export const COLLECTION_MODEL: Model<"collection", Collection> = {
  table: "collection",
  label: "Collection",
  fields: {
    id: "id",
    name: "name",
    description: "description",
    version: "version",
    isLatest: "is_latest",
    hash: "hash",
    runId: "run_id",
    transformId: "transform_id",
    transformVersion: "transform_version",
    createdAt: "created_at",
    updatedAt: "updated_at",
    createdById: "created_by_id",
  },
  types: { isLatest: "boolean" },
  scope: latestUnlessAsked,
  relations: {
    run: { column: "run_id", target: () => RUN_MODEL as never },
    createdBy: { column: "created_by_id", target: () => USER_MODEL as never },
  },
  links: {
    ulabels: {
      table: "collection_ulabel",
      self: "collection_id",
      other: "ulabel_id",
      target: () => ULABEL_MODEL as never,
    },
    files: {
      table: "collection_file",
      self: "collection_id",
      other: "file_id",
      target: () => FILE_MODEL as never,
    },
  },
  fromRow: (row, inst) => Collection.fromRow(row, inst),
  toRow: (c) => ({
    id: c.id,
    name: c.name,
    description: c.description,
    version: c.version,
    is_latest: c.isLatest ? 1 : 0,
    hash: c.hash!,
    run_id: c.runId,
    transform_id: c.transformId,
    transform_version: c.transformVersion,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
    created_by_id: c.createdById!,
  }),
};

/** @internal Queries of collections. */
export const COLLECTIONS: (inst: Instance) => Queries<Collection> = queries(COLLECTION_MODEL);
