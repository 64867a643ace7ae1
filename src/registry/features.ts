import { createHash } from "node:crypto";
import { ValidationError } from "../errors.ts";
import { instance } from "../_state.ts";
import { newId } from "./_ids.ts";
import { anyDb, date, rowsByIds, selectOne, selectRows, str, type Where } from "./_record.ts";

const COLUMNS = ["id", "type", "hash", "created_at", "created_by_id"] as const;

/**
 * A feature set (e.g. the columns of a table, the genes of an AnnData's
 * `var`), deduplicated by a hash of its sorted members.
 *
 * @example A feature set from names
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const fs = await ln.Features.fromValues(["CD4", "CD8A"], { type: "gene" }).save();
 * const again = await ln.Features.fromValues(["CD8A", "CD4"], { type: "gene" }).save();
 * console.assert(fs.id === again.id);
 * await ln.close();
 * ```
 */
export class Features {
  /** 20-character base62 id. */
  id: string;
  /** What the members are, e.g. `"gene"`, `"column"`. */
  type: string | null;
  /** md5 (base64url) of the sorted members. */
  hash: string;
  /** When the record was created. */
  createdAt: Date;
  /** Id of the user who created it. */
  createdById: string;
  /** Members (only on a set made in this process). */
  readonly members: readonly string[] | undefined;
  /** @internal */ _saved = false;

  private constructor(
    id: string,
    type: string | null,
    hash: string,
    createdAt: Date,
    createdById: string,
    members?: string[],
  ) {
    this.id = id;
    this.type = type;
    this.hash = hash;
    this.createdAt = createdAt;
    this.createdById = createdById;
    this.members = members;
  }

  /** An unsaved feature set from member names (no I/O). */
  static fromValues(values: string[], options: { type?: string } = {}): Features {
    if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) {
      throw new ValidationError("Features.fromValues() takes an array of strings");
    }
    const sorted = [...new Set(values)].sort();
    const hash = createHash("md5").update(sorted.join("\n")).digest("base64url");
    return new Features(newId("features"), options.type ?? null, hash, new Date(), "", sorted);
  }

  /** @internal */
  static fromRow(row: Record<string, unknown>): Features {
    const f = new Features(
      String(row.id),
      str(row.type),
      String(row.hash),
      date(row.created_at),
      String(row.created_by_id),
    );
    f._saved = true;
    return f;
  }

  /** Insert, or become the existing set with the same members. */
  async save(): Promise<this> {
    const db = anyDb();
    await db.insertInto("features").values({
      id: this.id,
      type: this.type,
      hash: this.hash,
      created_at: this.createdAt.toISOString(),
      created_by_id: instance().user.id,
    }).onConflict((oc) => oc.column("hash").doNothing()).execute();
    const row = await db.selectFrom("features").selectAll().where("hash", "=", this.hash)
      .executeTakeFirstOrThrow();
    const saved = Features.fromRow(row);
    Object.assign(this, { ...saved, members: this.members });
    return this;
  }

  /** The feature set with this id, or matching `where`. */
  static async get(idOrWhere: string | Where): Promise<Features> {
    return Features.fromRow(await selectOne("features", COLUMNS, idOrWhere, "Features"));
  }

  /** Feature sets matching `where` (`{}` for all). */
  static async filter(where: Where = {}): Promise<Features[]> {
    return (await selectRows("features", COLUMNS, where, "Features")).map(Features.fromRow);
  }

  /** @internal */
  static async byIds(ids: string[]): Promise<Features[]> {
    return (await rowsByIds("features", ids)).map(Features.fromRow);
  }
}
