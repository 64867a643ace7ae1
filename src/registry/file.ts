import { basename } from "node:path";
import { ValidationError } from "../errors.ts";
import type { LoadAs, LoadOptions, LoadResult, LoadTypes } from "../formats/load.ts";
import { objectKey, suffixOf } from "../storage/key.ts";
import { newId, STEM_LENGTH } from "../_ids.ts";
import {
  type Queries,
  Query,
  type QueryOptions,
  type RelatedManager,
  type Row,
  type Where,
} from "./_model.ts";
import { type FileData, type Input, inputName, inputSuffix, toInput } from "./_input.ts";
import { saveFiles } from "./_save.ts";
import { checkFileOptions } from "./_file_options.ts";
import { managers } from "./_file_managers.ts";
import { checkInNoCollection, deleteFile, replaceFile } from "./_replace.ts";
import { linkRunInput } from "./_inputs.ts";
import { LazyDataFrame } from "../query/lazy_frame.ts";
import type { LazyFrame } from "../query/scan.ts";
import type { BackedAnnData } from "../query/backed.ts";
import { AnnData } from "../formats/anndata/anndata.ts";
import { isDataFrame } from "../formats/tables.ts";
import { kindOf } from "../_display.ts";
import {
  fileBatches,
  loadFile,
  objectOnDisk,
  openBacked,
  openTable,
  streamFile,
} from "./_file_open.ts";
import { FILE_MODEL, fileFromRow, FILES, setFileRow } from "./_file_model.ts";
import {
  type BackedOptions,
  BackedOptionsSchema,
  type BatchOptions,
  checkOptions,
  type ReplaceOptions,
  type SaveOptions,
  type StageOptions,
  type StreamOptions,
} from "./file_schemas.ts";
import type { Features } from "./features.ts";
import type { FeatureManager } from "./_file_values.ts";
import type { Folder } from "./folder.ts";
import { type SearchOptions, searchQuery } from "./_search.ts";
import { defaultInstance, Instance } from "./instance.ts";
import { Run } from "./run.ts";
import type { ULabel } from "./ulabel.ts";
import { describe, optionalText } from "./_description.ts";
import { checkKnownOptions } from "../storage/_validate.ts";
import { assertSaved } from "./_saved.ts";
import type { Storage } from "./storage_record.ts";
import type { Transform } from "./transform.ts";
import type { User } from "./user.ts";
import type { DataFrame } from "../formats/tables.ts";
import type { Description } from "./description.ts";
import type { Lineage } from "./lineage.ts";
import { showRecords } from "./_display.ts";
import { checkDeleteOptions, type DeleteOptions } from "./_delete_options.ts";

export type { FileData } from "./_input.ts";
export type { ReplaceOptions, StreamOptions } from "./file_schemas.ts";
export type { DeleteOptions } from "./_delete_options.ts";

/** Options of `new ln.File(data, options)`. */
export interface FileOptions {
  /** Storage key: relative POSIX path inside the storage root. */
  key?: string;
  /** Name; defaults to the file name of a path. */
  name?: string;
  /** Free text: what the file holds, how it was made. */
  description?: string;
  /** The run that made the file (defaults to the tracked run, if any). */
  run?: Run;
  /** Serialization format for in-memory data (e.g. `"csv"`). */
  format?: string;
  /** Feature sets to link on save. */
  features?: Features[];
  /** Use this id (20 base62 characters) instead of a random one. */
  id?: string;
  /**
   * Make this a new version of that file (same first 16 id characters, the
   * counter in the last 4 plus one; its key unless `key` is given). Saving
   * new content under a key that is registered makes a new version too.
   */
  revises?: File;
  /** A version label, such as `"2"` or `"2024-06"` (at most 100 characters). */
  version?: string;
  /** Runs that read this file. */
  inputOf?: Run[];
  /** The instance to save it in (default: the one `ln.init()` opened). */
  instance?: Instance;
}

/**
 * A data file (or folder-like store such as `.zarr`) registered with its
 * size, md5 hash, storage location and provenance.
 *
 * The constructor does no I/O; `save()` hashes the data once (streamed),
 * returns the existing record for content already registered, registers
 * files inside the storage root in place and copies others to
 * `.lamindb/{id}{suffix}` (or to `key`).
 *
 * Other content under a registered key (or `{ revises: file }`) is the
 * next version: see {@linkcode File.versions}.
 *
 * @example Register bytes and find them again
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
 * console.assert(file.hash === "DMF1ucDxtqgxw5niaXcmYQ" && file.size === 1);
 * console.assert((await ln.File.get({ key: "a.txt" })).id === file.id);
 * await ln.close();
 * ```
 */
export class File {
  /** 20-character base62 id. */
  id: string;
  /** Name (the source file name by default). */
  name: string | null;
  /** Free text, or `null`. */
  description: string | null;
  /** Suffix, compound ones whole (`.tar.gz`); `""` when there is none. */
  suffix: string;
  /** Size in bytes (of all files, for a folder-like object); `null` before save. */
  size: number | null;
  /** md5, base64url (22 chars); `null` before save. */
  hash: string | null;
  /** `"md5"` for a file, `"md5-d"` for a folder-like object (see `hashDirectory`). */
  hashType: string | null;
  /** Storage key, or `null` for objects at `.lamindb/{id}{suffix}`. */
  key: string | null;
  /** Id of the run that made it. */
  runId: string | null;
  /** Id of the transform whose run made it. */
  transformId: string | null;
  /** Version of that transform. */
  transformVersion: string | null;
  /** Id of the storage root. */
  storageId: string | null;
  /** When it was registered (unsaved: the construction time). */
  createdAt: Date;
  /** When it was last changed. */
  updatedAt: Date;
  /** Id of the user who registered it. */
  createdById: string | null;
  /** A version label such as `"2"` or `"2024-06"`, or `null`. */
  version: string | null;
  /**
   * Whether this is the newest version of its family (the files whose ids
   * share the first 16 characters). `get`/`filter` return latest versions
   * unless asked for `isLatest`, an `id` or a `hash`.
   */
  isLatest: boolean;
  /** The run that made it [pre-joined]. */
  run: Run | undefined;
  /** The transform that made it [pre-joined]. */
  transform: Transform | undefined;
  /** The storage root [pre-joined]. */
  storage: Storage | undefined;
  /** The user who registered it [pre-joined]. */
  createdBy: User | undefined;
  /** Runs that read this file. */
  readonly inputOf: RelatedManager<Run>;
  /**
   * Feature sets of this file (`all`, `add`, `remove`) and its feature
   * values (lamindb 1.x's): `addValues({ temperature: 21.6 })`,
   * `getValues()`, `setValues()`, `removeValues()`; files are found by them
   * with `File.filter({ features: { temperature: { gt: 20 } } })`.
   *
   * @example Annotate a file and find it by a value
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const f = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * await f.features.addValues({ temperature: 21.6, tissue: "lung" });
   * console.assert((await f.features.getValues()).tissue === "lung");
   * const warm = await ln.File.filter({ features: { temperature: { gt: 20 } } });
   * console.assert(warm.length === 1 && warm[0].id === f.id);
   * await ln.close();
   * ```
   */
  readonly features: FeatureManager;
  /** Folders that contain this file. */
  readonly folders: RelatedManager<Folder>;
  /** Labels of this file (`file.ulabels.add(label)`). */
  readonly ulabels: RelatedManager<ULabel>;

  /** @internal */ _input: Input | undefined;
  /** @internal */ _options: FileOptions;
  /** @internal 1 when lamindeno owns the object (it copied it). */ _managed = 1;
  /** @internal */ _isDir = 0;
  /** @internal 1 when an older version's object went to `.lamindb/` (see `objectKey`). */
  _keyIsVirtual = 0;
  /** @internal */ _saved = false;
  /** @internal The instance it was read from or is saved to. */ _instance: Instance | undefined;

  /** A new, unsaved file from a local path, a `file:` URL or bytes (no I/O). */
  constructor(data: FileData, options: FileOptions = {}) {
    const { key, description } = checkFileOptions(options, (f) => f instanceof File && f._saved);
    const source = toInput(data, options.format, key ? suffixOf(key) : "");
    const now = new Date();
    this.id = options.id ?? newId("file");
    const fromName = inputName(source);
    this.name = options.name ?? (fromName ?? (key ? basename(key) : null));
    this.description = description;
    this.suffix = inputSuffix(source) ?? suffixOf(key ?? fromName ?? "");
    this.size = null;
    this.hash = null;
    this.hashType = null;
    this.key = key ?? null;
    this.runId = options.run?.id ?? null;
    this.transformId = options.run?.transformId ?? null;
    this.transformVersion = options.run?.transformVersion ?? null;
    this.storageId = null;
    this.createdAt = now;
    this.updatedAt = now;
    this.createdById = null;
    this.version = options.version ?? null;
    this.isLatest = true;
    this.run = options.run;
    this.transform = options.run?.transform;
    this.storage = undefined;
    this.createdBy = undefined;
    this._input = source;
    this._options = options;
    this._instance = options.instance;
    [this.inputOf, this.features, this.folders, this.ulabels] = managers(this);
  }

  /**
   * A new, unsaved file of a polars DataFrame (lamindb's
   * `Artifact.from_dataframe()`): `new ln.File(df, options)` once `df` is
   * checked to be one. Saved as parquet unless `format` says otherwise.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * import pl from "nodejs-polars";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const df = pl.DataFrame({ gene: ["CD4", "CD8A"], count: [3, 5] });
   * const file = await ln.Artifact.fromDataFrame(df, { key: "qc/counts.parquet" }).save();
   * console.assert(file.suffix === ".parquet");
   * await ln.close();
   * ```
   */
  static fromDataFrame(df: DataFrame, options: FileOptions = {}): File {
    if (!isDataFrame(df)) {
      throw new ValidationError(
        `File.fromDataFrame(df): df is a polars DataFrame, got ${kindOf(df)}; ` +
          `for other data use new ln.File(data, options)`,
      );
    }
    return new File(df, options);
  }

  /**
   * A new, unsaved file of an AnnData (lamindb's
   * `Artifact.from_anndata()`): `new ln.File(adata, options)` once `adata`
   * is checked to be one. Saved as `.h5ad` unless `format: "zarr"`.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * import pl from "nodejs-polars";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const adata = new ln.AnnData({
   *   X: new ln.DenseMatrix(new Float32Array([1, 0, 0, 2]), [2, 2]),
   *   obs: pl.DataFrame({ cell_type: ["T cell", "B cell"] }),
   * });
   * const file = await ln.Artifact.fromAnnData(adata, { key: "toy.h5ad" }).save();
   * console.assert(file.suffix === ".h5ad");
   * await ln.close();
   * ```
   */
  static fromAnnData(adata: AnnData, options: FileOptions = {}): File {
    if (!(adata instanceof AnnData)) {
      throw new ValidationError(
        `File.fromAnnData(adata): adata is an ln.AnnData (readH5ad(), new ln.AnnData()), ` +
          `got ${kindOf(adata)}; for other data use new ln.File(data, options)`,
      );
    }
    return new File(adata, options);
  }

  /** @internal From a registry row (related records are joined by the caller). */
  static fromRow(row: Row<"file">, inst: Instance): File {
    return fileFromRow(row, inst);
  }

  /** @internal Take the fields of a registry row: the row -> fields half of the mapping. */
  _setRow(row: Row<"file">, inst: Instance): void {
    setFileRow(this, row, inst);
  }

  /** @internal Become `other` (same id, key, hash, ...): dedup and re-reads. */
  _adopt(other: File): void {
    const keep = {
      inputOf: this.inputOf,
      features: this.features,
      folders: this.folders,
      ulabels: this.ulabels,
    };
    Object.assign(this, other, keep);
    this._input = undefined;
    this._options = {};
  }

  /** @internal The key of the object in its storage. */
  get _objectKey(): string {
    return objectKey({ ...this, key_is_virtual: this._keyIsVirtual });
  }

  /** @internal The instance of a saved file (open). */
  get _inst(): Instance {
    if (!this._saved || !this.storageId) {
      throw new ValidationError(`file ${this.id} is not saved yet; call save() first`);
    }
    return (this._instance ?? defaultInstance()).assertOpen();
  }

  /** True once the file is in the registry. */
  get isSaved(): boolean {
    return this._saved;
  }

  /**
   * lamindb's name for {@linkcode File.id} (its records' public id is
   * `uid`).
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const artifact = await new ln.Artifact(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * console.assert((await ln.Artifact.get(artifact.uid)).id === artifact.id);
   * await ln.close();
   * ```
   */
  get uid(): string {
    return this.id;
  }

  /**
   * lamindb's name for {@linkcode File.inputOf} (`artifact.input_of_runs`):
   * the runs that read this file.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * const run = await ln.track({ name: "reader" });
   * await file.cache();
   * console.assert((await file.inputOfRuns.all())[0].id === run.id);
   * await ln.finish();
   * await ln.close();
   * ```
   */
  get inputOfRuns(): RelatedManager<Run> {
    return this.inputOf;
  }

  /**
   * Hash, deduplicate, copy if needed, and register. Resolves to this file,
   * which becomes the existing record if identical content was registered
   * before (a log line says so). Large objects show progress on a
   * terminal or in a notebook; `onProgress` hears every phase.
   *
   * On a saved file, writes its `name`, `description` and `version` where
   * they were changed (as lamindb's `save()` of an edited record); its
   * `key` does not change this way (a `ValidationError`, nothing written).
   *
   * @example Describe a saved file
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * file.description = "first letter";
   * await file.save();
   * console.assert((await ln.File.get({ key: "a.txt" })).description === "first letter");
   * await ln.close();
   * ```
   */
  async save(options: SaveOptions = {}): Promise<this> {
    checkOptions(options, "save");
    // Checked again: the fields may have been changed since construction.
    if (!this._saved) {
      for (const field of ["name", "description", "version"] as const) {
        this[field] = optionalText("File", field, this[field]);
      }
    }
    await saveFiles(this._instance ??= defaultInstance(), [this], {
      onProgress: options.onProgress,
    });
    return this;
  }

  /** Where the object is: an absolute local path, or `s3://bucket/key`. */
  path(): string {
    if (!this.storageId) {
      throw new ValidationError(`file ${this.id} is not saved yet; call save() before path()`);
    }
    return this._inst.backendFor(this.storageId).uri(this._objectKey);
  }

  /**
   * A local path to the object (for cloud files, a cached copy). Links the
   * file as an input of the tracked run unless `isRunInput` is `false`.
   */
  async stage(options: StageOptions = {}): Promise<string> {
    checkOptions(options, "stage", ["isRunInput", "onProgress"]);
    const local = await objectOnDisk(this, { phase: "stage", onProgress: options.onProgress });
    await linkRunInput(this._inst, this, options.isRunInput);
    return local;
  }

  /**
   * lamindb 1.x's name for {@linkcode File.stage}: a local path to the
   * object (for cloud files, a cached copy, refreshed when stale).
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * console.assert((await file.cache()) === (await file.stage()));
   * await ln.close();
   * ```
   */
  async cache(options: StageOptions = {}): Promise<string> {
    return await this.stage(options);
  }

  /**
   * Where this file came from: the run that saved it, that run's transform
   * and input files, their runs, and so on upstream, as a
   * {@linkcode Lineage} (`.svg`, `.dot`). A notebook cell ending in it
   * shows the graph.
   */
  async viewLineage(): Promise<Lineage> {
    this.path(); // saved?
    const { lineageDot, renderLineage } = await import("./lineage.ts");
    return await renderLineage(await lineageDot(this));
  }

  /**
   * A {@linkcode LazyDataFrame} to write `stream()` queries with:
   * `df.cell_type.isin([...])`. Columns are checked against the file's obs
   * (for `subsetObs`) or var (for `subsetVar`) when the query runs.
   */
  subsetter(): LazyDataFrame {
    return new LazyDataFrame();
  }

  /**
   * Open an `.h5ad` or `.zarr` AnnData without reading it: obs/var load on
   * first use, `X.get(rows, cols)` and layers read only what is asked,
   * `toMemory()` reads all (or a query's subset). `io` counts the bytes
   * read. Close it when done.
   */
  async backed(options: BackedOptions = {}): Promise<BackedAnnData> {
    await BackedOptionsSchema.parse(options);
    const backed = await openBacked(this);
    await linkRunInput(this._inst, this, options.isRunInput);
    return backed;
  }

  /**
   * The AnnData subset that `subsetObs` / `subsetVar` select, reading only
   * the columns the queries name and the parts of X, layers, obsm/varm and
   * obsp/varp that hold the selection (`.h5ad` and `.zarr`), and `raw`'s
   * X rows with all of raw's var, as anndata's backed subset has them. Rows
   * stay in file order; uns is read whole. As in anndata's subset, a
   * categorical column keeps only the categories the subset uses (and
   * scanpy's `uns["<col>_colors"]` theirs). Only what is asked for is read:
   * `obsColumns`, `varColumns`, `layers`, `obsm` (`false`: none), `X` and
   * `raw` (`false`: none) default to all; an unknown name is a
   * `ColumnNotFoundError` listing the known ones, before any data is read.
   * Pass `io` to receive the bytes read and requests made.
   */
  async stream(options: StreamOptions = {}): Promise<AnnData> {
    return await streamFile(this, options);
  }

  /**
   * Out of core: the rows `subsetObs` selects as AnnData batches of up to
   * `batchSize` rows, in row order (`for await (const b of
   * file.batches({ batchSize: 10_000 }))`). Each batch reads only its rows
   * of obs, X, layers, obsm and obsp; var, varm, varp and uns are read once
   * and shared; a categorical column keeps all its categories (the same in
   * every batch). Takes every `stream()` option; `batchSize <= 0` is a
   * `ValidationError` at once, unknown names a `ColumnNotFoundError` on the
   * first batch, before any data is read. `io` grows as batches are read.
   */
  batches(options: BatchOptions): AsyncIterable<AnnData> {
    return fileBatches(this, options);
  }

  /**
   * Open without reading: a table (`.parquet`, `.ipc`/`.feather`/`.arrow`,
   * `.csv`/`.tsv`) as a polars `LazyFrame` (a scan: filters and column
   * selections are pushed down to the reader; `collect()` runs it); an
   * `.h5ad`/`.zarr` AnnData as a {@linkcode BackedAnnData} (as `backed()`).
   * Tables on S3 are scanned from a cached local copy, fetched whole once
   * and reused while its size and entity tag match the object's (not by
   * range reads).
   */
  async open(options: BackedOptions = {}): Promise<LazyFrame | BackedAnnData> {
    await BackedOptionsSchema.parse(options);
    const opened = await openTable(this) ?? await openBacked(this);
    await linkRunInput(this._inst, this, options.isRunInput);
    return opened;
  }

  /**
   * The in-memory object for this file's format, typed by `as`
   * (`load({ as: "anndata" })` is an `AnnData`; without `as`, a
   * {@linkcode LoadResult} to narrow with `instanceof`). Formats without one
   * (`.fastq`, `.vcf`, ... and unknown suffixes) throw
   * `NoInMemoryRepresentationError`.
   */
  load(options?: LoadOptions & { as?: undefined }): Promise<LoadResult>;
  /** The in-memory object as `as` says (else `UnsupportedFormatError`). */
  load<K extends LoadAs>(options: LoadOptions & { as: K }): Promise<LoadTypes[K]>;
  async load(options: LoadOptions = {}): Promise<LoadResult> {
    return await loadFile(this, options);
  }

  /**
   * Replace the content (same id): the old content is gone afterwards. To
   * keep history, save a new version instead (`new ln.File(data, { key })`
   * or `{ revises: file }`; see {@linkcode File.versions}). The new object
   * is verified and moved into place, then the row is updated (new hash,
   * size, `updatedAt`); an old object at another key is removed only after
   * that commit.
   */
  async replace(data: FileData, options: ReplaceOptions = {}): Promise<this> {
    if (!this._saved) {
      throw new ValidationError(`file ${this.id} is not saved yet; call save() before replace()`);
    }
    checkKnownOptions("file.replace(data, options)", options, ["run", "format"]);
    if (options.run !== undefined && !(options.run instanceof Run)) {
      throw new ValidationError("run must be a Run record");
    }
    if (options.format !== undefined && typeof options.format !== "string") {
      throw new ValidationError(`format must be a string like "csv", got ${typeof options.format}`);
    }
    if (options.run !== undefined) {
      await assertSaved(this._inst.db, "run", [options.run.id], "file.replace(data, { run })");
    }
    await replaceFile(this._inst, this, toInput(data, options.format), options.run);
    return this;
  }

  /**
   * Every version of this file (the files whose ids share its first 16
   * characters, lamindb's scheme), oldest first: the latest is last. A
   * query, as lamindb's `versions`: await it, or ask `last()`, `df()`,
   * `filter()` ... (ids in code point order on every database; lamindb's
   * lists newest first, so its `first()` is this `last()`). The
   * key's path holds the latest; older objects moved to `.lamindb/` and
   * still load, stream and show in lineage. `get`/`filter` return latest
   * versions unless the where names `isLatest`, an `id` or a `hash`.
   *
   * @example Two versions under one key
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const v1 = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * const v2 = await new ln.File(new TextEncoder().encode("b"), { key: "a.txt" }).save();
   * const versions = await v2.versions();
   * console.assert(versions.map((f) => f.id).join() === [v1.id, v2.id].join());
   * console.assert((await ln.File.get({ key: "a.txt" })).id === v2.id);
   * await ln.close();
   * ```
   */
  versions(): Query<File> {
    // A version family: ids sharing a stem (lamindb's `versions`, a query by stem uid).
    if (!this._saved) {
      return Query.of("File", [this], `file ${this.id} is not saved: its versions are itself`);
    }
    const stem = this.id.slice(0, STEM_LENGTH);
    return Query.defer(
      "File",
      () => FILES(this._inst).filter({ id: { startsWith: stem } }, { orderBy: "id" }),
    );
  }

  /**
   * Delete the record, its links and, when lamindeno manages it, the
   * object, for good: unlike lamindb, there is no trash (`{ permanent:
   * false }` is a `ValidationError`). Deleting the latest version makes the
   * previous one latest.
   *
   * @example Delete a file; asking for the trash deletes nothing
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const f = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * await f.delete({ permanent: false }).catch((e) => console.assert(e.name === "ValidationError"));
   * console.assert(await ln.File.filter({ key: "a.txt" }).exists());
   * await f.delete();
   * console.assert(!(await ln.File.filter({ key: "a.txt" }).exists()));
   * await ln.close();
   * ```
   */
  async delete(options: DeleteOptions = {}): Promise<void> {
    checkDeleteOptions("File", options);
    if (!this._saved) throw new ValidationError(`file ${this.id} is not saved; nothing to delete`);
    await deleteFile(this._inst, this);
  }

  /**
   * @internal An `IntegrityError` when a collection holds this file (which
   * `delete()` refuses): a query's `delete()` asks every record first.
   */
  async _checkDeletable(files: readonly File[]): Promise<void> {
    const saved = files.filter((f) => f._saved);
    if (saved.length) await checkInNoCollection(this._inst.db, saved.map((f) => f.id));
  }

  /** At a glance: fields, storage, transform, run, readers, labels, features (a {@linkcode Description}). */
  async describe(): Promise<Description> {
    return await (await import("./_describe.ts")).describeFile(this);
  }

  /**
   * The file with this id, or the one matching `where` (e.g. `{ key }`;
   * latest versions only unless it names `isLatest`, an `id` or a `hash`).
   * The 16-character stem of an id (lamindb's stem uid) gives the latest
   * version of that family.
   *
   * @example By key, by id, by stem
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const v1 = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * const v2 = await new ln.File(new TextEncoder().encode("b"), { revises: v1 }).save();
   * console.assert((await ln.File.get({ key: "a.txt" })).id === v2.id);
   * console.assert((await ln.File.get(v1.id)).id === v1.id && !v1.isLatest);
   * console.assert((await ln.File.get(v1.id.slice(0, 16))).id === v2.id);
   * await ln.close();
   * ```
   */
  static async get(idOrWhere: string | Where): Promise<File> {
    return await FILES(defaultInstance()).get(idOrWhere);
  }

  /** Files matching `where` (`{}` for all), e.g. `{ suffix: ".h5ad" }`. */
  static filter(where: Where = {}, options: QueryOptions = {}): Query<File> {
    return Query.defer("File", () => FILES(defaultInstance()).filter(where, options));
  }

  /** The matching records as a polars DataFrame, newest first, at most 100 (as `Query.df()`). */
  static df(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return File.filter(where, options).df();
  }

  /**
   * lamindb's name for {@linkcode File.df} (`Artifact.to_dataframe()`, lamindb 1.11
   * and later): the matching files as a polars DataFrame, newest first, at
   * most 100 unless `options` order or limit them.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * console.assert((await ln.Artifact.toDataFrame()).height === 1);
   * console.assert((await ln.Artifact.toDataFrame({ suffix: ".csv" })).height === 0);
   * await ln.close();
   * ```
   */
  static toDataFrame(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return File.df(where, options);
  }

  /**
   * Files whose name, key or description match the words of `query`, best
   * first (default: the 20 best): every word must match a word of the file
   * exactly, as a prefix, or, from 4 letters on, with one typo; case is
   * ignored; name matches rank above key matches above description matches.
   *
   * @example Find a file by the words of its description, despite a typo
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const f = await new ln.File(new TextEncoder().encode("x"), {
   *   key: "pbmc/donor1.csv", description: "T cell atlas of blood",
   * }).save();
   * console.assert((await ln.File.search("t cell atlsa"))[0].id === f.id);
   * console.assert((await ln.File.search("PBMC donor").count()) === 1);
   * await ln.close();
   * ```
   */
  static search(query: string, options?: SearchOptions): Query<File> {
    return searchQuery(
      "File",
      "file",
      defaultInstance,
      query,
      options,
      FILES_BY_IDS,
      FILE_MODEL as never,
    );
  }

  /** Query the files of another instance (from `ln.connect()`). */
  static using(instance: Instance): Queries<File> {
    return FILES(instance);
  }

  /** A short description, e.g. for logs. */
  toString(): string {
    return `File(id=${this.id}, key=${this.key ?? "null"}, suffix=${
      this.suffix || '""'
    }, size=${this.size}, hash=${this.hash}${describe(this.description)})`;
  }
}

showRecords(File);

/**
 * lamindb 1.x's name for {@linkcode File} (lamindb renamed `File` to
 * `Artifact`): the same class, so `new ln.Artifact(data, { key })`,
 * `ln.Artifact.get()`, `ln.Artifact.filter()`, `artifact.cache()` and
 * `instanceof ln.File` behave exactly as with `ln.File`. Records, tables
 * and messages call it a file.
 *
 * @example Code written for lamindb 1.x
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const bytes = new TextEncoder().encode("gene,count\nCD4,3\n");
 * const artifact = await new ln.Artifact(bytes, { key: "counts.csv", description: "qc" }).save();
 * console.assert(artifact instanceof ln.File);
 * console.assert((await ln.Artifact.get({ key: "counts.csv" })).id === artifact.id);
 * console.assert((await ln.Artifact.filter({ description: "qc" }).count()) === 1);
 * await ln.close();
 * ```
 */
export const Artifact: typeof File = File;
/** A {@linkcode File} record, by lamindb 1.x's name (see the value `Artifact`). */
export type Artifact = File;

const FILES_BY_IDS = (inst: Instance, ids: string[]) => FILES(inst).byIds(ids);
