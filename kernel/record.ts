// Provenance recording for the lamindeno kernel: every executed cell of the
// session becomes a row of `run_cell` for the notebook's run. The library,
// inside the kernel, starts that run on its first use and announces it with
// `Deno.jupyter.broadcast("lamindeno_run", { run_id, root })`; cells executed
// before that are buffered and written then. The registry is written with a
// small libSQL client of its own (loaded only once a run is known, so kernel
// start-up stays fast); failures are logged once and never stop the kernel.
import type { KernelHooks } from "./hooks.ts";

interface Cell {
  msgId: string;
  seq: number;
  code: string;
  cellId?: string;
  startedAt: Date;
  executionCount?: number;
  status: "running" | "ok" | "error" | "aborted";
  errorName?: string;
  endedAt?: Date;
}

type Client = {
  execute(stmt: { sql: string; args: (string | number | null)[] } | string): Promise<unknown>;
  close(): void;
};

/** Where the run's registry is, as the library announces it. */
type Registry = { kind: "libsql"; path: string } | { kind: "postgres"; url: string };

/** A client for the registry: libSQL file or PostgreSQL, loaded on first use. */
async function connect(registry: Registry): Promise<Client> {
  if (registry.kind === "postgres") {
    const { default: pg } = await import("npm:pg@8.16.3");
    const c = new pg.Client({ connectionString: registry.url });
    await c.connect();
    return {
      async execute(stmt) {
        if (typeof stmt === "string") return await c.query(stmt);
        let n = 0;
        return await c.query(stmt.sql.replace(/\?/g, () => `$${++n}`), stmt.args);
      },
      close: () => void c.end().catch(() => {}),
    };
  }
  const { createClient } = await import("npm:@libsql/client@0.8.1/node");
  const { pathToFileURL } = await import("node:url");
  const client = createClient({ url: pathToFileURL(registry.path).href });
  await client.execute("PRAGMA busy_timeout = 5000");
  return client;
}

/** The hooks that record notebook runs. */
export function recordingHooks(): KernelHooks {
  const cells: Cell[] = [];
  const byMsg = new Map<string, Cell>();
  let run: { id: string; root: string; registry?: Registry } | undefined;
  let client: Client | undefined;
  let queue: Promise<void> = Promise.resolve();
  let warned = false;

  const warn = (e: unknown) => {
    if (warned) return;
    warned = true;
    console.error(`lamindeno kernel: cannot record cells: ${(e as Error)?.message ?? e}`);
  };

  const write = (cell: Cell) => {
    if (!run) return;
    const target = run;
    queue = queue.then(async () => {
      client ??= await connect(
        target.registry ?? {
          kind: "libsql",
          path: `${target.root}/.lamindb/lamin.db`,
        },
      );
      await client.execute({
        sql: `INSERT INTO run_cell (run_id, seq, execution_count, code, status, error_name,
                started_at, finished_at, cell_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (run_id, seq) DO UPDATE SET execution_count = excluded.execution_count,
                status = excluded.status, error_name = excluded.error_name,
                finished_at = excluded.finished_at`,
        args: [
          target.id,
          cell.seq,
          cell.executionCount ?? null,
          cell.code,
          cell.status,
          cell.errorName ?? null,
          cell.startedAt.toISOString(),
          cell.endedAt?.toISOString() ?? null,
          cell.cellId ?? null,
        ],
      });
    }).catch(warn);
  };

  return {
    onExecuteRequest(msg) {
      if (msg.silent) return;
      const cell: Cell = {
        msgId: msg.msgId,
        seq: cells.length + 1,
        code: msg.code,
        cellId: msg.cellId,
        startedAt: msg.startedAt,
        status: "running",
      };
      cells.push(cell);
      byMsg.set(msg.msgId, cell);
      write(cell);
    },
    onExecuteReply(msg) {
      const cell = byMsg.get(msg.msgId);
      if (!cell) return;
      cell.executionCount = msg.executionCount;
      cell.status = msg.status;
      cell.errorName = msg.errorName;
      cell.endedAt = msg.endedAt;
      write(cell);
    },
    onKernelMessage(msg) {
      if (msg.msgType !== "lamindeno_run") return;
      const c = msg.content as { run_id?: unknown; root?: unknown };
      if (typeof c?.run_id !== "string" || typeof c?.root !== "string") return;
      if (run?.id === c.run_id) return;
      const registry = (c as { registry?: Registry }).registry;
      if (client && JSON.stringify(registry) !== JSON.stringify(run?.registry)) {
        client.close(); // another instance: reconnect
        client = undefined;
      }
      run = { id: c.run_id, root: c.root, ...(registry ? { registry } : {}) };
      for (const cell of cells) write(cell); // what ran before the run was known
    },
    async onShutdown() {
      await queue;
      client?.close();
    },
  };
}
