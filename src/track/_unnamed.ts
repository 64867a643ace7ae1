// A notebook whose path nobody tells the kernel (nbclient or papermill driving
// it from memory, `nbconvert --stdin`, a server that sets no session name, a
// notebook not saved yet) is still recorded: a `notebook` transform named from
// what the kernel knows (its working directory and the time), with its run,
// cells, inputs and outputs. `ln.track({ name })` in a later cell names it, and
// a path found later (the kernel looks again now and then, and at shutdown)
// names it too. Both rename the transform in place (same id and version), so
// the run, its files and the library's objects keep pointing at it.
import { basename, relative } from "node:path";
import type { Kysely } from "kysely";
import { log } from "../_log.ts";
import type { Instance } from "../registry/instance.ts";
import { Run } from "../registry/run.ts";
import type { Database } from "../registry/schema.ts";
import { Transform } from "../registry/transform.ts";
import { retryBusy } from "../registry/_db_errors.ts";
import { nowIso } from "../registry/_model.ts";
import { type CodeOrigin, gitRoot } from "./_where.ts";

/** How the description of a transform still waiting for its name starts. */
export const UNNAMED_MARK = "Executed without the notebook's path";

let warned = false;

/** The folder a name can mention: relative to the git root, else its own name; none for `/` or home. */
function folderLabel(cwd: string): string | undefined {
  let home: string | undefined;
  try {
    home = Deno.env.get("HOME");
  } catch { /* no env access */ }
  if (cwd === "/" || cwd === home) return undefined;
  const root = gitRoot(`${cwd}/.`);
  const rel = root ? relative(root, cwd).split("\\").join("/") : "";
  return rel || basename(cwd) || undefined;
}

/**
 * The name of a notebook whose path is unknown, e.g.
 * `notebook in analysis (path unknown, 2026-12-03 00:50:12 UTC)`.
 */
export function unnamedNotebookName(cwd: string, at: Date): string {
  const when = `${at.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  const dir = folderLabel(cwd);
  return dir ? `notebook in ${dir} (path unknown, ${when})` : `notebook (path unknown, ${when})`;
}

/** True for a transform made by {@linkcode startUnnamedNotebookRun} and not named since. */
export function isUnnamedNotebook(
  t: Pick<Transform, "type" | "reference" | "description"> | undefined,
): boolean {
  return t?.type === "notebook" && t.reference === null &&
    (t.description?.startsWith(UNNAMED_MARK) ?? false);
}

/**
 * Start a run of a notebook whose path is unknown, under a new `notebook`
 * transform named from the kernel's working directory and the time; warns
 * once per process (how to name it).
 */
export async function startUnnamedNotebookRun(
  inst: Instance,
  cwd: string = Deno.cwd(),
  at: Date = new Date(),
): Promise<Run> {
  const transform = new Transform({
    instance: inst,
    name: unnamedNotebookName(cwd, at),
    version: "1",
    type: "notebook",
    description: `${UNNAMED_MARK} (kernel working directory: ${cwd}); ` +
      'name it with ln.track({ name: "..." }) or by saving the notebook',
  });
  await transform.save();
  const run = await new Run({ transform }).save();
  if (!warned) {
    warned = true;
    log.warn(
      `the notebook's path is unknown (nbclient, papermill or nbconvert without a file, or a ` +
        `server that does not say): recording it as "${transform.name}"; ` +
        `name it with ln.track({ name: "..." })`,
    );
  }
  return run;
}

/**
 * Name the transform of run `runId`, if it is still unnamed: from the
 * notebook found at last (`origin`: its file name, path, hash and code)
 * and/or from `name` (which wins over the file name). In place: same id and
 * version. True when renamed.
 */
export async function nameUnnamedNotebook(
  db: Kysely<Database>,
  runId: string,
  by: { origin?: CodeOrigin; name?: string },
): Promise<boolean> {
  if (!by.origin && !by.name) return false;
  const run = await db.selectFrom("run").select(["transform_id", "transform_version"])
    .where("id", "=", runId).executeTakeFirst();
  if (!run) return false;
  const t = await db.selectFrom("transform").select(["type", "reference", "description"])
    .where("id", "=", run.transform_id).where("version", "=", run.transform_version)
    .executeTakeFirst();
  if (!t || !isUnnamedNotebook(t)) return false;
  const cwd = t.description?.match(/kernel working directory: (.*?)\);/)?.[1];
  const { origin, name } = by;
  const set = {
    name: name ?? origin!.name,
    ...(origin
      ? {
        reference: origin.reference,
        hash: origin.hash,
        source_code: origin.source ?? null,
        description: null,
      }
      : {
        description: `Named with ln.track(); the notebook's path was unknown` +
          (cwd ? ` (kernel working directory: ${cwd})` : ""),
      }),
    updated_at: nowIso(),
  };
  const r = await retryBusy(() =>
    db.updateTable("transform").set(set)
      .where("id", "=", run.transform_id).where("version", "=", run.transform_version)
      .where("reference", "is", null).executeTakeFirst()
  );
  return Number(r.numUpdatedRows) > 0;
}
