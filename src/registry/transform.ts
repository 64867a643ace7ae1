import { showValue } from "../_display.ts";
import { nameOrKey } from "./_lamindb_hint.ts";
import { ValidationError } from "../errors.ts";
import {
  date,
  type Model,
  nowIso,
  type Queries,
  queries,
  Query,
  type QueryOptions,
  type Row,
  type Where,
} from "./_model.ts";
import { defaultInstance, Instance } from "./instance.ts";
import { isId, newId } from "../_ids.ts";
import { USER_MODEL } from "./user.ts";
import { optionalText, storableText, validateDescription } from "./_description.ts";
import { checkKnownOptions } from "../storage/_validate.ts";
import type { DataFrame } from "../formats/tables.ts";
import type { Description } from "./description.ts";
import { showRecords } from "./_display.ts";
import { indexForSearch } from "./_search_index.ts";
import { type SearchOptions, searchQuery } from "./_search.ts";

/** Options of `new ln.Transform()`. */
export interface TransformOptions {
  /** The instance to save it in (default: the one `ln.init()` opened). */
  instance?: Instance;
  /** Human-readable name, e.g. the script's file name (required unless `key` is given). */
  name?: string;
  /**
   * lamindb 1.x's spelling of `name` (its transforms have a `key`): taken
   * as the name; given with a different `name`, a `ValidationError`.
   */
  key?: string;
  /** Version; default `"0"`. */
  version?: string;
  /** `"pipeline"` (default), `"script"` or `"notebook"`. */
  type?: "pipeline" | "script" | "notebook";
  /** Short name. */
  shortName?: string;
  /** Where the code lives (a path relative to the git root, a URL). */
  reference?: string;
  /** Id to reuse for a new version of an existing transform. */
  id?: string;
  /** Free text: what the code does. */
  description?: string;
}

/**
 * Code that makes files: a pipeline, a script or a notebook, versioned.
 * `(id, version)` identifies one version.
 *
 * @example Register a pipeline
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const t = await new ln.Transform({ name: "qc pipeline", version: "1" }).save();
 * console.assert((await ln.Transform.get({ id: t.id, version: "1" })).name === "qc pipeline");
 * await ln.close();
 * ```
 */
export class Transform {
  /** 12-character base62 id, shared by all versions. */
  id: string;
  /** Version string. */
  version: string;
  /** Name. */
  name: string;
  /** Short name. */
  shortName: string | null;
  /** Free text, or `null`. */
  description: string | null;
  /** `"pipeline"`, `"script"` or `"notebook"`. */
  type: string;
  /** Where the code lives. */
  reference: string | null;
  /** Hash of the code, when known. */
  hash: string | null;
  /** When the record was created (unsaved: the construction time). */
  createdAt: Date;
  /** When the record was last changed. */
  updatedAt: Date;
  /** Id of the user who created it. */
  createdById: string;
  /**
   * The script's text or the notebook's code cells, as `ln.track()` found
   * them when it made this version (`null` for pipelines and older
   * versions). See {@linkcode Transform.source}.
   */
  sourceCode: string | null;
  /** @internal The instance it was read from or is saved to. */ _instance: Instance | undefined;

  /** A new, unsaved transform (no I/O). */
  constructor(options: TransformOptions) {
    if (options === null || typeof options !== "object") {
      throw new ValidationError('new Transform() takes options like { name: "my pipeline" }');
    }
    checkKnownOptions("new ln.Transform(options)", options, TRANSFORM_OPTIONS);
    const name = nameOrKey("Transform", options);
    checkTransformFields({ ...options, name });
    if (options.instance !== undefined && !(options.instance instanceof Instance)) {
      throw new ValidationError("instance must be an Instance from ln.connect()");
    }
    if (options.id !== undefined && !isId("transform", options.id)) {
      throw new ValidationError(
        `a Transform id is 12 base62 characters, got ${showValue(options.id)}`,
      );
    }
    const now = new Date();
    this.id = options.id ?? newId("transform");
    this.version = options.version ?? "0";
    this.name = name as string;
    this.shortName = options.shortName ?? null;
    this.description = validateDescription("Transform", options.description);
    this.type = options.type ?? "pipeline";
    this.reference = options.reference ?? null;
    this.hash = null;
    this.createdAt = now;
    this.updatedAt = now;
    this.createdById = "";
    this.sourceCode = null;
    this._instance = options.instance;
  }

  /**
   * lamindb 1.x's name for {@linkcode Transform.name} (its transforms
   * have a `key`, such as the script's path); setting it sets the name.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const t = await new ln.Transform({ key: "qc.ts", type: "script" }).save();
   * console.assert(t.key === "qc.ts" && t.name === "qc.ts");
   * await ln.close();
   * ```
   */
  get key(): string {
    return this.name;
  }

  /** Sets the {@linkcode Transform.name} (lamindb 1.x's `key`). */
  set key(value: string) {
    this.name = value;
  }

  /** @internal Build from a registry row. */
  static fromRow(row: Row<"transform">, inst: Instance): Transform {
    const t = Object.create(Transform.prototype) as Transform;
    t.id = row.id;
    t.version = row.version;
    t.name = row.name;
    t.shortName = row.short_name;
    t.description = row.description ?? null;
    t.type = row.type;
    t.reference = row.reference;
    t.hash = row.hash;
    t.createdAt = date(row.created_at);
    t.updatedAt = date(row.updated_at);
    t.createdById = row.created_by_id;
    t.sourceCode = row.source_code;
    t._instance = inst;
    return t;
  }

  /**
   * Insert the transform (or update name/reference of an existing version;
   * its `sourceCode`, once stored, is kept).
   */
  async save(): Promise<this> {
    const inst = (this._instance ??= defaultInstance()).assertOpen();
    // Checked again: the fields may have been changed since construction.
    checkTransformFields(this);
    this.description = optionalText("Transform", "description", this.description);
    const now = nowIso();
    this.createdById ||= inst.user.id;
    const row = { ...TRANSFORM_MODEL.toRow(this), updated_at: now };
    await inst.db.transaction().execute(async (trx) => {
      await trx.insertInto("transform").values(row).onConflict((oc) =>
        oc.columns(["id", "version"]).doUpdateSet((eb) => ({
          name: this.name,
          short_name: this.shortName,
          reference: this.reference,
          hash: this.hash,
          description: this.description,
          updated_at: now,
          // Stored once per version: a source already there is kept.
          source_code: eb.fn.coalesce("transform.source_code", eb.ref("excluded.source_code")),
        }))
      ).execute();
      await indexForSearch(trx, "transform", [row]);
    });
    Object.assign(
      this,
      Transform.fromRow(
        await inst.db.selectFrom("transform").selectAll().where("id", "=", this.id)
          .where("version", "=", this.version).executeTakeFirstOrThrow(),
        inst,
      ),
    );
    return this;
  }

  /**
   * The code of this version as stored once when it was tracked: a
   * script's text, or a notebook's code cells (each after a `// %%` line);
   * `null` when none was stored (a pipeline, or a version made before
   * lamindeno kept sources).
   *
   * @example The source of a tracked script
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const t = await new ln.Transform({ name: "no code" }).save();
   * console.assert((await t.source()) === null);
   * await ln.close();
   * ```
   */
  async source(): Promise<string | null> {
    const inst = this._instance;
    if (this.sourceCode !== null || !inst) return this.sourceCode;
    const row = await inst.assertOpen().db.selectFrom("transform").select("source_code")
      .where("id", "=", this.id).where("version", "=", this.version).executeTakeFirst();
    return (this.sourceCode = row?.source_code ?? null);
  }

  /**
   * At a glance: fields, versions, its latest runs and the files they made
   * (see {@linkcode Description}: text in a terminal, HTML in a notebook).
   */
  async describe(): Promise<Description> {
    return await (await import("./_describe.ts")).describeTransform(this);
  }

  /** The transform matching an id (one version only) or a `where`. */
  static async get(idOrWhere: string | Where): Promise<Transform> {
    return await TRANSFORMS(defaultInstance()).get(idOrWhere);
  }

  /** Transforms matching `where` (`{}` for all), e.g. `{ type: "notebook" }`. */
  static filter(where: Where = {}, options: QueryOptions = {}): Query<Transform> {
    return Query.defer("Transform", () => TRANSFORMS(defaultInstance()).filter(where, options));
  }

  /** The matching records as a polars DataFrame, newest first, at most 100 (as `Query.df()`). */
  static df(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Transform.filter(where, options).df();
  }

  /**
   * lamindb's name for {@linkcode Transform.df} (`Transform.to_dataframe()`, lamindb 1.11
   * and later): the matching transforms as a polars DataFrame, newest first, at
   * most 100 unless `options` order or limit them.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await new ln.Transform({ name: "my pipeline" }).save();
   * console.assert((await ln.Transform.toDataFrame({ name: "my pipeline" })).height === 1);
   * await ln.close();
   * ```
   */
  static toDataFrame(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Transform.df(where, options);
  }

  /**
   * Transform versions whose name, short name or description match the
   * words of `query`, best first (as {@linkcode File.search}).
   *
   * @example Find a pipeline by a word of its description
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await new ln.Transform({ name: "qc.ts", description: "quality control" }).save();
   * console.assert((await ln.Transform.search("quality"))[0].name === "qc.ts");
   * await ln.close();
   * ```
   */
  static search(query: string, options?: SearchOptions): Query<Transform> {
    return searchQuery(
      "Transform",
      "transform",
      defaultInstance,
      query,
      options,
      async (inst, ids) => {
        const keys = ids.map((k) => {
          const at = k.indexOf("/");
          return { transformId: k.slice(0, at), transformVersion: k.slice(at + 1) };
        });
        const found = await transformsByKey(inst, keys);
        return keys.map((k) => found.get(transformKey(k.transformId, k.transformVersion)))
          .filter((t) => t !== undefined);
      },
      TRANSFORM_MODEL as never,
      {
        // Search ids are `id/version`: one table row per transform version.
        where: (ids) => ({
          or: ids.map((k) => {
            const at = k.indexOf("/");
            return { id: k.slice(0, at), version: k.slice(at + 1) };
          }),
        }),
        columns: ["id", "version"],
        idOf: ([id, version]) => `${id}/${version}`,
      },
    );
  }

  /** Query the transforms of another instance (from `ln.connect()`). */
  static using(instance: Instance): Queries<Transform> {
    return TRANSFORMS(instance);
  }
}

showRecords(Transform);

const TRANSFORM_OPTIONS = [
  "name",
  "key",
  "version",
  "type",
  "shortName",
  "reference",
  "id",
  "description",
  "instance",
] as const;

/** A `ValidationError` unless the text fields are what the registry can store. */
function checkTransformFields(
  t: { name: unknown; version?: unknown; type?: unknown; shortName?: unknown; reference?: unknown },
): void {
  if (typeof t.name !== "string" || t.name.trim() === "") {
    throw new ValidationError(
      `a Transform needs a non-empty \`name\` (a string), got ${showValue(t.name, 40)}`,
    );
  }
  storableText("Transform", "name", t.name);
  for (const field of ["version", "shortName", "reference"] as const) {
    const v = t[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" || (field === "version" && v.trim() === "")) {
      throw new ValidationError(
        `Transform ${field} is a ${field === "version" ? "non-empty " : ""}string, got ${
          showValue(v, 40)
        }`,
      );
    }
    storableText("Transform", field, v);
  }
  if (t.type !== undefined && !["pipeline", "script", "notebook"].includes(t.type as string)) {
    throw new ValidationError(
      `Transform type is "pipeline", "script" or "notebook", got ${showValue(t.type, 40)}`,
    );
  }
}

/** The `transform` table's mapping. */
export const TRANSFORM_MODEL: Model<"transform", Transform> = {
  table: "transform",
  label: "Transform",
  fields: {
    id: "id",
    version: "version",
    name: "name",
    shortName: "short_name",
    description: "description",
    type: "type",
    reference: "reference",
    hash: "hash",
    createdAt: "created_at",
    updatedAt: "updated_at",
    createdById: "created_by_id",
  },
  relations: {
    createdBy: { column: "created_by_id", target: () => USER_MODEL as never },
  },
  fromRow: Transform.fromRow,
  toRow: (t) => ({
    id: t.id,
    version: t.version,
    name: t.name,
    short_name: t.shortName,
    description: t.description,
    type: t.type,
    reference: t.reference,
    hash: t.hash,
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
    created_by_id: t.createdById,
    source_code: t.sourceCode,
  }),
};

/** @internal Queries of transforms. */
export const TRANSFORMS: (inst: Instance) => Queries<Transform> = queries(TRANSFORM_MODEL);

/** @internal Transforms by `(id, version)`, in one query. */
export async function transformsByKey(
  inst: Instance,
  keys: readonly { transformId: string | null; transformVersion: string | null }[],
): Promise<Map<string, Transform>> {
  const wanted = new Set(
    keys.filter((k) => k.transformId && k.transformVersion)
      .map((k) => transformKey(k.transformId!, k.transformVersion!)),
  );
  const ids = [...new Set(keys.map((k) => k.transformId).filter((x) => x !== null))];
  const out = new Map<string, Transform>();
  if (ids.length === 0) return out;
  for (const t of await TRANSFORMS(inst).filter({ id: ids })) {
    const k = transformKey(t.id, t.version);
    if (wanted.has(k)) out.set(k, t);
  }
  return out;
}

/** @internal The map key of a transform version. */
export function transformKey(id: string, version: string): string {
  return `${id}\0${version}`;
}
