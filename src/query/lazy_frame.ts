// LazyDataFrame: `df.<name>` / `df.col(name)` give columns to build queries
// with; nothing is read until the query is used (e.g. by file.stream()).
import { ColumnNotFoundError } from "../errors.ts";
import { Column, columnsOf, type ExprNode } from "./expr.ts";
import { showFrame } from "./_repr.ts";

/** Members of a LazyDataFrame besides its columns. */
export interface LazyDataFrameMembers {
  /** The column `name` (any name, also ones that are not identifiers). */
  col(name: string): Column;
  /** The known column names, if the frame was made with them. */
  readonly columnNames: readonly string[] | undefined;
}

/**
 * A frame to write queries against: `df.cell_type`, `df.col("any name")`.
 * Made by `file.subsetter()`; columns are checked against the file when
 * the query runs (or at once, if the frame was made with column names).
 */
export type LazyDataFrame = LazyDataFrameMembers & { readonly [name: string]: Column };

const MEMBERS = new Set(["col", "columnNames", "toString", "constructor"]);

class LazyDataFrameImpl {
  readonly columnNames: readonly string[] | undefined;

  constructor(columns?: readonly string[]) {
    this.columnNames = columns ? Object.freeze([...columns]) : undefined;
    return new Proxy(this, {
      get(target, prop, receiver) {
        // Not a thenable, and symbols/members behave normally.
        if (typeof prop === "symbol" || MEMBERS.has(prop)) {
          return Reflect.get(target, prop, receiver);
        }
        if (prop === "then") return undefined;
        return target.col(prop);
      },
    });
  }

  col(name: string): Column {
    if (this.columnNames && !this.columnNames.includes(name)) {
      throw new ColumnNotFoundError(notFound([name], this.columnNames, "this frame"));
    }
    return new Column(name);
  }

  toString(): string {
    return `LazyDataFrame(${
      this.columnNames ? this.columnNames.join(", ") : "columns checked on use"
    })`;
  }
}

showFrame(LazyDataFrameImpl.prototype);

/**
 * Make a LazyDataFrame, optionally with the column names it has.
 *
 * @example
 * ```ts
 * import { LazyDataFrame } from "@lamindeno/lamindb";
 * const df = new LazyDataFrame(["cell_type", "n_genes"]);
 * const q = df.cell_type.eq("T cell").or(df.n_genes.lt(10));
 * console.assert(q.toString() === '((cell_type == "T cell") | (n_genes < 10))');
 * ```
 */
export const LazyDataFrame: new (columns?: readonly string[]) => LazyDataFrame =
  LazyDataFrameImpl as unknown as new (columns?: readonly string[]) => LazyDataFrame;

function notFound(missing: string[], available: readonly string[], where: string): string {
  return `no column ${missing.map((m) => JSON.stringify(m)).join(", ")} in ${where}; ` +
    `its columns are: ${available.length ? available.join(", ") : "(none)"}`;
}

/** Throw `ColumnNotFoundError` if `node` reads a column not in `available`. */
export function checkColumns(node: ExprNode, available: readonly string[], where: string): void {
  const missing = columnsOf(node).filter((c) => !available.includes(c));
  if (missing.length > 0) throw new ColumnNotFoundError(notFound(missing, available, where));
}
