import { showValue } from "../_display.ts";
import { createHash } from "node:crypto";
import type pl from "nodejs-polars";
import { ValidationError } from "../errors.ts";
import { optionalText, storableText } from "./_description.ts";
import { checkKnownOptions } from "../storage/_validate.ts";
import type { AnnData } from "../formats/anndata/anndata.ts";
import { isDataFrame } from "../formats/tables.ts";
import { retryBusy } from "./_db_errors.ts";
import { newId } from "../_ids.ts";
import { USER_MODEL } from "./user.ts";
import {
  date,
  type Model,
  type Queries,
  queries,
  Query,
  type QueryOptions,
  type Row,
  type Where,
} from "./_model.ts";
import type { DataFrame } from "../formats/tables.ts";
import { showRecords } from "./_display.ts";
import { defaultInstance, type Instance } from "./instance.ts";

/** One member of a feature set: a name and, for table columns, a dtype. */
export interface Feature {
  /** Column or variable name. */
  name: string;
  /** dtype for table columns (polars' name, e.g. `"Float64"`), else `null`. */
  dtype: string | null;
}

/**
 * A feature set (the columns of a table, the genes of an AnnData's `var`),
 * deduplicated by the md5 of its sorted members: saving the same set twice
 * gives one record. Link sets to files with `new ln.File(data, { features })`.
 *
 * @example A feature set from names
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const fs = await ln.Features.fromValues(["CD4", "CD8A"], { type: "gene" }).save();
 * const again = await ln.Features.fromValues(["CD8A", "CD4"], { type: "gene" }).save();
 * console.assert(fs.id === again.id);
 * console.assert((await fs.members()).length === 2);
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
  /** @internal */ _members: Feature[] | undefined;
  /** @internal */ _saved = false;
  /** @internal The instance it was read from or saved to. */ _instance: Instance | undefined;

  private constructor(
    id: string,
    type: string | null,
    hash: string,
    createdAt: Date,
    createdById: string,
    members?: Feature[],
  ) {
    this.id = id;
    this.type = type;
    this.hash = hash;
    this.createdAt = createdAt;
    this.createdById = createdById;
    this._members = members;
  }

  static #make(members: Feature[], type: string | null): Features {
    const byName = new Map<string, Feature>();
    for (const m of members) byName.set(storableText("Features", "member name", m.name), m);
    const sorted = [...byName.values()].sort((
      a,
      b,
    ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const h = createHash("md5").update(`${type ?? ""}\n`);
    for (const m of sorted) h.update(`${m.name}\t${m.dtype ?? ""}\n`);
    return new Features(newId("features"), type, h.digest("base64url"), new Date(), "", sorted);
  }

  /** An unsaved feature set from member names (no I/O). */
  static fromValues(values: string[], options: { type?: string } = {}): Features {
    if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) {
      const bad = Array.isArray(values) ? values.find((v) => typeof v !== "string") : values;
      throw new ValidationError(
        `Features.fromValues() takes an array of strings, got ${showValue(bad)}` +
          (Array.isArray(values) ? " in the array" : ""),
      );
    }
    checkKnownOptions("Features.fromValues(values, options)", options, ["type"]);
    const type = optionalText("Features", "type", options.type);
    return Features.#make(values.map((name) => ({ name, dtype: null })), type);
  }

  /** An unsaved feature set of a DataFrame's columns with their dtypes. */
  static fromDataFrame(df: pl.DataFrame): Features {
    if (!isDataFrame(df)) {
      throw new ValidationError("Features.fromDataFrame() takes a polars DataFrame");
    }
    return Features.#make(
      df.getColumns().map((s) => ({ name: s.name, dtype: String(s.dtype.variant) })),
      "column",
    );
  }

  /**
   * An unsaved feature set of an AnnData: `"var"` gives its variable names
   * (e.g. genes), `"obs"` the columns of `obs` with their dtypes.
   */
  static fromAnnData(adata: AnnData, slot: "var" | "obs"): Features {
    if (adata === null || typeof adata !== "object" || !Array.isArray(adata.varNames)) {
      throw new ValidationError(
        `Features.fromAnnData(adata, slot) takes an AnnData, got ${showValue(adata)}`,
      );
    }
    if (slot === "var") return Features.fromValues(adata.varNames, { type: "var" });
    if (slot === "obs") return Features.fromDataFrame(adata.obs);
    throw new ValidationError(
      `Features.fromAnnData(): slot is "var" or "obs", got ${showValue(slot)}`,
    );
  }

  /** @internal From a registry row. */
  static fromRow(row: Row<"features">, inst: Instance): Features {
    const f = new Features(row.id, row.type, row.hash, date(row.created_at), row.created_by_id);
    f._saved = true;
    f._instance = inst;
    return f;
  }

  /** The members, sorted by name. */
  async members(): Promise<Feature[]> {
    if (this._members) return this._members;
    const db = (this._instance ?? defaultInstance()).assertOpen().db;
    const rows = await db.selectFrom("feature").select(["name", "dtype"])
      .where("features_id", "=", this.id).orderBy("position").execute();
    this._members = rows.map((r) => ({ name: r.name, dtype: r.dtype }));
    return this._members;
  }

  /** Insert with its members, or become the existing set with the same members. */
  async save(): Promise<this> {
    return await this._saveIn(this._instance ?? defaultInstance());
  }

  /** @internal Save into `inst`. */
  async _saveIn(inst: Instance): Promise<this> {
    const db = inst.assertOpen().db;
    // Checked again: `type` may have been changed since construction.
    this.type = optionalText("Features", "type", this.type);
    const members = this._members ?? [];
    await retryBusy(() =>
      db.transaction().execute(async (trx) => {
        const existing = await trx.selectFrom("features").select("id").where("hash", "=", this.hash)
          .executeTakeFirst();
        if (existing) return;
        await trx.insertInto("features")
          .values(FEATURES_MODEL.toRow(Object.assign(this, { createdById: inst.user.id })))
          .execute();
        for (let i = 0; i < members.length; i += 500) {
          await trx.insertInto("feature").values(
            members.slice(i, i + 500).map((m, j) => ({
              features_id: this.id,
              position: i + j,
              name: m.name,
              dtype: m.dtype,
            })),
          ).execute();
        }
      })
    );
    const row = await db.selectFrom("features").selectAll().where("hash", "=", this.hash)
      .executeTakeFirstOrThrow();
    const saved = Features.fromRow(row, inst);
    Object.assign(this, { ...saved, _members: this._members });
    return this;
  }

  /** The feature set with this id, or matching `where`. */
  static async get(idOrWhere: string | Where): Promise<Features> {
    return await FEATURE_SETS(defaultInstance()).get(idOrWhere);
  }

  /** Feature sets matching `where` (`{}` for all). */
  static filter(where: Where = {}, options: QueryOptions = {}): Query<Features> {
    return Query.defer("Features", () => FEATURE_SETS(defaultInstance()).filter(where, options));
  }

  /** The matching records as a polars DataFrame, newest first, at most 100 (as `Query.df()`). */
  static df(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Features.filter(where, options).df();
  }

  /**
   * lamindb's name for {@linkcode Features.df} (`Features.to_dataframe()`, lamindb 1.11
   * and later): the matching feature sets as a polars DataFrame, newest first, at
   * most 100 unless `options` order or limit them.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * console.assert((await ln.Features.toDataFrame()).height === 0);
   * await ln.close();
   * ```
   */
  static toDataFrame(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Features.df(where, options);
  }

  /** Query the feature sets of another instance (from `ln.connect()`). */
  static using(instance: Instance): Queries<Features> {
    return FEATURE_SETS(instance);
  }
}

showRecords(Features);

/** The `features` table's mapping. */
export const FEATURES_MODEL: Model<"features", Features> = {
  table: "features",
  label: "Features",
  fields: {
    id: "id",
    type: "type",
    hash: "hash",
    createdAt: "created_at",
    createdById: "created_by_id",
  },
  relations: {
    createdBy: { column: "created_by_id", target: () => USER_MODEL as never },
  },
  fromRow: Features.fromRow,
  toRow: (f) => ({
    id: f.id,
    type: f.type,
    hash: f.hash,
    created_at: f.createdAt.toISOString(),
    created_by_id: f.createdById,
  }),
};

/** @internal Queries of feature sets. */
export const FEATURE_SETS: (inst: Instance) => Queries<Features> = queries(FEATURES_MODEL);
