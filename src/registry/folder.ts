import * as rt from "../_runtime.ts";
import { basename, relative, resolve, sep } from "node:path";
import { InvalidKeyError, ValidationError } from "../errors.ts";
import { isManagedKey, validateKey, validateUserKey } from "../storage/key.ts";
import { newId } from "../_ids.ts";
import {
  date,
  linkManager,
  type Model,
  nowIso,
  type Queries,
  queries,
  Query,
  type QueryOptions,
  type RelatedManager,
  type Row,
  type Where,
} from "./_model.ts";
import type { DataFrame } from "../formats/tables.ts";
import { showRecords } from "./_display.ts";
import { defaultInstance, type Instance } from "./instance.ts";
import { retryBusy } from "./_db_errors.ts";
import { statPath, walk } from "./_input.ts";
import { realOr, refuseRootOrAbove, saveFiles } from "./_save.ts";
import { File } from "./file.ts";
import { FILES } from "./_file_model.ts";
import { STORAGE_MODEL } from "./storage_record.ts";
import { USER_MODEL } from "./user.ts";
import { optionalText, requiredText, validateDescription } from "./_description.ts";
import { checkKnownOptions } from "../storage/_validate.ts";

/** Options of `new ln.Folder(dir, options)`. */
export interface FolderOptions {
  /** Name; defaults to the folder's base name. */
  name?: string;
  /** For a folder outside the storage root: copy its files to `{key}/{relative path}`. */
  key?: string;
  /** Free text: what the folder holds. */
  description?: string;
}

/**
 * A named set of files. `save()` registers every file beneath a local
 * folder (in place inside the storage root, copied otherwise) in one
 * registry transaction, and links them to the folder.
 *
 * @example Register a folder of files
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/raw`);
 * await Deno.writeTextFile(`${root}/raw/a.csv`, "x\n1\n");
 * await Deno.writeTextFile(`${root}/raw/b.csv`, "x\n2\n");
 * await ln.init({ storage: root });
 * const folder = await new ln.Folder(`${root}/raw`).save();
 * console.assert((await folder.files.all()).length === 2);
 * await ln.close();
 * ```
 */
export class Folder {
  /** 20-character base62 id. */
  id: string;
  /** Name. */
  name: string;
  /** Free text, or `null`. */
  description: string | null;
  /** Key of the folder inside the storage root, when it has one. */
  key: string | null;
  /** Id of the storage root. */
  storageId: string | null;
  /** When it was registered. */
  createdAt: Date;
  /** When it was last changed. */
  updatedAt: Date;
  /** Id of the user who registered it. */
  createdById: string | null;
  /** Files of the folder. */
  readonly files: RelatedManager<File>;
  /** @internal */ _dir: string | undefined;
  /** @internal */ _saved = false;
  /** @internal The instance it was read from or saved to. */ _instance: Instance | undefined;

  /** A new, unsaved folder from a local directory (no I/O). */
  constructor(dir: string, options: FolderOptions = {}) {
    if (typeof dir !== "string" || dir === "") {
      throw new ValidationError("new Folder(dir) takes the path of a local folder");
    }
    checkKnownOptions("new ln.Folder(dir, options)", options, ["name", "key", "description"]);
    if (options.key !== undefined) validateUserKey(options.key);
    const description = validateDescription("Folder", options.description);
    const name = options.name === undefined
      ? undefined
      : requiredText("Folder", "name", options.name);
    const now = new Date();
    this._dir = resolve(dir);
    this.id = newId("folder");
    this.name = name ?? basename(this._dir);
    this.description = description;
    this.key = options.key ?? null;
    this.storageId = null;
    this.createdAt = now;
    this.updatedAt = now;
    this.createdById = null;
    this.files = filesManager(this);
  }

  /** @internal From a registry row. */
  static fromRow(row: Row<"folder">, inst: Instance): Folder {
    const f = Object.create(Folder.prototype) as Folder;
    f.id = row.id;
    f.name = row.name;
    f.description = row.description ?? null;
    f.key = row.key;
    f.storageId = row.storage_id;
    f.createdAt = date(row.created_at);
    f.updatedAt = date(row.updated_at);
    f.createdById = row.created_by_id;
    f._dir = undefined;
    f._saved = true;
    f._instance = inst;
    // deno-lint-ignore no-explicit-any
    (f as any).files = filesManager(f);
    return f;
  }

  /** Register every file beneath the folder and link them to it. */
  async save(): Promise<this> {
    if (this._saved) return this;
    const inst = (this._instance ??= defaultInstance()).assertOpen();
    // Checked again: the fields may have been changed since construction.
    requiredText("Folder", "name", this.name);
    this.description = optionalText("Folder", "description", this.description);
    if (this.key !== null) validateUserKey(this.key);
    const dir = this._dir!;
    const st = statPath(dir);
    if (!st.isDirectory) throw new ValidationError(`${dir} is not a folder`);
    const root = inst.backend.localPath("x") ? realOr(inst.backend.root) : undefined;
    const real = await rt.realPath(dir);
    if (root !== undefined) refuseRootOrAbove(dir, real, root);
    const inRoot = root !== undefined && real.startsWith(root + sep);
    const relDir = inRoot ? relative(root!, real).split(sep).join("/") : undefined;
    if (relDir !== undefined && isManagedKey(validateKey(relDir))) {
      throw new InvalidKeyError(
        `cannot register ${dir}: it is ${real}, inside the managed ".lamindb/" folder; ` +
          `register folders outside it`,
      );
    }
    this.key = this.key ?? relDir ?? null;
    const entries = await walk(real);
    const files = entries.map(({ rel, path }) =>
      new File(path, {
        instance: inst,
        ...(inRoot || this.key === null ? {} : { key: `${this.key}/${rel}` }),
      })
    );
    const now = new Date(nowIso());
    Object.assign(this, {
      storageId: inst.storage.id,
      createdById: inst.user.id,
      createdAt: now,
      updatedAt: now,
    });
    await retryBusy(() => inst.db.insertInto("folder").values(FOLDER_MODEL.toRow(this)).execute());
    try {
      await saveFiles(inst, files, { folderId: this.id });
    } catch (e) {
      await retryBusy(() =>
        inst.db.transaction().execute(async (trx) => {
          await trx.deleteFrom("folder_file").where("folder_id", "=", this.id).execute();
          await trx.deleteFrom("folder").where("id", "=", this.id).execute();
        })
      );
      this.storageId = this.createdById = null;
      throw e;
    }
    this._saved = true;
    return this;
  }

  /** The folder with this id, or matching `where`. */
  static async get(idOrWhere: string | Where): Promise<Folder> {
    return await FOLDERS(defaultInstance()).get(idOrWhere);
  }

  /** Folders matching `where` (`{}` for all). */
  static filter(where: Where = {}, options: QueryOptions = {}): Query<Folder> {
    return Query.defer("Folder", () => FOLDERS(defaultInstance()).filter(where, options));
  }

  /** The matching records as a polars DataFrame, newest first, at most 100 (as `Query.df()`). */
  static df(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Folder.filter(where, options).df();
  }

  /**
   * lamindb's name for {@linkcode Folder.df} (`Folder.to_dataframe()`, lamindb 1.11
   * and later): the matching folders as a polars DataFrame, newest first, at
   * most 100 unless `options` order or limit them.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * console.assert((await ln.Folder.toDataFrame()).height === 0);
   * await ln.close();
   * ```
   */
  static toDataFrame(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Folder.df(where, options);
  }

  /** Query the folders of another instance (from `ln.connect()`). */
  static using(instance: Instance): Queries<Folder> {
    return FOLDERS(instance);
  }
}

showRecords(Folder);

/** The `folder` table's mapping. */
export const FOLDER_MODEL: Model<"folder", Folder> = {
  table: "folder",
  label: "Folder",
  fields: {
    id: "id",
    name: "name",
    description: "description",
    key: "key",
    storageId: "storage_id",
    createdAt: "created_at",
    updatedAt: "updated_at",
    createdById: "created_by_id",
  },
  relations: {
    storage: { column: "storage_id", target: () => STORAGE_MODEL as never },
    createdBy: { column: "created_by_id", target: () => USER_MODEL as never },
  },
  fromRow: Folder.fromRow,
  toRow: (f) => ({
    id: f.id,
    name: f.name,
    description: f.description,
    key: f.key,
    storage_id: f.storageId!,
    created_at: f.createdAt.toISOString(),
    updated_at: f.updatedAt.toISOString(),
    created_by_id: f.createdById!,
  }),
};

/** @internal Queries of folders. */
export const FOLDERS: (inst: Instance) => Queries<Folder> = queries(FOLDER_MODEL);

function filesManager(f: Folder): RelatedManager<File> {
  const self = () => {
    if (!f._saved) throw new ValidationError(`folder ${f.id} is not saved yet; call save() first`);
    return { id: f.id, inst: f._instance! };
  };
  return linkManager(
    "folder_file",
    "folder_id",
    self,
    "file_id",
    (inst, ids) => FILES(inst).byIds(ids),
  );
}
