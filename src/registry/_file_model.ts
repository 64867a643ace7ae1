// The File record's table mapping and its queries (related records joined).
import { valuesFilter } from "./_file_values.ts";
import type { Model, Queries, Row, Where } from "./_model.ts";
import { date, queries } from "./_model.ts";
import { managers } from "./_file_managers.ts";
import { File } from "./file.ts";
import type { Instance } from "./instance.ts";
import { RUNS } from "./run.ts";
import { RUN_MODEL } from "./run.ts";
import { STORAGE_MODEL } from "./storage_record.ts";
import { transformKey, transformsByKey } from "./transform.ts";
import { TRANSFORM_MODEL } from "./transform.ts";
import { USER_MODEL } from "./user.ts";
import { ULABEL_MODEL } from "./ulabel.ts";

/** The `file` table's mapping (the fields -> row half; `File._setRow` is the other). */
export const FILE_MODEL: Model<"file", File> = {
  table: "file",
  label: "File",
  fields: {
    id: "id",
    name: "name",
    description: "description",
    suffix: "suffix",
    size: "size",
    hash: "hash",
    hashType: "hash_type",
    key: "key",
    runId: "run_id",
    transformId: "transform_id",
    transformVersion: "transform_version",
    storageId: "storage_id",
    createdAt: "created_at",
    updatedAt: "updated_at",
    createdById: "created_by_id",
    version: "version",
    isLatest: "is_latest",
  },
  types: { isLatest: "boolean" },
  scope: latestUnlessAsked,
  relations: {
    run: { column: "run_id", target: () => RUN_MODEL as never },
    transform: { column: "transform_id", target: () => TRANSFORM_MODEL as never },
    storage: { column: "storage_id", target: () => STORAGE_MODEL as never },
    createdBy: { column: "created_by_id", target: () => USER_MODEL as never },
  },
  bytewise: ["key"],
  customFilters: { features: valuesFilter as never },
  links: {
    ulabels: {
      table: "file_ulabel",
      self: "file_id",
      other: "ulabel_id",
      target: () => ULABEL_MODEL as never,
    },
  },
  fromRow: (row, inst) => File.fromRow(row, inst),
  toRow: (f) => ({
    id: f.id,
    name: f.name,
    description: f.description,
    suffix: f.suffix,
    size: f.size!,
    hash: f.hash!,
    hash_type: f.hashType!,
    key: f.key,
    managed: f._managed,
    is_dir: f._isDir,
    run_id: f.runId,
    transform_id: f.transformId,
    transform_version: f.transformVersion,
    storage_id: f.storageId!,
    created_at: f.createdAt.toISOString(),
    updated_at: f.updatedAt.toISOString(),
    created_by_id: f.createdById!,
    version: f.version,
    is_latest: f.isLatest ? 1 : 0,
    key_is_virtual: f._keyIsVirtual,
  }),
};

/** A where value of `isLatest` that matches every version. */
export const ANY_VERSION: boolean[] = [true, false];

/**
 * `get`/`filter` see latest versions only, unless the where names the
 * version (`isLatest`), an `id` or a `hash` (which pick records themselves);
 * the scope of File and Collection.
 */
export function latestUnlessAsked(where: Where): Where {
  for (const k of ["isLatest", "id", "hash"]) if (Object.hasOwn(where, k)) return where;
  return { ...where, isLatest: true };
}

/** Files from rows, with run, transform, storage and createdBy joined (a fixed number of queries). */
async function hydrate(inst: Instance, rows: Row<"file">[]): Promise<File[]> {
  const files = rows.map((r) => File.fromRow(r, inst));
  const ids = (k: "runId" | "storageId" | "createdById") =>
    files.map((f) => f[k]).filter((v): v is string => !!v);
  const db = inst.db;
  const distinct = (xs: string[]) => [...new Set(xs)];
  const [runs, storages, users, transforms] = await Promise.all([
    RUNS(inst).byIds(ids("runId")),
    distinct(ids("storageId")).length
      ? db.selectFrom("storage").selectAll().where("id", "in", distinct(ids("storageId"))).execute()
      : [],
    distinct(ids("createdById")).length
      ? db.selectFrom("user").selectAll().where("id", "in", distinct(ids("createdById"))).execute()
      : [],
    transformsByKey(inst, files.filter((f) => !f.runId)),
  ]);
  const runById = new Map(runs.map((r) => [r.id, r]));
  const storageById = new Map(storages.map((r) => [r.id, STORAGE_MODEL.fromRow(r, inst)]));
  for (const s of storageById.values()) inst.mount(s);
  const userById = new Map(users.map((r) => [r.id, USER_MODEL.fromRow(r, inst)]));
  for (const f of files) {
    f.run = f.runId ? runById.get(f.runId) : undefined;
    f.storage = f.storageId ? storageById.get(f.storageId) : undefined;
    f.createdBy = f.createdById ? userById.get(f.createdById) : undefined;
    f.transform = f.run?.transform ??
      (f.transformId && f.transformVersion
        ? transforms.get(transformKey(f.transformId, f.transformVersion))
        : undefined);
  }
  return files;
}

/** @internal Queries of files (related records joined). */
export const FILES: (inst: Instance) => Queries<File> = queries(FILE_MODEL, hydrate);

/** A file takes the fields of its registry row: the row -> fields half of the mapping. */
export function setFileRow(f: File, row: Row<"file">, inst: Instance): void {
  f.id = row.id;
  f.name = row.name;
  f.description = row.description ?? null;
  f.suffix = row.suffix;
  f.size = Number(row.size);
  f.hash = row.hash;
  f.hashType = row.hash_type;
  f.key = row.key;
  f.runId = row.run_id;
  f.transformId = row.transform_id;
  f.transformVersion = row.transform_version;
  f.storageId = row.storage_id;
  f.createdAt = date(row.created_at);
  f.updatedAt = date(row.updated_at);
  f.createdById = row.created_by_id;
  f._managed = row.managed;
  f._isDir = row.is_dir;
  f.version = row.version ?? null;
  f.isLatest = row.is_latest !== 0;
  f._keyIsVirtual = row.key_is_virtual ?? 0;
  f._saved = true;
  f._instance = inst;
}

/** A saved File from its row (related records are joined by the caller). */
export function fileFromRow(row: Row<"file">, inst: Instance): File {
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
