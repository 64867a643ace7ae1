/**
 * The cells a notebook run executed (`run_cell`), written by the lamindeno
 * kernel from its own process through the same dialects, migrations and
 * newer-schema refusal as the library.
 *
 * @module
 */
import { existsSync } from "node:fs";
import type { Kysely } from "kysely";
import { StorageError } from "../errors.ts";
import { redactSource } from "../_redact.ts";
import { storableCode } from "./_description.ts";
import { retryBusy } from "./_db_errors.ts";
import { openRegistry, type RegistryDb } from "./db.ts";
import type { Database, RunCellTable } from "./schema.ts";

/** Where a registry is, for another process: a libSQL file or a PostgreSQL URL. */
export type RegistryLocation = { kind: "libsql"; path: string } | { kind: "postgres"; url: string };

/** One executed cell of a run, as the kernel saw it. */
export interface CellRecord {
  /** Order of execution within the run, from 1. */
  seq: number;
  /** The cell's code. */
  code: string;
  /** The front end's cell id, when it sent one. */
  cellId?: string;
  /** When the cell's request reached the kernel. */
  startedAt: Date;
  /** `running` until the reply came, then its outcome. */
  status: "running" | "ok" | "error" | "aborted";
  /** The kernel's execution count, once replied. */
  executionCount?: number;
  /** The error's name when status is `error`. */
  errorName?: string;
  /** When the reply came. */
  endedAt?: Date;
}

/**
 * Open the existing registry at `location` (migrated forward like
 * `ln.init` does). Never creates a libSQL file; a registry written by a
 * newer lamindeno is refused with `SchemaVersionError`, unchanged.
 *
 * @example
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * import { openRegistryAt } from "./run_cells.ts";
 * const dir = await Deno.makeTempDir();
 * await ln.init({ storage: dir });
 * await ln.close();
 * const db = await openRegistryAt({ kind: "libsql", path: `${dir}/.lamindb/lamin.db` });
 * await db.destroy();
 * ```
 */
export async function openRegistryAt(location: RegistryLocation): Promise<RegistryDb> {
  if (location.kind === "libsql") {
    if (!existsSync(location.path)) {
      throw new StorageError(
        `no registry at ${location.path}: open the instance with ln.init() first`,
      );
    }
    const { libsqlDialect } = await import("./libsql.ts");
    return await openRegistry(await libsqlDialect(location.path));
  }
  const { postgresDialect } = await import("./postgres.ts");
  return await openRegistry(await postgresDialect(location.url));
}

function row(runId: string, cell: CellRecord): RunCellTable {
  return {
    run_id: runId,
    seq: cell.seq,
    execution_count: cell.executionCount ?? null,
    code: storableCode(redactSource(cell.code)),
    status: cell.status,
    error_name: cell.errorName === undefined ? null : storableCode(cell.errorName),
    started_at: cell.startedAt.toISOString(),
    finished_at: cell.endedAt?.toISOString() ?? null,
    cell_id: cell.cellId === undefined ? null : storableCode(cell.cellId),
  };
}

/**
 * Write `cells` into run `runId`: new cells are inserted, cells already
 * there (same `seq`) get their outcome updated.
 *
 * @example
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * import { openRegistryAt, recordCells } from "./run_cells.ts";
 * const dir = await Deno.makeTempDir();
 * await ln.init({ storage: dir });
 * const run = await ln.track({ name: "cells" });
 * const db = await openRegistryAt({ kind: "libsql", path: `${dir}/.lamindb/lamin.db` });
 * await recordCells(db, run.id, [{ seq: 1, code: "1 + 1", status: "ok", startedAt: new Date() }]);
 * await db.destroy();
 * console.assert((await run.cells()).length === 1);
 * await ln.close();
 * ```
 */
export async function recordCells(
  db: Kysely<Database>,
  runId: string,
  cells: readonly CellRecord[],
): Promise<void> {
  if (cells.length === 0) return;
  await retryBusy(() =>
    db.insertInto("run_cell").values(cells.map((c) => row(runId, c)))
      .onConflict((oc) =>
        oc.columns(["run_id", "seq"]).doUpdateSet((eb) => ({
          execution_count: eb.ref("excluded.execution_count"),
          status: eb.ref("excluded.status"),
          error_name: eb.ref("excluded.error_name"),
          finished_at: eb.ref("excluded.finished_at"),
        }))
      )
      .execute()
  );
}

/** Write one cell of run `runId` (insert, or update its outcome): {@linkcode recordCells} of one. */
export async function updateCell(
  db: Kysely<Database>,
  runId: string,
  cell: CellRecord,
): Promise<void> {
  await recordCells(db, runId, [cell]);
}
