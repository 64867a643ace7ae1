import { basename, relative, resolve, sep } from "node:path";
import { ValidationError } from "../errors.ts";
import { instance } from "../_state.ts";
import { validateKey, validateUserKey } from "../storage/key.ts";
import { newId } from "../_ids.ts";
import {
  anyDb,
  date,
  linkManager,
  nowIso,
  type RelatedManager,
  rowsByIds,
  selectOne,
  selectRows,
  str,
  type Where,
} from "./_record.ts";
import { statSource, walk } from "./_source.ts";
import { saveFiles } from "./_save.ts";
import { File } from "./file.ts";

const COLUMNS = [
  "id",
  "name",
  "key",
  "storage_id",
  "created_at",
  "updated_at",
  "created_by_id",
] as const;

/** Options of `new ln.Folder(dir, options)`. */
export interface FolderOptions {
  /** Name; defaults to the folder's base name. */
  name?: string;
  /** For a folder outside the storage root: copy its files to `{key}/{relative path}`. */
  key?: string;
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

  /** A new, unsaved folder from a local directory (no I/O). */
  constructor(dir: string, options: FolderOptions = {}) {
    if (typeof dir !== "string" || dir === "") {
      throw new ValidationError("new Folder(dir) takes the path of a local folder");
    }
    if (options.key !== undefined) validateUserKey(options.key);
    const now = new Date();
    this._dir = resolve(dir);
    this.id = newId("folder");
    this.name = options.name ?? basename(this._dir);
    this.key = options.key ?? null;
    this.storageId = null;
    this.createdAt = now;
    this.updatedAt = now;
    this.createdById = null;
    this.files = filesManager(this);
  }

  /** @internal */
  static fromRow(row: Record<string, unknown>): Folder {
    const f = Object.create(Folder.prototype) as Folder;
    f.id = String(row.id);
    f.name = String(row.name);
    f.key = str(row.key);
    f.storageId = String(row.storage_id);
    f.createdAt = date(row.created_at);
    f.updatedAt = date(row.updated_at);
    f.createdById = String(row.created_by_id);
    f._dir = undefined;
    f._saved = true;
    // deno-lint-ignore no-explicit-any
    (f as any).files = filesManager(f);
    return f;
  }

  /** Register every file beneath the folder and link them to it. */
  async save(): Promise<this> {
    if (this._saved) return this;
    const inst = instance();
    const dir = this._dir!;
    const st = statSource(dir);
    if (!st.isDirectory) throw new ValidationError(`${dir} is not a folder`);
    const root = inst.backend.localPath("x") ? resolve(inst.backend.root) : undefined;
    const real = await Deno.realPath(dir);
    const inRoot = root !== undefined && real.startsWith(root + sep);
    const relDir = inRoot ? relative(root!, real).split(sep).join("/") : undefined;
    if (relDir !== undefined) validateKey(relDir);
    this.key = this.key ?? relDir ?? null;
    const entries = await walk(real);
    const files = entries.map(({ rel, path }) =>
      new File(path, inRoot || this.key === null ? {} : { key: `${this.key}/${rel}` })
    );
    const now = nowIso();
    await anyDb().insertInto("folder").values({
      id: this.id,
      name: this.name,
      key: this.key,
      storage_id: inst.storage.id,
      created_at: now,
      updated_at: now,
      created_by_id: inst.user.id,
    }).execute();
    try {
      await saveFiles(files, { folderId: this.id });
    } catch (e) {
      await anyDb().deleteFrom("folder_file").where("folder_id", "=", this.id).execute();
      await anyDb().deleteFrom("folder").where("id", "=", this.id).execute();
      throw e;
    }
    this.storageId = inst.storage.id;
    this.createdById = inst.user.id;
    this._saved = true;
    return this;
  }

  /** The folder with this id, or matching `where`. */
  static async get(idOrWhere: string | Where): Promise<Folder> {
    return Folder.fromRow(await selectOne("folder", COLUMNS, idOrWhere, "Folder"));
  }

  /** Folders matching `where` (`{}` for all). */
  static async filter(where: Where = {}): Promise<Folder[]> {
    return (await selectRows("folder", COLUMNS, where, "Folder")).map(Folder.fromRow);
  }

  /** @internal */
  static async byIds(ids: string[]): Promise<Folder[]> {
    return (await rowsByIds("folder", ids)).map(Folder.fromRow);
  }
}

function filesManager(f: Folder): RelatedManager<File> {
  const id = () => {
    if (!f._saved) throw new ValidationError(`folder ${f.id} is not saved yet; call save() first`);
    return f.id;
  };
  return linkManager("folder_file", "folder_id", id, "file_id", (ids) => File.byIds(ids));
}
