import { showValue } from "../_display.ts";
import { ValidationError } from "../errors.ts";
import {
  date,
  linkManager,
  type Model,
  type Queries,
  queries,
  Query,
  type QueryOptions,
  type RelatedManager,
  type Row,
  type Where,
} from "./_model.ts";
import { defaultInstance, type Instance } from "./instance.ts";
import { newId } from "../_ids.ts";
import { Transform, transformKey, transformsByKey } from "./transform.ts";
import { TRANSFORM_MODEL } from "./transform.ts";
import { USER_MODEL } from "./user.ts";
import type { File } from "./file.ts";
import { ANY_VERSION, FILES } from "./_file_model.ts";
import { retryBusy } from "./_db_errors.ts";
import {
  checkParams,
  paramRows,
  paramsFilter,
  parseParams,
  type RunParams,
} from "./_run_params.ts";
export { checkParams, type JsonValue, type RunParams } from "./_run_params.ts";
import { optionalText, validateDescription } from "./_description.ts";
import { checkKnownOptions } from "../storage/_validate.ts";
import { assertTransformSaved } from "./_saved.ts";
import { type ULabel, ULABEL_MODEL, ulabelsManager } from "./ulabel.ts";
import type { DataFrame } from "../formats/tables.ts";
import type { Description } from "./description.ts";
import type { Lineage } from "./lineage.ts";
import { showRecords } from "./_display.ts";

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
  /** Parameters: a plain object of JSON values (at most 1 MiB as JSON). */
  params?: RunParams;
  /** Free text: why the run was made. */
  description?: string;
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
 * (`file.run`); files it reads are its `inputs`. Its `params` are kept as
 * JSON and can be filtered on: `Run.filter({ params: { lr: 0.1 } })`
 * matches runs whose top-level param `lr` is 0.1.
 *
 * `status` is `"started"` while it runs, `"completed"` after
 * `ln.finish()`, `"errored"` when the tracked script threw. A run still
 * `"started"` with no `finishedAt` after its process ended was killed.
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
  /** Free text, or `null`. */
  description: string | null;
  /** Id of the transform. */
  transformId: string;
  /** Version of the transform. */
  transformVersion: string;
  /** When the run started. */
  runAt: Date;
  /** When it finished, or `null` while running or if it never finished. */
  finishedAt: Date | null;
  /**
   * `"started"` (running, or killed if its process is gone), `"completed"`
   * or `"errored"`.
   */
  status: string;
  /** Parameters (JSON values), or `null`. */
  params: RunParams | null;
  /** When a report of the run was saved; lamindeno saves none yet, so `null`. */
  reportedAt: Date | null;
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
  /** Labels of this run. */
  readonly ulabels: RelatedManager<ULabel>;
  /** @internal The instance it was read from or is saved to. */ _instance: Instance | undefined;

  /** A new, unsaved run (no I/O). */
  constructor(options: RunOptions) {
    if (!options || !(options.transform instanceof Transform)) {
      throw new ValidationError("new Run() needs { transform }, a Transform record");
    }
    checkKnownOptions("new ln.Run(options)", options, RUN_OPTIONS);
    const now = new Date();
    this.id = newId("run");
    this.name = optionalText("Run", "name", options.name);
    this.description = validateDescription("Run", options.description);
    this.transformId = options.transform.id;
    this.transformVersion = options.transform.version;
    this.transform = options.transform;
    this.runAt = now;
    this.finishedAt = null;
    this.status = "started";
    this.params = options.params === undefined ? null : JSON.parse(checkParams(options.params));
    this.reportedAt = null;
    this.reference = optionalText("Run", "reference", options.reference);
    this.referenceType = optionalText("Run", "referenceType", options.referenceType);
    this.createdAt = now;
    this.createdById = "";
    this._instance = options.transform._instance;
    [this.inputs, this.outputs, this.ulabels] = managers(this);
  }

  /**
   * lamindb's name for {@linkcode Run.id} (its records' public id is
   * `uid`).
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const run = await ln.track({ name: "my pipeline" });
   * console.assert((await ln.Run.get(run.uid)).id === run.id);
   * await ln.finish();
   * await ln.close();
   * ```
   */
  get uid(): string {
    return this.id;
  }

  /**
   * lamindb 1.x's name for {@linkcode Run.runAt} (`run.started_at`): when
   * the run started.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const run = await ln.track({ name: "my pipeline" });
   * console.assert(run.startedAt.getTime() === run.runAt.getTime());
   * await ln.finish();
   * await ln.close();
   * ```
   */
  get startedAt(): Date {
    return this.runAt;
  }

  /**
   * lamindb's name for {@linkcode Run.inputs} (`run.input_artifacts`): the
   * files this run read.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * const run = await ln.track({ name: "reader" });
   * await file.cache();
   * console.assert((await run.inputArtifacts.all())[0].id === file.id);
   * await ln.finish();
   * await ln.close();
   * ```
   */
  get inputArtifacts(): RelatedManager<File> {
    return this.inputs;
  }

  /**
   * lamindb's name for {@linkcode Run.outputs} (`run.output_artifacts`):
   * the files this run saved.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const run = await ln.track({ name: "writer" });
   * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * console.assert((await run.outputArtifacts.all())[0].id === file.id);
   * await ln.finish();
   * await ln.close();
   * ```
   */
  get outputArtifacts(): { all(): Promise<File[]> } {
    return this.outputs;
  }

  /** @internal Build from a registry row. */
  static fromRow(row: Row<"run">, inst: Instance, transform?: Transform): Run {
    const r = Object.create(Run.prototype) as Run;
    r.id = row.id;
    r.name = row.name;
    r.description = row.description ?? null;
    r.transformId = row.transform_id;
    r.transformVersion = row.transform_version;
    r.runAt = date(row.run_at);
    r.finishedAt = date(row.finished_at);
    r.status = row.status;
    r.params = parseParams(row.params, row.id);
    r.reportedAt = date(row.reported_at);
    r.reference = row.reference;
    r.referenceType = row.reference_type;
    r.createdAt = date(row.created_at);
    r.createdById = row.created_by_id;
    r.transform = transform;
    r._instance = inst;
    // deno-lint-ignore no-explicit-any
    [(r as any).inputs, (r as any).outputs, (r as any).ulabels] = managers(r);
    return r;
  }

  /** Insert the run, or update its status, end and report times, name and params. */
  async save(): Promise<this> {
    const inst = (this._instance ??= defaultInstance()).assertOpen();
    // Checked again: the fields may have been changed since construction.
    checkRunFields(this);
    const params = this.params === null ? null : checkParams(this.params);
    this.createdById ||= inst.user.id;
    const row = { ...RUN_MODEL.toRow(this), params };
    await retryBusy(() =>
      inst.db.transaction().execute(async (tx) => {
        await assertTransformSaved(tx, this.transformId, this.transformVersion);
        await tx.insertInto("run").values(row)
          .onConflict((oc) =>
            oc.column("id").doUpdateSet({
              name: row.name,
              description: row.description,
              finished_at: row.finished_at,
              status: row.status,
              params: row.params,
              reported_at: row.reported_at,
            })
          ).execute();
        await tx.deleteFrom("run_param").where("run_id", "=", this.id).execute();
        const rows = this.params === null ? [] : paramRows(this.id, JSON.parse(params!));
        // In parts: the databases limit the parameters of one statement.
        for (let i = 0; i < rows.length; i += 500) {
          await tx.insertInto("run_param").values(rows.slice(i, i + 500)).execute();
        }
      })
    );
    return this;
  }

  /**
   * This run's transform, input files (and their upstream lineage) and
   * output files, as a {@linkcode Lineage} (`.svg`, `.dot`). A notebook
   * cell ending in it shows the graph.
   */
  async viewLineage(): Promise<Lineage> {
    const { lineageDot, renderLineage } = await import("./lineage.ts");
    return await renderLineage(await lineageDot(this));
  }

  /**
   * The cells a notebook run executed, in order (recorded by the
   * `lamindeno` kernel); empty for scripts.
   */
  async cells(): Promise<RunCell[]> {
    const db = (this._instance ?? defaultInstance()).assertOpen().db;
    const rows = await db.selectFrom("run_cell").selectAll().where("run_id", "=", this.id)
      .orderBy("seq").execute();
    return rows.map((r) => ({
      executionCount: r.execution_count === null ? null : Number(r.execution_count),
      code: r.code,
      status: r.status as RunCell["status"],
      ...(r.error_name ? { errorName: r.error_name } : {}),
      startedAt: new Date(r.started_at),
      finishedAt: date(r.finished_at),
      ...(r.cell_id ? { cellId: r.cell_id } : {}),
    }));
  }

  /**
   * At a glance: transform, status, times, params, input and output files,
   * labels (see {@linkcode Description}: text in a terminal, HTML in a notebook).
   */
  async describe(): Promise<Description> {
    return await (await import("./_describe.ts")).describeRun(this);
  }

  /** The run with this id, or the one matching `where`. */
  static async get(idOrWhere: string | Where): Promise<Run> {
    return await RUNS(defaultInstance()).get(idOrWhere);
  }

  /**
   * Runs matching `where` (`{}` for all); `{ params: { lr: 0.1 } }` matches
   * runs whose top-level params hold those values.
   */
  static filter(where: Where = {}, options: QueryOptions = {}): Query<Run> {
    return Query.defer("Run", () => RUNS(defaultInstance()).filter(where, options));
  }

  /** The matching records as a polars DataFrame, newest first, at most 100 (as `Query.df()`). */
  static df(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Run.filter(where, options).df();
  }

  /**
   * lamindb's name for {@linkcode Run.df} (`Run.to_dataframe()`, lamindb 1.11
   * and later): the matching runs as a polars DataFrame, newest first, at
   * most 100 unless `options` order or limit them.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await ln.track({ name: "my pipeline" });
   * console.assert((await ln.Run.toDataFrame()).height === 1);
   * await ln.finish();
   * await ln.close();
   * ```
   */
  static toDataFrame(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Run.df(where, options);
  }

  /** Query the runs of another instance (from `ln.connect()`). */
  static using(instance: Instance): Queries<Run> {
    return RUNS(instance);
  }
}

showRecords(Run);

const RUN_OPTIONS = [
  "transform",
  "name",
  "reference",
  "referenceType",
  "params",
  "description",
] as const;
const RUN_STATUSES = ["started", "completed", "errored"];

/** The text fields of a run as they are before a save: what the registry can store. */
function checkRunFields(run: Run): void {
  for (const field of ["name", "description", "reference", "referenceType"] as const) {
    run[field] = optionalText("Run", field, run[field]);
  }
  if (!RUN_STATUSES.includes(run.status)) {
    throw new ValidationError(
      `Run status is ${RUN_STATUSES.map((s) => `"${s}"`).join(", ")}, got ${showValue(run.status)}`,
    );
  }
  for (const field of ["runAt", "createdAt"] as const) {
    if (!(run[field] instanceof Date) || Number.isNaN(run[field].getTime())) {
      throw new ValidationError(`Run ${field} must be a valid Date, got ${showValue(run[field])}`);
    }
  }
  const end = run.finishedAt;
  if (end !== null && (!(end instanceof Date) || Number.isNaN(end.getTime()))) {
    throw new ValidationError(`Run finishedAt must be a Date or null, got ${showValue(end)}`);
  }
}

function managers(
  run: Run,
): [RelatedManager<File>, { all(): Promise<File[]> }, RelatedManager<ULabel>] {
  const self = () => ({ id: run.id, inst: run._instance ?? defaultInstance() });
  return [
    linkManager("run_input", "run_id", self, "file_id", (inst, ids) => FILES(inst).byIds(ids)),
    { all: () => FILES(self().inst).filter({ runId: run.id, isLatest: ANY_VERSION }).all() },
    ulabelsManager("run_ulabel", "run_id", self),
  ];
}

/** The `run` table's mapping. */
export const RUN_MODEL: Model<"run", Run> = {
  table: "run",
  label: "Run",
  fields: {
    id: "id",
    name: "name",
    description: "description",
    transformId: "transform_id",
    transformVersion: "transform_version",
    runAt: "run_at",
    finishedAt: "finished_at",
    status: "status",
    reportedAt: "reported_at",
    reference: "reference",
    referenceType: "reference_type",
    createdAt: "created_at",
    createdById: "created_by_id",
  },
  relations: {
    transform: { column: "transform_id", target: () => TRANSFORM_MODEL as never },
    createdBy: { column: "created_by_id", target: () => USER_MODEL as never },
  },
  customFilters: { params: paramsFilter },
  links: {
    ulabels: {
      table: "run_ulabel",
      self: "run_id",
      other: "ulabel_id",
      target: () => ULABEL_MODEL as never,
    },
  },
  fromRow: (row, inst) => Run.fromRow(row, inst),
  toRow: (r) => ({
    id: r.id,
    name: r.name,
    description: r.description,
    transform_id: r.transformId,
    transform_version: r.transformVersion,
    run_at: r.runAt.toISOString(),
    finished_at: r.finishedAt?.toISOString() ?? null,
    status: r.status,
    params: r.params === null ? null : JSON.stringify(r.params),
    reported_at: r.reportedAt?.toISOString() ?? null,
    reference: r.reference,
    reference_type: r.referenceType,
    created_at: r.createdAt.toISOString(),
    created_by_id: r.createdById,
  }),
};

/** Runs from rows, with their transforms joined (one query). */
async function hydrate(inst: Instance, rows: Row<"run">[]): Promise<Run[]> {
  const transforms = await transformsByKey(
    inst,
    rows.map((r) => ({ transformId: r.transform_id, transformVersion: r.transform_version })),
  );
  return rows.map((r) =>
    Run.fromRow(r, inst, transforms.get(transformKey(r.transform_id, r.transform_version)))
  );
}

/** @internal Queries of runs (transforms joined). */
export const RUNS: (inst: Instance) => Queries<Run> = queries(RUN_MODEL, hydrate);

/**
 * @internal Delete the run `id` if nothing refers to it (no cells, inputs,
 * outputs, labels); in one transaction. Whether it was deleted.
 */
export async function discardUnusedRun(inst: Instance, id: string): Promise<boolean> {
  return await retryBusy(() =>
    inst.db.transaction().execute(async (tx) => {
      const referring = [
        "run_cell",
        "run_input",
        "run_input_collection",
        "run_ulabel",
        "file",
        "collection",
      ] as const;
      for (const table of referring) {
        const hit = await tx.selectFrom(table).select("run_id").where("run_id", "=", id).limit(1)
          .executeTakeFirst();
        if (hit) return false;
      }
      await tx.deleteFrom("run_param").where("run_id", "=", id).execute();
      const r = await tx.deleteFrom("run").where("id", "=", id).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    })
  );
}
