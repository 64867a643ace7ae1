import { showValue } from "../_display.ts";
import { checkKnownOptions } from "../storage/_validate.ts";
import { PostgresAdapter } from "kysely";
import { ValidationError } from "../errors.ts";
import { newId } from "../_ids.ts";
import {
  type Col,
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
import { USER_MODEL } from "./user.ts";
import { isUniqueViolation, retryBusy } from "./_db_errors.ts";
import { describe, storableText, validateDescription } from "./_description.ts";
import { indexForSearch } from "./_search_index.ts";
import { type SearchOptions, searchQuery } from "./_search.ts";
import { defaultInstance, Instance } from "./instance.ts";
import type { File } from "./file.ts";
import { ANY_VERSION, FILES } from "./_file_model.ts";
import { type Run, RUNS } from "./run.ts";

/** Longest label name (characters). */
export const MAX_LABEL_NAME = 255;

/** Options of `new ln.ULabel(options)`. */
export interface ULabelOptions {
  /** The label, unique in the registry: 1 to 255 characters. */
  name: string;
  /** Free text: what the label means. */
  description?: string;
  /** The instance to save it in (default: the one `ln.init()` opened). */
  instance?: Instance;
}

/**
 * A universal label (lamindb's `ULabel`): a name, unique in the registry,
 * to annotate files and runs with (`file.ulabels.add(label)`) and to find
 * them by (`ln.File.filter({ ulabels: label })`). Labels form a hierarchy
 * through `parents` / `children`; a label is never its own ancestor.
 * Saving a label whose name exists gives the existing record.
 *
 * @example Label a file and find it by its label
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const tcell = await new ln.ULabel({ name: "T cell" }).save();
 * const cell = await new ln.ULabel({ name: "cell" }).save();
 * await tcell.parents.add(cell);
 * const file = await new ln.File(new Uint8Array([1]), { key: "x.bin" }).save();
 * await file.ulabels.add(tcell);
 * console.assert((await ln.File.filter({ ulabels: tcell }))[0].id === file.id);
 * console.assert((await cell.children.all())[0].name === "T cell");
 * console.assert((await new ln.ULabel({ name: "T cell" }).save()).id === tcell.id);
 * await ln.close();
 * ```
 */
export class ULabel {
  /** 8-character base62 id (lamindb's ULabel uid length). */
  id: string;
  /** The label, unique in the registry. */
  name: string;
  /** Free text, or `null`. */
  description: string | null;
  /** When it was created (unsaved: the construction time). */
  createdAt: Date;
  /** When it was last changed. */
  updatedAt: Date;
  /** Id of the user who created it; `null` before save. */
  createdById: string | null;
  /** Broader labels (`"cell"` for `"T cell"`); adding one that would make a cycle is refused. */
  readonly parents: RelatedManager<ULabel>;
  /** Narrower labels. */
  readonly children: RelatedManager<ULabel>;
  /** Files with this label. */
  readonly files: { all(): Promise<File[]> };
  /** Runs with this label. */
  readonly runs: { all(): Promise<Run[]> };
  /** @internal */ _saved = false;
  /** @internal The instance it was read from or is saved to. */ _instance: Instance | undefined;

  /** A new, unsaved label (no I/O). */
  constructor(options: ULabelOptions) {
    if (options === null || typeof options !== "object") {
      throw new ValidationError('new ULabel() takes options like { name: "T cell" }');
    }
    checkKnownOptions("new ln.ULabel(options)", options, ["name", "description", "instance"]);
    if (options.instance !== undefined && !(options.instance instanceof Instance)) {
      throw new ValidationError("instance must be an Instance from ln.connect()");
    }
    const now = new Date();
    this.id = newId("ulabel");
    this.name = validateLabelName(options.name);
    this.description = validateDescription("ULabel", options.description);
    this.createdAt = now;
    this.updatedAt = now;
    this.createdById = null;
    this._instance = options.instance;
    [this.parents, this.children, this.files, this.runs] = managers(this);
  }

  /**
   * lamindb's name for {@linkcode ULabel.id} (its records' public id is
   * `uid`).
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const label = await new ln.ULabel({ name: "T cell" }).save();
   * console.assert((await ln.ULabel.get(label.uid)).name === "T cell");
   * await ln.close();
   * ```
   */
  get uid(): string {
    return this.id;
  }

  /**
   * lamindb's name for {@linkcode ULabel.files} (`ulabel.artifacts`): the
   * files with this label.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const label = await new ln.ULabel({ name: "T cell" }).save();
   * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * await file.ulabels.add(label);
   * console.assert((await label.artifacts.all())[0].id === file.id);
   * await ln.close();
   * ```
   */
  get artifacts(): { all(): Promise<File[]> } {
    return this.files;
  }

  /** @internal From a registry row. */
  static fromRow(row: Row<"ulabel">, inst: Instance): ULabel {
    const l = Object.create(ULabel.prototype) as ULabel;
    l.id = row.id;
    l.name = row.name;
    l.description = row.description;
    l.createdAt = date(row.created_at);
    l.updatedAt = date(row.updated_at);
    l.createdById = row.created_by_id;
    l._saved = true;
    l._instance = inst;
    // deno-lint-ignore no-explicit-any
    const m = l as any;
    [m.parents, m.children, m.files, m.runs] = managers(l);
    return l;
  }

  /**
   * Insert the label, or become the existing record of the same name (its
   * stored description wins; a race of two savers gives one record). On a
   * saved label, writes a changed `name` or `description` (a name another
   * label has is a `ValidationError`, and nothing is written).
   */
  async save(): Promise<this> {
    const inst = (this._instance ??= defaultInstance()).assertOpen();
    this.name = validateLabelName(this.name);
    this.description = validateDescription("ULabel", this.description);
    if (this._saved) {
      try {
        await retryBusy(() =>
          inst.db.updateTable("ulabel")
            .set({ name: this.name, description: this.description, updated_at: nowIso() })
            .where("id", "=", this.id).execute()
        );
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        throw new ValidationError(
          `another label is named ${JSON.stringify(this.name)}; choose another name ` +
            `(label ${this.id} was not changed)`,
        );
      }
    } else {
      const now = new Date(nowIso());
      const row = ULABEL_MODEL.toRow(
        Object.assign(this, { createdById: inst.user.id, createdAt: now, updatedAt: now }),
      );
      await retryBusy(() =>
        inst.db.insertInto("ulabel").values(row)
          .onConflict((oc) => oc.column("name").doNothing()).execute()
      );
    }
    const stored = await retryBusy(() =>
      inst.db.selectFrom("ulabel").selectAll().where("name", "=", this.name).executeTakeFirst()
    );
    if (!stored) throw new ValidationError(`label "${this.name}" was deleted while saving it`);
    await retryBusy(() =>
      inst.db.transaction().execute((trx) => indexForSearch(trx, "ulabel", [stored]))
    );
    const keep = { parents: this.parents, children: this.children, files: this.files };
    Object.assign(this, ULabel.fromRow(stored, inst), keep, { runs: this.runs });
    return this;
  }

  /** A short description, e.g. for logs. */
  toString(): string {
    return `ULabel(id=${this.id}, name=${JSON.stringify(this.name)}${describe(this.description)})`;
  }

  /** The label with this id, or matching `where` (e.g. `{ name: "T cell" }`). */
  static async get(idOrWhere: string | Where): Promise<ULabel> {
    return await ULABELS(defaultInstance()).get(idOrWhere);
  }

  /** Labels matching `where` (`{}` for all). */
  static filter(where: Where = {}, options: QueryOptions = {}): Query<ULabel> {
    return Query.defer("ULabel", () => ULABELS(defaultInstance()).filter(where, options));
  }

  /** The matching records as a polars DataFrame, newest first, at most 100 (as `Query.df()`). */
  static df(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return ULabel.filter(where, options).df();
  }

  /**
   * lamindb's name for {@linkcode ULabel.df} (`ULabel.to_dataframe()`, lamindb 1.11
   * and later): the matching labels as a polars DataFrame, newest first, at
   * most 100 unless `options` order or limit them.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await new ln.ULabel({ name: "T cell" }).save();
   * console.assert((await ln.ULabel.toDataFrame()).getColumn("name").toArray()[0] === "T cell");
   * await ln.close();
   * ```
   */
  static toDataFrame(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return ULabel.df(where, options);
  }

  /**
   * Labels whose name or description match the words of `query`, best first
   * (as {@linkcode File.search}: exact, prefix or one-typo words, any case).
   *
   * @example Find a label by a word of its name
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await new ln.ULabel({ name: "T cell", description: "a lymphocyte" }).save();
   * console.assert((await ln.ULabel.search("lymphocyte"))[0].name === "T cell");
   * await ln.close();
   * ```
   */
  static search(query: string, options?: SearchOptions): Query<ULabel> {
    return searchQuery(
      "ULabel",
      "ulabel",
      defaultInstance,
      query,
      options,
      (inst, ids) => ULABELS(inst).byIds(ids),
      ULABEL_MODEL as never,
    );
  }

  /** Query the labels of another instance (from `ln.connect()`). */
  static using(instance: Instance): Queries<ULabel> {
    return ULABELS(instance);
  }
}

showRecords(ULabel);

/** A label name: a string of 1 to 255 characters, not only spaces, without NUL. */
function validateLabelName(name: unknown): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new ValidationError(
      `a ULabel needs a non-empty \`name\` (a string), got ${showValue(name)}`,
    );
  }
  const n = [...name].length;
  if (n > MAX_LABEL_NAME) {
    throw new ValidationError(
      `a ULabel name has at most ${MAX_LABEL_NAME} characters, got ${n} ` +
        `(${JSON.stringify(name.slice(0, 30))}…); put long text in \`description\``,
    );
  }
  if (name.includes("\0")) {
    throw new ValidationError("a ULabel name cannot hold a NUL character; remove it");
  }
  return storableText("ULabel", "name", name);
}

/** The `ulabel` table's mapping. */
export const ULABEL_MODEL: Model<"ulabel", ULabel> = {
  table: "ulabel",
  label: "ULabel",
  fields: {
    id: "id",
    name: "name",
    description: "description",
    createdAt: "created_at",
    updatedAt: "updated_at",
    createdById: "created_by_id",
  },
  relations: { createdBy: { column: "created_by_id", target: () => USER_MODEL as never } },
  links: {
    parents: {
      table: "ulabel_parent",
      self: "child_id",
      other: "parent_id",
      target: () => ULABEL_MODEL as never,
    },
    children: {
      table: "ulabel_parent",
      self: "parent_id",
      other: "child_id",
      target: () => ULABEL_MODEL as never,
    },
  },
  fromRow: ULabel.fromRow,
  toRow: (l) => ({
    id: l.id,
    name: l.name,
    description: l.description,
    created_at: l.createdAt.toISOString(),
    updated_at: l.updatedAt.toISOString(),
    created_by_id: l.createdById!,
  }),
};

/** @internal Queries of labels. */
export const ULABELS: (inst: Instance) => Queries<ULabel> = queries(ULABEL_MODEL);

function checkLabels(what: string, items: unknown[]): ULabel[] {
  for (const it of items) {
    if (!(it instanceof ULabel)) {
      throw new ValidationError(
        `${what}: add()/remove() take ULabel records, got ${showValue(it)}` +
          (typeof it === "string"
            ? `; for a label by name: await ln.ULabel.get({ name: ${showValue(it)} }), or ` +
              `await new ln.ULabel({ name: ${showValue(it)} }).save() to make it`
            : ""),
      );
    }
    if (!it._saved) {
      throw new ValidationError(`${what}: label "${it.name}" is not saved yet; call save() first`);
    }
  }
  return items as ULabel[];
}

/** @internal The labels of a record through a link table `table (selfCol, ulabel_id)`. */
export function ulabelsManager<L extends "file_ulabel" | "run_ulabel" | "collection_ulabel">(
  table: L,
  selfCol: Col<L>,
  self: () => { id: string; inst: Instance },
): RelatedManager<ULabel> {
  const m = linkManager(
    table,
    selfCol,
    self,
    "ulabel_id" as Col<L>,
    (inst, ids) => ULABELS(inst).byIds(ids),
  );
  return {
    all: () => m.all(),
    add: (...items) => m.add(...checkLabels(`${table.replace("_ulabel", "")}.ulabels`, items)),
    remove: (...items) =>
      m.remove(...checkLabels(`${table.replace("_ulabel", "")}.ulabels`, items)),
  };
}

type Managers = [
  RelatedManager<ULabel>,
  RelatedManager<ULabel>,
  { all(): Promise<File[]> },
  { all(): Promise<Run[]> },
];

function managers(l: ULabel): Managers {
  const self = () => {
    if (!l._saved) {
      throw new ValidationError(`label "${l.name}" is not saved yet; call save() first`);
    }
    return { id: l.id, inst: (l._instance ?? defaultInstance()).assertOpen() };
  };
  return [
    hierarchy(l, self, "parents"),
    hierarchy(l, self, "children"),
    { all: () => FILES(self().inst).filter({ ulabels: l.id, isLatest: ANY_VERSION }) },
    { all: () => RUNS(self().inst).filter({ ulabels: l.id }) },
  ];
}

/** `parents` (edges label -> item) or `children` (item -> label), refusing cycles. */
function hierarchy(
  l: ULabel,
  self: () => { id: string; inst: Instance },
  side: "parents" | "children",
): RelatedManager<ULabel> {
  const [selfCol, otherCol] = side === "parents"
    ? ["child_id", "parent_id"] as const
    : ["parent_id", "child_id"] as const;
  const base = linkManager(
    "ulabel_parent",
    selfCol,
    self,
    otherCol,
    (inst, ids) => ULABELS(inst).byIds(ids),
  );
  return {
    all: () => base.all(),
    remove: (...items) => base.remove(...checkLabels(`label.${side}`, items)),
    async add(...items) {
      checkLabels(`label.${side}`, items);
      if (items.length === 0) return;
      const { id, inst } = self();
      await retryBusy(() =>
        inst.db.transaction().execute(async (trx) => {
          // Two concurrent additions can close a cycle between them (A -> B, C -> D over
          // existing B -> C, D -> A). SQLite runs one write transaction at a time (the other
          // is BUSY and retried); on PostgreSQL every hierarchy change takes one row lock first.
          if (trx.getExecutor().adapter instanceof PostgresAdapter) {
            await trx.selectFrom("lamin_meta").select("key").where("key", "=", "schema_version")
              .forUpdate().execute();
          }
          // A new parent must not be this label or below it; a new child not this label or above it.
          const [from, to] = side === "parents"
            ? ["parent_id", "child_id"] as const
            : ["child_id", "parent_id"] as const;
          const reach = new Set<string>([id]);
          let frontier = [id];
          while (frontier.length > 0) {
            const next: string[] = [];
            for (let i = 0; i < frontier.length; i += 500) {
              const rows = await trx.selectFrom("ulabel_parent").select(to)
                .where(from, "in", frontier.slice(i, i + 500)).execute();
              for (const r of rows) {
                const v = (r as Record<string, string>)[to];
                if (!reach.has(v)) (reach.add(v), next.push(v));
              }
            }
            frontier = next;
          }
          const bad = items.find((it) => reach.has(it.id));
          if (bad) {
            const rel = side === "parents" ? "a parent" : "a child";
            throw new ValidationError(
              `cannot make "${bad.name}" ${rel} of "${l.name}": ` +
                (bad.id === id
                  ? "a label cannot be its own parent"
                  : `it is already ${side === "parents" ? "below" : "above"} it, ` +
                    "so the hierarchy would have a cycle") +
                "; nothing was changed",
            );
          }
          await trx.insertInto("ulabel_parent").values(
            items.map((it) =>
              side === "parents"
                ? { child_id: id, parent_id: it.id }
                : { child_id: it.id, parent_id: id }
            ),
          ).onConflict((oc) => oc.doNothing()).execute();
        })
      );
    },
  };
}
