import { basename } from "node:path";
import { ValidationError } from "../errors.ts";
import { loadObject, type LoadOptions } from "../formats/load.ts";
import { objectKey, suffixOf, validateUserKey } from "../storage/key.ts";
import { isId, newId } from "../_ids.ts";
import {
  date,
  linkManager,
  type Queries,
  Query,
  type QueryOptions,
  type RelatedManager,
  type Row,
  type Where,
} from "./_model.ts";
import { type FileData, type Input, inputName, inputSuffix, toInput } from "./_input.ts";
import { saveFiles } from "./_save.ts";
import { deleteFile, replaceFile } from "./_replace.ts";
import { linkRunInput } from "./_inputs.ts";
import { LazyDataFrame } from "../query/lazy_frame.ts";
import { Expression } from "../query/expr.ts";
import { streamAnnData } from "../query/stream.ts";
import type { BackedAnnData } from "../query/backed.ts";
import type { IoStats } from "../storage/counting.ts";
import type { AnnData } from "../formats/anndata/anndata.ts";
import { objectOnDisk, openBacked, openForRanges } from "./_file_open.ts";
import { FILES } from "./_file_model.ts";
import { type SearchOptions, searchQuery } from "./_search.ts";
import { type BackedOptions, BackedOptionsSchema, StreamOptionsSchema } from "./file_schemas.ts";
import { FEATURE_SETS, Features } from "./features.ts";
import { type Folder, FOLDERS } from "./folder.ts";
import { defaultInstance, Instance } from "./instance.ts";
import { Run, RUNS } from "./run.ts";
import { type ULabel, ulabelsManager } from "./ulabel.ts";
import { describe, validateDescription } from "./_description.ts";
import type { Storage } from "./storage_record.ts";
import type { Transform } from "./transform.ts";
import type { User } from "./user.ts";

export type { FileData } from "./_input.ts";

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
  /** Runs that read this file. */
  inputOf?: Run[];
  /** The instance to save it in (default: the one `ln.init()` opened). */
  instance?: Instance;
}

/** Options of `file.replace()`. */
export interface ReplaceOptions {
  /** The run that made the new version. */
  run?: Run;
  /** Serialization format for in-memory data. */
  format?: string;
}

/** Options of `file.stream()`. */
export interface StreamOptions {
  /** Which obs rows to read; all when omitted. */
  subsetObs?: Expression;
  /** Which var rows (columns of X) to read; all when omitted. */
  subsetVar?: Expression;
  /** Link the file as an input of the tracked run (default: `ln.settings.trackRunInputs`). */
  isRunInput?: boolean;
  /** Counters to add this call's bytes read and requests to. */
  io?: Pick<IoStats, "bytesRead" | "requests">;
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
  /** Feature sets of this file. */
  readonly features: RelatedManager<Features>;
  /** Folders that contain this file. */
  readonly folders: RelatedManager<Folder>;
  /** Labels of this file (`file.ulabels.add(label)`). */
  readonly ulabels: RelatedManager<ULabel>;

  /** @internal */ _input: Input | undefined;
  /** @internal */ _options: FileOptions;
  /** @internal 1 when lamindeno owns the object (it copied it). */ _managed = 1;
  /** @internal */ _isDir = 0;
  /** @internal */ _saved = false;
  /** @internal The instance it was read from or is saved to. */ _instance: Instance | undefined;

  /** A new, unsaved file from a local path, a `file:` URL or bytes (no I/O). */
  constructor(data: FileData, options: FileOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new ValidationError("new File(data, options): options must be an object");
    }
    const key = options.key === undefined ? undefined : validateUserKey(options.key);
    if (options.format !== undefined && typeof options.format !== "string") {
      throw new ValidationError(`format must be a string like "csv", got ${typeof options.format}`);
    }
    const source = toInput(data, options.format, key ? suffixOf(key) : "");
    if (options.id !== undefined && !isId("file", options.id)) {
      throw new ValidationError(`a File id is 20 base62 characters, got ${options.id}`);
    }
    if (options.name !== undefined && typeof options.name !== "string") {
      throw new ValidationError(`name must be a string, got ${typeof options.name}`);
    }
    const description = validateDescription("File", options.description);
    if (options.run !== undefined && !(options.run instanceof Run)) {
      throw new ValidationError("run must be a Run record");
    }
    if (options.instance !== undefined && !(options.instance instanceof Instance)) {
      throw new ValidationError("instance must be an Instance from ln.connect()");
    }
    for (const [opt, cls] of [["features", Features], ["inputOf", Run]] as const) {
      const v = options[opt];
      if (v !== undefined && (!Array.isArray(v) || v.some((x) => !(x instanceof cls)))) {
        throw new ValidationError(`${opt} must be an array of ${cls.name} records`);
      }
    }
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
    this.run = options.run;
    this.transform = options.run?.transform;
    this.storage = undefined;
    this.createdBy = undefined;
    this._input = source;
    this._options = options;
    this._instance = options.instance;
    [this.inputOf, this.features, this.folders, this.ulabels] = managers(this);
  }

  /** @internal From a registry row (related records are joined by the caller). */
  static fromRow(row: Row<"file">, inst: Instance): File {
    const f = Object.create(File.prototype) as File;
    f._setRow(row, inst);
    f._input = undefined;
    f._options = {};
    f.run =
      f.transform =
      f.storage =
      f.createdBy =
        undefined;
    // deno-lint-ignore no-explicit-any
    const m = f as any;
    [m.inputOf, m.features, m.folders, m.ulabels] = managers(f);
    return f;
  }

  /** @internal Take the fields of a registry row: the row -> fields half of the mapping. */
  _setRow(row: Row<"file">, inst: Instance): void {
    this.id = row.id;
    this.name = row.name;
    this.description = row.description ?? null;
    this.suffix = row.suffix;
    this.size = Number(row.size);
    this.hash = row.hash;
    this.hashType = row.hash_type;
    this.key = row.key;
    this.runId = row.run_id;
    this.transformId = row.transform_id;
    this.transformVersion = row.transform_version;
    this.storageId = row.storage_id;
    this.createdAt = date(row.created_at);
    this.updatedAt = date(row.updated_at);
    this.createdById = row.created_by_id;
    this._managed = row.managed;
    this._isDir = row.is_dir;
    this._saved = true;
    this._instance = inst;
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
    return objectKey(this);
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
   * Hash, deduplicate, copy if needed, and register. Resolves to this file,
   * which becomes the existing record if identical content was registered
   * before (a log line says so).
   */
  async save(): Promise<this> {
    await saveFiles(this._instance ??= defaultInstance(), [this]);
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
  async stage(options: { isRunInput?: boolean } = {}): Promise<string> {
    const local = await objectOnDisk(this);
    await linkRunInput(this._inst, this, options.isRunInput);
    return local;
  }

  /**
   * An SVG of where this file came from: the run that saved it, that run's
   * transform and input files, their runs, and so on upstream. In a
   * Jupyter notebook it is also displayed inline.
   */
  async viewLineage(): Promise<string> {
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
   * obsp/varp that hold the selection (`.h5ad` and `.zarr`). Rows stay in
   * file order; uns is read whole. Pass `io` to receive the bytes read and
   * requests made.
   */
  async stream(options: StreamOptions = {}): Promise<AnnData> {
    await StreamOptionsSchema.parse(options);
    const { src, io } = await openForRanges(this);
    let adata: AnnData;
    try {
      adata = await streamAnnData(src, {
        obs: options.subsetObs?.node,
        var: options.subsetVar?.node,
      });
    } finally {
      src.close();
    }
    if (options.io) {
      options.io.bytesRead += io.bytesRead;
      options.io.requests += io.requests;
    }
    await linkRunInput(this._inst, this, options.isRunInput);
    return adata;
  }

  /**
   * The in-memory object for this file's format. Formats without one
   * (`.fastq`, `.vcf`, ... and unknown suffixes) throw
   * `NoInMemoryRepresentationError`.
   */
  async load(options: LoadOptions = {}): Promise<unknown> {
    const path = this.path();
    if (options === null || typeof options !== "object") {
      throw new ValidationError("load(options): options must be an object");
    }
    const value = await loadObject(
      this._inst.backendFor(this.storageId!).localPath(this._objectKey)
        ? path
        : await objectOnDisk(this),
      this.suffix,
      options.as,
    );
    await linkRunInput(this._inst, this, options.isRunInput);
    return value;
  }

  /**
   * Replace the content (same id). The new object is verified and moved
   * into place, then the row is updated (new hash, size, `updatedAt`); an
   * old object at another key is removed only after that commit.
   */
  async replace(data: FileData, options: ReplaceOptions = {}): Promise<this> {
    if (!this._saved) {
      throw new ValidationError(`file ${this.id} is not saved yet; call save() before replace()`);
    }
    if (options.run !== undefined && !(options.run instanceof Run)) {
      throw new ValidationError("run must be a Run record");
    }
    if (options.format !== undefined && typeof options.format !== "string") {
      throw new ValidationError(`format must be a string like "csv", got ${typeof options.format}`);
    }
    await replaceFile(this._inst, this, toInput(data, options.format), options.run);
    return this;
  }

  /** Delete the record, its links and, when lamindeno manages it, the object. */
  async delete(): Promise<void> {
    if (!this._saved) throw new ValidationError(`file ${this.id} is not saved; nothing to delete`);
    await deleteFile(this._inst, this);
  }

  /** The file with this id, or the one matching `where` (e.g. `{ key }`). */
  static async get(idOrWhere: string | Where): Promise<File> {
    return await FILES(defaultInstance()).get(idOrWhere);
  }

  /** Files matching `where` (`{}` for all), e.g. `{ suffix: ".h5ad" }`. */
  static filter(where: Where = {}, options: QueryOptions = {}): Query<File> {
    return Query.defer("File", () => FILES(defaultInstance()).filter(where, options));
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
    return searchQuery("File", "file", defaultInstance, query, options, FILES_BY_IDS);
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

const FILES_BY_IDS = (inst: Instance, ids: string[]) => FILES(inst).byIds(ids);

function managers(
  f: File,
): [RelatedManager<Run>, RelatedManager<Features>, RelatedManager<Folder>, RelatedManager<ULabel>] {
  const self = () => ({ id: f.id, inst: f._inst });
  return [
    linkManager("run_input", "file_id", self, "run_id", (inst, ids) => RUNS(inst).byIds(ids)),
    linkManager(
      "file_features",
      "file_id",
      self,
      "features_id",
      (inst, ids) => FEATURE_SETS(inst).byIds(ids),
    ),
    linkManager(
      "folder_file",
      "file_id",
      self,
      "folder_id",
      (inst, ids) => FOLDERS(inst).byIds(ids),
    ),
    ulabelsManager("file_ulabel", "file_id", self),
  ];
}
