// ln.track() / ln.finish(): a Run of the script or notebook, its Transform
// versioned by content; files loaded while it runs become its inputs and
// files saved its outputs.
import { isStorableText } from "../registry/_description.ts";
import { showValue } from "../_display.ts";
import { ValidationError } from "../errors.ts";
import { checkKnownOptions, isPlainObject, LazySchema } from "../storage/_validate.ts";
import { log } from "../_log.ts";
import * as rt from "../_runtime.ts";
import { defaultInstance, type Instance } from "../registry/instance.ts";
import { Run, RUNS } from "../registry/run.ts";
import { checkParams, type RunParams } from "../registry/run.ts";
import { unwatchErrors, watchErrors } from "./_run_status.ts";
import { Transform, TRANSFORM_MODEL } from "../registry/transform.ts";
import { type CodeOrigin, inJupyterKernel, notebookOrigin, scriptOrigin } from "./_where.ts";
import { isUnnamedNotebook, nameUnnamedNotebook, startUnnamedNotebookRun } from "./_unnamed.ts";
import {
  kernelGlobal,
  RUN_MESSAGE,
  type RunAnnouncement,
  setKernelRun,
} from "./kernel_messages.ts";

/** Options of {@linkcode track}. */
export interface TrackOptions {
  /** Transform name (default: the script or notebook file name). */
  name?: string;
  /** Transform version (default: "1", then the next integer each time the content changes). */
  version?: string;
  /** Track this transform instead of the running script. */
  transform?: Transform;
  /**
   * The run's parameters, kept on `run.params` and queryable with
   * `Run.filter({ params: { lr: 0.1 } })`: a plain object of JSON values
   * (finite numbers, strings, booleans, null, arrays, plain objects), at
   * most 1 MiB as JSON.
   */
  params?: RunParams;
}

const STORABLE =
  "text without NUL characters or half surrogate pairs (the registry cannot store them)";

/**
 * The zod schema of {@linkcode TrackOptions} (zod loads on first use), what
 * `track` checks its options with: `parse` throws a `ValidationError`
 * naming the field, what was expected and what was got.
 *
 * @example
 * ```ts
 * import { TrackOptionsSchema } from "@lamindeno/lamindb";
 * console.assert((await TrackOptionsSchema.safeParse({ name: "pipeline", version: "2" })).success);
 * console.assert(!(await TrackOptionsSchema.safeParse({ name: "" })).success);
 * ```
 */
export const TrackOptionsSchema: LazySchema<TrackOptions> = new LazySchema(
  "ln.track() options",
  (z) =>
    z.strictObject({
      name: z.string({ error: "a non-empty string" }).min(1, "a non-empty string")
        .refine(isStorableText, STORABLE).optional(),
      version: z.string({ error: "a non-empty string" }).min(1, "a non-empty string")
        .refine(isStorableText, STORABLE).optional(),
      transform: z.instanceof(Transform, { error: "a Transform record" }).optional(),
      // Checked in full (JSON values, size) by the Run.
      params: z.custom<RunParams>(
        (v) => typeof v === "object" && v !== null && !Array.isArray(v),
        { error: "a plain object like { lr: 0.1 }" },
      ).optional(),
    }, { error: 'an object like { name: "my pipeline", version: "1" }' }),
);

const TRACK_OPTIONS = ["name", "version", "transform", "params"] as const;

async function transformFor(
  inst: Instance,
  src: CodeOrigin | undefined,
  options: TrackOptions,
): Promise<Transform> {
  if (options.transform) {
    if (!(options.transform instanceof Transform)) {
      throw new ValidationError("track({ transform }) takes a Transform record");
    }
    return await options.transform.save();
  }
  const name = options.name ?? src?.name;
  if (!name) {
    throw new ValidationError(
      'track() cannot tell what is running (no script file); pass { name: "my pipeline" }',
    );
  }
  // The same source (or, without one, the same name) is the same transform.
  let q = inst.db.selectFrom("transform").selectAll();
  q = src ? q.where("reference", "=", src.reference) : q.where("name", "=", name).where(
    "reference",
    "is",
    null,
  );
  const versions = (await q.execute()).map((r) => TRANSFORM_MODEL.fromRow(r, inst));
  // A notebook first run without its path and named by it later is its own
  // family (same reference, other id): the version with this content is matched
  // as a record, not by its version string alone.
  const byHash = options.version ? undefined : versions.find((t) => src && t.hash === src.hash);
  const id = byHash?.id ?? versions[0]?.id;
  const wanted = options.version ?? byHash?.version ??
    String(1 + versions.reduce((m, t) => Math.max(m, Number(t.version) || 0), 0));
  const existing = byHash ?? versions.find((t) => t.id === id && t.version === wanted);
  if (existing && (!options.name || existing.name === options.name)) {
    if (src && existing.hash !== src.hash && options.version) {
      log.warn(
        `${src.reference} changed but version "${wanted}" was asked for: keeping that version`,
      );
    }
    if (src?.source !== undefined && existing.sourceCode === null && existing.hash === src.hash) {
      // A version made before sources were kept: store its (unchanged) source now.
      existing.sourceCode = src.source;
      await existing.save();
    }
    return existing;
  }
  const t = new Transform({
    instance: inst,
    ...(id ? { id } : {}),
    name,
    version: wanted,
    type: src?.type ?? "pipeline",
    ...(src ? { reference: src.reference } : {}),
  });
  t.hash = src?.hash ?? null;
  t.sourceCode = src?.source ?? null;
  return await t.save();
}

/**
 * Start a Run of the running script (or notebook; in the lamindeno kernel
 * this happens by itself). Its Transform is found by the script's path
 * (relative to the git root): unchanged content gives the same transform
 * and a new run, edited content a new version. While the run is active,
 * loaded files become its inputs and saved files its outputs. `params`
 * are kept on the run; the script's text (a notebook's code cells) is
 * kept once per transform version (`transform.source()`). If the script
 * throws, the run is saved as `errored` before the process ends (the
 * error is reported and the exit code is as without tracking).
 *
 * A {@linkcode Transform} as the argument (lamindb's
 * `ln.track(transform)`) tracks it, as `{ transform }` does; a string
 * (lamindb's transform uid) is a `ValidationError` saying what to pass.
 *
 * @example Track a transform made by hand
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const transform = await new ln.Transform({ key: "Cell Ranger", version: "7.2.0" }).save();
 * const run = await ln.track(transform);
 * console.assert(run.transformId === transform.id && run.transformVersion === "7.2.0");
 * await ln.finish();
 * await ln.close();
 * ```
 *
 * @example
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const run = await ln.track({ name: "my pipeline", params: { lr: 0.1, donors: ["D1"] } });
 * console.assert(ln.context.run?.id === run.id);
 * console.assert((await ln.Run.filter({ params: { lr: 0.1 } }))[0].id === run.id);
 * await ln.finish();
 * await ln.close();
 * ```
 */
export async function track(given: TrackOptions | Transform = {}): Promise<Run> {
  // lamindb's ln.track(transform): the record, as the `transform` option.
  const options: TrackOptions = given instanceof Transform ? { transform: given } : given;
  if (typeof (given as unknown) === "string") {
    throw new ValidationError(
      `ln.track(${showValue(given)}): lamindb's ln.track("<transform uid>") has no ` +
        `counterpart here; a script's or notebook's transform is found by its path ` +
        `(ln.track()), or pass one: ln.track({ transform: await ln.Transform.get({ id, ` +
        `version }) }) or ln.track({ name: "my pipeline" })`,
    );
  }
  if (isPlainObject(given as unknown)) {
    checkKnownOptions("ln.track(options)", given, TRACK_OPTIONS);
  }
  await TrackOptionsSchema.parse(options);
  const inst = defaultInstance().assertOpen();
  const notebook = inJupyterKernel() && !options.transform ? await notebookOrigin() : undefined;
  // Params are checked before anything is written.
  if (options.params !== undefined) checkParams(options.params);
  // The notebook's run started without its path: name it, keep the run.
  if (
    inst.run && inJupyterKernel() && !options.transform && isUnnamedNotebook(inst.run.transform)
  ) {
    return await nameNotebookRun(inst, inst.run, inst.run.transform!, notebook, options);
  }
  const src = options.transform ? undefined : notebook ?? scriptOrigin();
  const transform = await transformFor(inst, src, options);
  const run = new Run({
    transform,
    ...(options.params === undefined ? {} : { params: options.params }),
  });
  await run.save();
  inst.transform = transform;
  inst.run = run;
  if (inJupyterKernel()) sessionRuns.set(inst.storage.root, run.id);
  // A script's uncaught error ends it: its run is errored. In a notebook the
  // kernel records each cell's outcome and a stray rejection ends nothing.
  if (!inJupyterKernel()) watchErrors(inst, run);
  await announceRun(inst, run);
  log.info(
    `tracking ${transform.type} "${transform.name}" version ${transform.version} ` +
      `(transform ${transform.id}), run ${run.id}`,
  );
  return run;
}

const FINISH_STATUSES: readonly string[] = ["completed", "errored"];

/**
 * Finish the current run: record its end time and status `completed`, and
 * stop linking inputs and outputs to it. A script that throws instead
 * leaves its run `errored` (with an end time). A run that is never
 * finished (its process was killed) stays `started` with no end time, and
 * keeps its links.
 */
export async function finish(options: { status?: "completed" | "errored" } = {}): Promise<void> {
  checkKnownOptions("ln.finish(options)", options, ["status"]);
  if (options.status !== undefined && !FINISH_STATUSES.includes(options.status)) {
    throw new ValidationError(
      `ln.finish({ status }) takes "completed" or "errored", got ${showValue(options.status)}`,
    );
  }
  const inst = defaultInstance(); // NotInitializedError before ln.init() or after ln.close()
  const run = inst.run;
  if (!run) {
    throw new ValidationError("finish(): no run is being tracked; call ln.track() first");
  }
  unwatchErrors();
  run.finishedAt = new Date();
  run.status = options.status ?? "completed";
  await run.save();
  inst.run = undefined;
  inst.transform = undefined;
  // A notebook that opens this instance again is not tracked again by itself.
  if (sessionRuns.has(inst.storage.root)) sessionRuns.set(inst.storage.root, null);
}

/**
 * In the lamindeno kernel, tell the kernel (which sees every iopub message)
 * which run and registry to record the notebook's cells into; stock
 * kernels have no `__lamindeno_kernel` and are left alone. The kernel's
 * global keeps the registry's URL without password; the message (consumed
 * by the kernel, never shown to the client) carries the instance's own
 * location, so a password the notebook's code gave still lets the kernel in.
 */
async function announceRun(inst: Instance, run: Run): Promise<void> {
  if (!kernelGlobal()) return;
  const location = inst.locationWithCredentials();
  const info: RunAnnouncement = {
    run_id: run.id,
    root: inst.storage.root,
    ...(location ? { registry: location } : {}),
    ...(isUnnamedNotebook(run.transform) ? { path_unknown: true } : {}),
  };
  setKernelRun(info);
  try {
    const bridge = rt.jupyterBridge();
    if (!bridge?.broadcast) {
      throw new Error("no Jupyter bridge in this runtime (not a Deno kernel)");
    }
    await bridge.broadcast(RUN_MESSAGE, info);
  } catch (e) {
    log.debug(`could not tell the kernel about the run: ${(e as Error).message}`);
  }
}

/**
 * This kernel session's run in each instance it opened, by storage root
 * (`null`: tried, or finished with `ln.finish()`): an instance opened again
 * (the init cell run twice, `close()` then `init()`) gets that run back,
 * another instance a run of its own.
 */
const sessionRuns = new Map<string, string | null>();

/** A run the lamindeno kernel started before the first cell (`LAMINDENO_STORAGE`). */
type KernelRun = RunAnnouncement;

function kernelRun(): KernelRun | undefined {
  return kernelGlobal()?.early;
}

/**
 * For the lamindeno kernel, in its own process before the first cell: start
 * the run of the notebook being opened, in the open instance. When the
 * notebook cannot be found, the run of a new unnamed notebook transform
 * (announced with `path_unknown`, named later).
 * @internal
 */
export async function startKernelRun(): Promise<KernelRun> {
  const src = await notebookOrigin();
  const inst = defaultInstance().assertOpen();
  let run: Run;
  if (src) {
    run = await new Run({ transform: await transformFor(inst, src, {}) }).save();
  } else {
    run = await startUnnamedNotebookRun(inst);
  }
  // The kernel's recorder gets the credentials; its global, only the stripped URL.
  const location = inst.locationWithCredentials();
  return {
    run_id: run.id,
    root: inst.storage.root,
    ...(location ? { registry: location } : {}),
    ...(src ? {} : { path_unknown: true }),
  };
}

/**
 * In a Jupyter kernel, the first use of the API in an instance starts a run
 * of the notebook there (once per kernel session and instance), unless one
 * is tracked already; an instance opened again gets this session's run back.
 */
export async function autoTrackNotebook(inst: Instance): Promise<void> {
  if (inst.run || !inJupyterKernel()) return;
  const root = inst.storage.root;
  const known = sessionRuns.get(root);
  if (known === null) return;
  sessionRuns.set(root, null); // a failure is not tried again at each init
  try {
    const run = known === undefined
      ? await startNotebookRun(inst)
      : await resumeSessionRun(inst, known);
    if (run) sessionRuns.set(root, run.id);
  } catch (e) {
    // Provenance must never break the notebook.
    log.warn(`could not start a run for this notebook: ${(e as Error).message}`);
  }
}

/** The instance opened again: track this session's run in it again (unless it finished). */
async function resumeSessionRun(inst: Instance, id: string): Promise<Run | undefined> {
  const run = await RUNS(inst).filter({ id }).then((r) => r[0]);
  if (!run?.transform || run.finishedAt) return undefined;
  inst.run = run;
  inst.transform = run.transform;
  // The kernel records the cells into it again (another instance may have had them since).
  await announceRun(inst, run);
  log.info(
    `tracking notebook "${run.transform.name}" version ${run.transform.version}, run ${run.id}`,
  );
  return run;
}

async function startNotebookRun(inst: Instance): Promise<Run> {
  // The kernel started this session's run in this instance already: adopt it.
  const early = kernelRun();
  if (early && early.root === inst.storage.root) {
    const run = await RUNS(inst).filter({ id: early.run_id }).then((r) => r[0]);
    if (run?.transform) {
      inst.run = run;
      inst.transform = run.transform;
      log.info(
        `tracking notebook "${run.transform.name}" version ${run.transform.version}, ` +
          `run ${run.id} (started by the lamindeno kernel)`,
      );
      if (isUnnamedNotebook(run.transform)) warnUnnamed(run.transform);
      return run;
    }
  }
  const src = await notebookOrigin();
  if (src) return await track();
  // No path: the notebook is recorded all the same, under a name to change later.
  const run = await startUnnamedNotebookRun(inst);
  inst.run = run;
  inst.transform = run.transform;
  await announceRun(inst, run);
  return run;
}

let unnamedWarned = false;

function warnUnnamed(t: Transform): void {
  if (unnamedWarned) return;
  unnamedWarned = true;
  log.warn(
    `the notebook's path is unknown: it is recorded as "${t.name}"; ` +
      'name it with ln.track({ name: "..." })',
  );
}

/**
 * `track()` in a notebook whose run started without its path: name its
 * transform (from the path found now, or `options.name`), set `params`, and
 * keep the run and every cell and file recorded so far.
 */
async function nameNotebookRun(
  inst: Instance,
  run: Run,
  transform: Transform,
  src: CodeOrigin | undefined,
  options: TrackOptions,
): Promise<Run> {
  if (!src && !options.name) {
    log.info(`still tracking "${transform.name}": pass { name } to name this notebook`);
  } else {
    await nameUnnamedNotebook(inst.db, run.id, {
      ...(src ? { origin: src } : {}),
      ...(options.name ? { name: options.name } : {}),
    });
    const row = await inst.db.selectFrom("transform").selectAll()
      .where("id", "=", transform.id).where("version", "=", transform.version)
      .executeTakeFirstOrThrow();
    Object.assign(transform, TRANSFORM_MODEL.fromRow(row, inst));
    if (options.name && transform.name !== options.name) {
      // The kernel named it by its path meanwhile: the name asked for wins.
      transform.name = options.name;
      await transform.save();
    }
  }
  if (options.version !== undefined && options.version !== transform.version) {
    log.warn(`this notebook's run started as version ${transform.version}: keeping that version`);
  }
  if (options.params !== undefined) {
    run.params = options.params;
    await run.save();
  }
  inst.transform = transform;
  await announceRun(inst, run);
  log.info(
    `tracking notebook "${transform.name}" version ${transform.version} ` +
      `(transform ${transform.id}), run ${run.id}`,
  );
  return run;
}
