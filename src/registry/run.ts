import { ValidationError } from "../errors.ts";
import { instance } from "../_state.ts";
import {
  anyDb,
  date,
  linkManager,
  optDate,
  type RelatedManager,
  rowsByIds,
  selectOne,
  selectRows,
  str,
  type Where,
} from "./_record.ts";
import { newId } from "../_ids.ts";
import { Transform } from "./transform.ts";
import { File } from "./file.ts";

const COLUMNS = [
  "id",
  "name",
  "transform_id",
  "transform_version",
  "run_at",
  "finished_at",
  "status",
  "reference",
  "reference_type",
  "created_at",
  "created_by_id",
] as const;

/** Options of `new ln.Run()`. */
export interface RunOptions {
  /** The transform this run executes (saved). */
  transform: Transform;
  /** Optional name. */
  name?: string;
  /** A reference, e.g. a workflow engine's run id. */
  reference?: string;
  /** What `reference` is, e.g. `"nextflow"`. */
  referenceType?: string;
}

/** One executed notebook cell of a run. */
export interface RunCell {
  /** The kernel's execution count (`null` if the cell never finished). */
  executionCount: number | null;
  /** The cell's code. */
  code: string;
  /** How it ended; `"running"` if the kernel died while it ran. */
  status: "ok" | "error" | "aborted" | "running";
  /** The error's name, for `"error"`. */
  errorName?: string;
  /** When execution started. */
  startedAt: Date;
  /** When it ended, or `null`. */
  finishedAt: Date | null;
  /** The front end's cell id, when it sent one. */
  cellId?: string;
}

/**
 * One execution of a {@linkcode Transform}. Files it saves point to it
 * (`file.run`); files it reads are its `inputs`.
 *
 * @example A run that reads a file
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const transform = await new ln.Transform({ name: "demo" }).save();
 * const run = await new ln.Run({ transform }).save();
 * const file = await new ln.File(new Uint8Array([1, 2, 3]), { key: "x.bin" }).save();
 * await run.inputs.add(file);
 * console.assert((await run.inputs.all())[0].id === file.id);
 * await ln.close();
 * ```
 */
export class Run {
  /** 20-character base62 id. */
  id: string;
  /** Optional name. */
  name: string | null;
  /** Id of the transform. */
  transformId: string;
  /** Version of the transform. */
  transformVersion: string;
  /** When the run started. */
  runAt: Date;
  /** When it finished, or `null` while running or if it never finished. */
  finishedAt: Date | null;
  /** `"started"`, `"completed"` or `"errored"`. */
  status: string;
  /** A reference, e.g. an external run id. */
  reference: string | null;
  /** What `reference` is. */
  referenceType: string | null;
  /** When the record was created. */
  createdAt: Date;
  /** Id of the user who created it. */
  createdById: string;
  /** The transform [pre-joined]. */
  transform: Transform | undefined;
  /** Files this run read. */
  readonly inputs: RelatedManager<File>;
  /** Files this run saved (`outputs.all()`). */
  readonly outputs: { all(): Promise<File[]> };

  /** A new, unsaved run (no I/O). */
  constructor(options: RunOptions) {
    if (!options || !(options.transform instanceof Transform)) {
      throw new ValidationError("new Run() needs { transform }, a Transform record");
    }
    const now = new Date();
    this.id = newId("run");
    this.name = options.name ?? null;
    this.transformId = options.transform.id;
    this.transformVersion = options.transform.version;
    this.transform = options.transform;
    this.runAt = now;
    this.finishedAt = null;
    this.status = "started";
    this.reference = options.reference ?? null;
    this.referenceType = options.referenceType ?? null;
    this.createdAt = now;
    this.createdById = "";
    [this.inputs, this.outputs] = managers(this);
  }

  /** @internal Build from a registry row. */
  static fromRow(row: Record<string, unknown>, transform?: Transform): Run {
    const r = Object.create(Run.prototype) as Run;
    r.id = String(row.id);
    r.name = str(row.name);
    r.transformId = String(row.transform_id);
    r.transformVersion = String(row.transform_version);
    r.runAt = date(row.run_at);
    r.finishedAt = optDate(row.finished_at);
    r.status = String(row.status);
    r.reference = str(row.reference);
    r.referenceType = str(row.reference_type);
    r.createdAt = date(row.created_at);
    r.createdById = String(row.created_by_id);
    r.transform = transform;
    // deno-lint-ignore no-explicit-any
    [(r as any).inputs, (r as any).outputs] = managers(r);
    return r;
  }

  /** Insert the run, or update its status, end time and name. */
  async save(): Promise<this> {
    const inst = instance();
    this.createdById ||= inst.user.id;
    const row = {
      id: this.id,
      name: this.name,
      transform_id: this.transformId,
      transform_version: this.transformVersion,
      run_at: this.runAt.toISOString(),
      finished_at: this.finishedAt?.toISOString() ?? null,
      status: this.status,
      reference: this.reference,
      reference_type: this.referenceType,
      created_at: this.createdAt.toISOString(),
      created_by_id: this.createdById,
    };
    await anyDb().insertInto("run").values(row)
      .onConflict((oc) =>
        oc.column("id").doUpdateSet({
          name: row.name,
          finished_at: row.finished_at,
          status: row.status,
        })
      ).execute();
    return this;
  }

  /**
   * An SVG of this run: its transform, input files (and their upstream
   * lineage) and output files. In a Jupyter notebook it is also displayed.
   */
  async viewLineage(): Promise<string> {
    const { lineageDot, renderLineage } = await import("../track/lineage.ts");
    return await renderLineage(await lineageDot(this));
  }

  /**
   * The cells a notebook run executed, in order (recorded by the
   * `lamindeno` kernel); empty for scripts.
   */
  async cells(): Promise<RunCell[]> {
    const rows = await anyDb().selectFrom("run_cell").selectAll().where("run_id", "=", this.id)
      .orderBy("seq").execute();
    return rows.map((r) => ({
      executionCount: r.execution_count === null ? null : Number(r.execution_count),
      code: String(r.code),
      status: String(r.status) as RunCell["status"],
      ...(r.error_name ? { errorName: String(r.error_name) } : {}),
      startedAt: new Date(String(r.started_at)),
      finishedAt: r.finished_at ? new Date(String(r.finished_at)) : null,
      ...(r.cell_id ? { cellId: String(r.cell_id) } : {}),
    }));
  }

  /** The run with this id, or the one matching `where`. */
  static async get(idOrWhere: string | Where): Promise<Run> {
    return (await hydrate([await selectOne("run", COLUMNS, idOrWhere, "Run")]))[0];
  }

  /** Runs matching `where` (`{}` for all). */
  static async filter(where: Where = {}): Promise<Run[]> {
    return await hydrate(await selectRows("run", COLUMNS, where, "Run"));
  }
}

function managers(run: Run): [RelatedManager<File>, { all(): Promise<File[]> }] {
  return [
    linkManager("run_input", "run_id", () => run.id, "file_id", (ids) => File.byIds(ids)),
    { all: () => File.filter({ runId: run.id }) },
  ];
}

/** Runs from rows, with their transforms pre-joined. */
async function hydrate(rows: Record<string, unknown>[]): Promise<Run[]> {
  const keys = [...new Set(rows.map((r) => `${r.transform_id}\0${r.transform_version}`))];
  const transforms = new Map<string, Transform>();
  for (const k of keys) {
    const [id, version] = k.split("\0");
    const t = await anyDb().selectFrom("transform").selectAll().where("id", "=", id)
      .where("version", "=", version).executeTakeFirst();
    if (t) transforms.set(k, Transform.fromRow(t));
  }
  return rows.map((r) =>
    Run.fromRow(r, transforms.get(`${r.transform_id}\0${r.transform_version}`))
  );
}

/** Runs by ids, transforms pre-joined (order of `ids`). */
export async function runsByIds(ids: string[]): Promise<Run[]> {
  return await hydrate(await rowsByIds("run", ids));
}
