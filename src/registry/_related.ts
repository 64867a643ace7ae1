// To-many relations through link tables, as lamindb's related managers.
import { ValidationError } from "../errors.ts";
import { retryBusy } from "./_db_errors.ts";
import type { Col } from "./_model.ts";
import type { Instance } from "./instance.ts";
import { assertSaved, type SavedTable } from "./_saved.ts";

/** The table a link table's column refers to. */
const TARGET: Record<string, SavedTable> = {
  run_id: "run",
  file_id: "file",
  features_id: "features",
  folder_id: "folder",
  ulabel_id: "ulabel",
  parent_id: "ulabel",
  child_id: "ulabel",
  collection_id: "collection",
};

/** A to-many relation as lamindb's related managers: `all()`, `add()`, `remove()`. */
export interface RelatedManager<T> {
  /** Every related record. */
  all(): Promise<T[]>;
  /** Link records (idempotent). */
  add(...items: T[]): Promise<void>;
  /** Unlink records. */
  remove(...items: T[]): Promise<void>;
}

/** The link tables and their two columns. */
export type LinkTable =
  | "run_input"
  | "file_features"
  | "folder_file"
  | "ulabel_parent"
  | "file_ulabel"
  | "run_ulabel"
  | "collection_file"
  | "collection_ulabel"
  | "run_input_collection";

/** A manager over a link table `table (selfCol, otherCol)`. */
export function linkManager<L extends LinkTable, T extends { id: string }>(
  table: L,
  selfCol: Col<L>,
  self: () => { id: string; inst: Instance },
  otherCol: Col<L>,
  load: (inst: Instance, ids: string[]) => Promise<T[]>,
): RelatedManager<T> {
  const check = (items: T[]) => {
    for (const it of items) {
      if (!it || typeof it !== "object" || typeof it.id !== "string") {
        throw new ValidationError(`${table}: add()/remove() take saved records`);
      }
    }
  };
  return {
    async all() {
      const { id, inst } = self();
      const db = inst.assertOpen().db;
      const rows = await retryBusy(() =>
        db.selectFrom(table as LinkTable).select(db.dynamic.ref(otherCol))
          .where(db.dynamic.ref(selfCol), "=", id as never).execute()
      );
      return await load(inst, rows.map((r) => String((r as Record<string, unknown>)[otherCol])));
    },
    async add(...items) {
      check(items);
      if (items.length === 0) return;
      const { id, inst } = self();
      const rows = items.map((it) => ({ [selfCol]: id, [otherCol]: it.id }));
      const db = inst.assertOpen().db;
      await retryBusy(() =>
        db.transaction().execute(async (trx) => {
          // Both ends must be saved: checked first, for a clear error on both databases.
          await assertSaved(trx, TARGET[selfCol], [id], `${table}.add()`);
          await assertSaved(trx, TARGET[otherCol], items.map((it) => it.id), `${table}.add()`);
          await trx.insertInto(table as LinkTable).values(rows as never)
            .onConflict((oc) => oc.doNothing()).execute();
        })
      );
    },
    async remove(...items) {
      check(items);
      if (items.length === 0) return;
      const { id, inst } = self();
      const db = inst.assertOpen().db;
      await retryBusy(() =>
        db.deleteFrom(table as LinkTable).where(db.dynamic.ref(selfCol), "=", id as never)
          .where(db.dynamic.ref(otherCol), "in", items.map((it) => it.id) as never).execute()
      );
    },
  };
}
