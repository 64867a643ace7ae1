// Provenance recording for the lamindeno kernel: every executed cell of the
// session becomes a row of `run_cell` for the notebook's run. The library,
// inside the kernel, starts that run on its first use and announces it
// (RUN_MESSAGE, see src/track/kernel_messages.ts); cells executed before that
// are buffered and written then. The registry is opened with the library's
// own code (src/registry/run_cells.ts: same dialects and migrations, and a
// registry of a newer schema is refused), loaded only once a run is known so
// kernel start-up stays fast. Failures are logged once and never stop the
// kernel; a registry that cannot be opened gets no writes for that run.
// A cell is written once when it ends; only a cell still running after
// RUNNING_ROW_MS gets a `running` row first (so a kernel that dies mid-cell
// leaves it recorded). Short cells thus never write while the notebook's own
// library code writes to the same registry.
// A run announced with `path_unknown` (its notebook transform is unnamed) gets
// its path looked for again, off the cells' path: after a cell ends at most
// every LOOK_AGAIN_MS, and at shutdown; once found, the transform is named by it.
// papermill's parameters cell (`PAPERMILL_INPUT_PATH`, with inject_paths) names
// it as soon as it runs.
import type { KernelHooks } from "./hooks.ts";
import { redactError, redactText } from "../src/_redact.ts";
import type { CellRecord, RegistryLocation } from "../src/registry/run_cells.ts";
import type { RegistryDb } from "../src/registry/db.ts";
import {
  parseRunAnnouncement,
  RUN_MESSAGE,
  type RunAnnouncement,
} from "../src/track/kernel_messages.ts";

interface Target {
  runId: string;
  location: RegistryLocation;
  /** The open registry; a rejected promise when it cannot be opened. */
  db?: Promise<RegistryDb>;
  /** The run's notebook transform waits for a name: look for the notebook's path. */
  pathUnknown?: boolean;
}

const RUNNING_ROW_MS = 250;
const LOOK_AGAIN_MS = 5_000;

const sameLocation = (a: RegistryLocation, b: RegistryLocation) =>
  JSON.stringify(a) === JSON.stringify(b);

/** The hooks that record notebook runs. */
export function recordingHooks(): KernelHooks {
  const cells: CellRecord[] = [];
  const byMsg = new Map<string, CellRecord>();
  const runningRows = new Map<CellRecord, ReturnType<typeof setTimeout>>();
  let target: Target | undefined;
  let queue: Promise<void> = Promise.resolve();
  let warned = false;
  let looking: Promise<void> | undefined;
  let lookedAt = 0;
  /** The notebook papermill said it runs (its parameters cell). */
  let papermill: string | undefined;

  const warn = (e: unknown) => {
    if (warned) return;
    warned = true;
    redactError(e);
    console.error(
      `lamindeno kernel: cannot record cells: ${redactText(String((e as Error)?.message ?? e))}`,
    );
  };

  const open = (t: Target): Promise<RegistryDb> =>
    t.db ??= import("../src/registry/run_cells.ts").then((m) => m.openRegistryAt(t.location));

  const write = (batch: CellRecord[]) => {
    const t = target;
    if (!t || batch.length === 0) return;
    const snapshot = batch.map((c) => ({ ...c }));
    queue = queue.then(async () => {
      const db = await open(t);
      const { recordCells } = await import("../src/registry/run_cells.ts");
      await recordCells(db, t.runId, snapshot);
    }).catch(warn);
  };

  // Find the notebook's path at last (a server that tells it late, a notebook saved since).
  const lookForPath = (always: boolean) => {
    const t = target;
    if (!t?.pathUnknown || looking || (!always && Date.now() - lookedAt < LOOK_AGAIN_MS)) return;
    lookedAt = Date.now();
    looking = (async () => {
      const { notebookOrigin } = await import("../src/track/_where.ts");
      const origin = await notebookOrigin(papermill);
      if (!origin || !t.pathUnknown) return;
      const db = await open(t);
      const { nameUnnamedNotebook } = await import("../src/track/_unnamed.ts");
      await nameUnnamedNotebook(db, t.runId, { origin });
      t.pathUnknown = false;
    })().catch(warn).finally(() => looking = undefined);
  };

  const close = (t: Target | undefined) => {
    const db = t?.db;
    if (db) queue = queue.then(() => db.then((d) => d.destroy(), () => {})).catch(() => {});
  };

  return {
    onExecuteRequest(msg) {
      if (msg.silent) return;
      const cell: CellRecord = {
        seq: cells.length + 1,
        code: msg.code,
        ...(msg.cellId ? { cellId: msg.cellId } : {}),
        startedAt: msg.startedAt,
        status: "running",
      };
      cells.push(cell);
      byMsg.set(msg.msgId, cell);
      if (!papermill && cells.length <= 3 && msg.code.includes("PAPERMILL_INPUT_PATH")) {
        void import("../src/track/_papermill.ts").then((m) => {
          const raw = m.papermillInputPath(msg.code);
          papermill = raw === undefined ? undefined : m.resolvePapermillPath(raw);
          if (papermill) lookForPath(true);
        }).catch(warn);
      }
      const timer = setTimeout(() => {
        runningRows.delete(cell);
        write([cell]);
      }, RUNNING_ROW_MS);
      Deno.unrefTimer(timer);
      runningRows.set(cell, timer);
    },
    onExecuteReply(msg) {
      const cell = byMsg.get(msg.msgId);
      if (!cell) return;
      byMsg.delete(msg.msgId);
      clearTimeout(runningRows.get(cell));
      runningRows.delete(cell);
      cell.executionCount = msg.executionCount;
      cell.status = msg.status;
      if (msg.errorName) cell.errorName = msg.errorName;
      cell.endedAt = msg.endedAt;
      write([cell]);
      lookForPath(false);
    },
    onKernelMessage(msg) {
      if (msg.msgType !== RUN_MESSAGE) return;
      let run: RunAnnouncement;
      try {
        run = parseRunAnnouncement(msg.content);
      } catch (e) {
        return warn(e);
      }
      if (target?.runId === run.run_id) {
        target.pathUnknown = run.path_unknown; // named by ln.track() since
        return;
      }
      const location: RegistryLocation = run.registry ??
        { kind: "libsql", path: `${run.root}/.lamindb/lamin.db` };
      const previous = target;
      target = { runId: run.run_id, location, pathUnknown: run.path_unknown };
      if (papermill) lookForPath(true);
      else lookedAt = Date.now(); // whoever announced it has just looked
      if (previous && sameLocation(previous.location, location)) target.db = previous.db;
      else close(previous); // another instance: its own connection
      write(cells); // what ran before the run was known
    },
    async onShutdown() {
      for (const [cell, timer] of runningRows) {
        clearTimeout(timer);
        write([cell]); // ended by the shutdown: recorded as still running
      }
      runningRows.clear();
      lookForPath(true);
      await looking;
      close(target);
      await queue;
    },
  };
}
