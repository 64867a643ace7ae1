import { ValidationError } from "../errors.ts";
import { instance } from "../_state.ts";
import { anyDb, date, nowIso, selectOne, selectRows, str, type Where } from "./_record.ts";
import { isId, newId } from "../_ids.ts";

const COLUMNS = [
  "id",
  "version",
  "name",
  "short_name",
  "type",
  "reference",
  "hash",
  "created_at",
  "updated_at",
  "created_by_id",
] as const;

/** Options of `new ln.Transform()`. */
export interface TransformOptions {
  /** Human-readable name, e.g. the script's file name. */
  name: string;
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

  /** A new, unsaved transform (no I/O). */
  constructor(options: TransformOptions) {
    if (options === null || typeof options !== "object") {
      throw new ValidationError('new Transform() takes options like { name: "my pipeline" }');
    }
    if (typeof options.name !== "string" || options.name.trim() === "") {
      throw new ValidationError("a Transform needs a non-empty `name`");
    }
    if (options.id !== undefined && !isId("transform", options.id)) {
      throw new ValidationError(`a Transform id is 12 base62 characters, got ${options.id}`);
    }
    const now = new Date();
    this.id = options.id ?? newId("transform");
    this.version = options.version ?? "0";
    this.name = options.name;
    this.shortName = options.shortName ?? null;
    this.type = options.type ?? "pipeline";
    this.reference = options.reference ?? null;
    this.hash = null;
    this.createdAt = now;
    this.updatedAt = now;
    this.createdById = "";
  }

  /** @internal Build from a registry row. */
  static fromRow(row: Record<string, unknown>): Transform {
    const t = Object.create(Transform.prototype) as Transform;
    t.id = String(row.id);
    t.version = String(row.version);
    t.name = String(row.name);
    t.shortName = str(row.short_name);
    t.type = String(row.type);
    t.reference = str(row.reference);
    t.hash = str(row.hash);
    t.createdAt = date(row.created_at);
    t.updatedAt = date(row.updated_at);
    t.createdById = String(row.created_by_id);
    return t;
  }

  /** Insert the transform (or update name/reference of an existing version). */
  async save(): Promise<this> {
    const inst = instance();
    const now = nowIso();
    const row = {
      id: this.id,
      version: this.version,
      name: this.name,
      short_name: this.shortName,
      type: this.type,
      reference: this.reference,
      hash: this.hash,
      created_at: this.createdAt.toISOString(),
      updated_at: now,
      created_by_id: inst.user.id,
    };
    await anyDb().insertInto("transform").values(row)
      .onConflict((oc) =>
        oc.columns(["id", "version"]).doUpdateSet({
          name: this.name,
          short_name: this.shortName,
          reference: this.reference,
          hash: this.hash,
          updated_at: now,
        })
      ).execute();
    Object.assign(
      this,
      Transform.fromRow(
        await anyDb().selectFrom("transform").selectAll().where("id", "=", this.id)
          .where("version", "=", this.version).executeTakeFirstOrThrow(),
      ),
    );
    return this;
  }

  /** The transform matching an id (one version only) or a `where`. */
  static async get(idOrWhere: string | Where): Promise<Transform> {
    return Transform.fromRow(await selectOne("transform", COLUMNS, idOrWhere, "Transform"));
  }

  /** Transforms matching `where` (`{}` for all), e.g. `{ type: "notebook" }`. */
  static async filter(where: Where = {}): Promise<Transform[]> {
    return (await selectRows("transform", COLUMNS, where, "Transform")).map(Transform.fromRow);
  }
}
