// `describe()` of File, Collection, Run and Transform, after lamindb's: what a person
// wants to know at a glance (fields, storage, run, transform, labels,
// features, inputs/outputs), as a text tree and as HTML. Loaded on first use.
import { clip, escapeHtml, htmlFields, showBytes, showDate } from "../_display.ts";
import { Description } from "./description.ts";
import type { Collection } from "./collection.ts";
import type { File } from "./file.ts";
import { FILES } from "./_file_model.ts";
import { defaultInstance, type Instance } from "./instance.ts";
import { type Run, RUNS } from "./run.ts";
import { type Transform, TRANSFORMS } from "./transform.ts";
import { User } from "./user.ts";

/** How many related records a section lists before `… and N more`. */
const SHOWN = 10;

type Rows = [string, string][];
interface Section {
  name: string;
  rows: Rows;
}

/** Render a titled tree of sections (empty sections left out). */
function render(kind: string, title: string, sections: Section[]): Description {
  const kept = sections.filter((s) => s.rows.length > 0);
  const lines = [`${kind}: ${title}`];
  kept.forEach((s, i) => {
    const last = i === kept.length - 1;
    lines.push(`${last ? "└──" : "├──"} ${s.name}`);
    s.rows.forEach(([k, v], j) => {
      const pipe = last ? "    " : "│   ";
      lines.push(`${pipe}${j === s.rows.length - 1 ? "└──" : "├──"} ${k}: ${v}`);
    });
  });
  const html = `<div class="lamindeno-describe"><div><b>${escapeHtml(kind)}:</b> <code>${
    escapeHtml(title)
  }</code></div>${kept.map((s) => htmlFields(s.name, s.rows)).join("")}</div>`;
  return new Description(lines.join("\n"), html);
}

/** `a, b, c … and 4 more`. */
function list(items: string[]): string {
  const head = items.slice(0, SHOWN).join(", ");
  return items.length > SHOWN ? `${head} … and ${items.length - SHOWN} more` : head;
}

/** Rows for the present values only. */
function rows(...pairs: [string, unknown][]): Rows {
  return pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => [k, v instanceof Date ? showDate(v) : clip(String(v), 120)]);
}

/** A file by its key, else its name, else its id and suffix. */
function fileName(f: File): string {
  return f.key ?? f.name ?? `${f.id}${f.suffix}`;
}

/** `qc.ts (script, version 1)`. */
function transformName(t: Transform | undefined, id: string | null, version: string | null) {
  if (!t) return id === null ? undefined : `${id} (version ${version})`;
  return `${t.name} (${t.type}, version ${t.version})`;
}

async function handleOf(inst: Instance, id: string | null): Promise<string | undefined> {
  if (!id) return undefined;
  try {
    return (await User.using(inst).get(id)).handle;
  } catch {
    return id;
  }
}

/** The version fields a record may have (`version`, `isLatest`), when it has them. */
function versionRows(rec: object): [string, unknown][] {
  const v = rec as { version?: unknown; isLatest?: unknown };
  return [["version", v.version], ["isLatest", v.isLatest]];
}

/** `file.describe()`. */
export async function describeFile(f: File): Promise<Description> {
  let path: string | undefined;
  try {
    path = f.isSaved ? f.path() : undefined;
  } catch {
    path = undefined;
  }
  const general: Section = {
    name: "General",
    rows: rows(
      ["id", f.id],
      ["name", f.name !== f.key?.split("/").pop() ? f.name : null],
      ["description", f.description],
      ...versionRows(f),
      ["suffix", f.suffix],
      ["size", f.size === null ? null : showBytes(f.size)],
      ["hash", f.hash],
      ["createdBy", f.createdBy?.handle ?? f.createdById],
      ["createdAt", f.isSaved ? f.createdAt : "not saved yet"],
      ["updatedAt", f.updatedAt.getTime() - f.createdAt.getTime() >= 1000 ? f.updatedAt : null],
      ["storage path", path],
    ),
  };
  if (!f.isSaved) return render("File", fileName(f), [general]);
  const [inputOf, labels, featureSets, folders, values] = await Promise.all([
    f.inputOf.all(),
    f.ulabels.all(),
    f.features.all(),
    f.folders.all(),
    f.features.getValues(),
  ]);
  // Values first, as lamindb's describe() lists them: `temperature: 21.6`.
  const features: Rows = Object.entries(values).map(([name, v]) => [
    name,
    clip(typeof v === "string" ? v : JSON.stringify(v), 200),
  ]);
  for (const fs of featureSets) {
    const members = await fs.members();
    features.push([
      `${fs.type ?? "features"} (${members.length})`,
      clip(list(members.map((m) => (m.dtype ? `${m.name} (${m.dtype})` : m.name))), 200),
    ]);
  }
  return render("File", fileName(f), [
    general,
    {
      name: "Provenance",
      rows: rows(
        ["transform", transformName(f.transform, f.transformId, f.transformVersion)],
        ["run", f.run ? `${f.run.id} (${f.run.status}, ${showDate(f.run.runAt)})` : f.runId],
        ["read by runs", list(inputOf.map((r) => `${r.id} (${r.transform?.name ?? "?"})`))],
      ),
    },
    { name: "Labels", rows: rows(["ulabels", list(labels.map((l) => l.name))]) },
    { name: "Features", rows: features },
    { name: "Folders", rows: rows(["folders", list(folders.map((x) => x.name))]) },
  ]);
}

/** `run.describe()`. */
export async function describeRun(r: Run): Promise<Description> {
  const inst = (r._instance ?? defaultInstance()).assertOpen();
  const [inputs, outputs, labels, cells, handle] = await Promise.all([
    r.inputs.all(),
    r.outputs.all(),
    r.ulabels.all(),
    r.cells(),
    handleOf(inst, r.createdById),
  ]);
  return render("Run", r.name ?? r.id, [
    {
      name: "General",
      rows: rows(
        ["id", r.id],
        ["description", r.description],
        ["transform", transformName(r.transform, r.transformId, r.transformVersion)],
        ["status", r.status],
        ["runAt", r.runAt],
        ["finishedAt", r.finishedAt],
        [
          "reference",
          r.reference && `${r.reference}${r.referenceType ? ` (${r.referenceType})` : ""}`,
        ],
        ["createdBy", handle],
        ["notebook cells", cells.length || null],
      ),
    },
    {
      name: "Params",
      rows: rows(
        ...Object.entries(r.params ?? {}).map(([k, v]) =>
          [k, JSON.stringify(v)] as [string, unknown]
        ),
      ),
    },
    { name: "Inputs", rows: rows(["files", list(inputs.map(fileName))]) },
    { name: "Outputs", rows: rows(["files", list(outputs.map(fileName))]) },
    { name: "Labels", rows: rows(["ulabels", list(labels.map((l) => l.name))]) },
  ]);
}

/** `transform.describe()`. */
export async function describeTransform(t: Transform): Promise<Description> {
  const inst = (t._instance ?? defaultInstance()).assertOpen();
  const [runs, nRuns, outputs, nOutputs, versions, source, handle] = await Promise.all([
    RUNS(inst).filter({ transformId: t.id, transformVersion: t.version }, {
      orderBy: "-runAt",
      limit: SHOWN,
    }),
    RUNS(inst).filter({ transformId: t.id, transformVersion: t.version }).count(),
    FILES(inst).filter({ transformId: t.id, transformVersion: t.version }, { limit: SHOWN }),
    FILES(inst).filter({ transformId: t.id, transformVersion: t.version }).count(),
    TRANSFORMS(inst).filter({ id: t.id }, { orderBy: "createdAt" }),
    t.source(),
    handleOf(inst, t.createdById),
  ]);
  const more = (n: number, shown: number) => (n > shown ? ` … and ${n - shown} more` : "");
  return render("Transform", t.name, [
    {
      name: "General",
      rows: rows(
        ["id", t.id],
        ["version", t.version],
        ["type", t.type],
        ["description", t.description],
        ["reference", t.reference],
        ["hash", t.hash],
        ["source", source === null ? null : `${source.split("\n").length} lines`],
        ["createdBy", handle],
        ["createdAt", t.createdAt],
        ["versions", versions.length > 1 ? versions.map((v) => v.version).join(", ") : null],
      ),
    },
    {
      name: "Runs",
      rows: rows(
        ["count", nRuns || null],
        [
          "latest",
          runs.map((r) => `${r.id} (${r.status}, ${showDate(r.runAt)})`).join(", ") +
          more(nRuns, runs.length),
        ],
      ),
    },
    {
      name: "Outputs",
      rows: rows(["files", outputs.map(fileName).join(", ") + more(nOutputs, outputs.length)]),
    },
  ]);
}

/** `collection.describe()`. */
export async function describeCollection(c: Collection): Promise<Description> {
  const general: Section = {
    name: "General",
    rows: rows(
      ["id", c.id],
      ["description", c.description],
      ...versionRows(c),
      ["hash", c.hash],
      ["createdAt", c.isSaved ? c.createdAt : "not saved yet"],
    ),
  };
  if (!c.isSaved) return render("Collection", c.name, [general]);
  const inst = c._inst;
  const [files, labels, inputOf, handle, run] = await Promise.all([
    c.files.all(),
    c.ulabels.all(),
    c.inputOf.all(),
    handleOf(inst, c.createdById),
    c.runId === null ? undefined : RUNS(inst).byIds([c.runId]).then((rs) => rs[0]),
  ]);
  general.rows.push(...rows(["createdBy", handle]));
  return render("Collection", c.name, [
    general,
    {
      name: "Provenance",
      rows: rows(
        ["transform", transformName(run?.transform, c.transformId, c.transformVersion)],
        ["run", run ? `${run.id} (${run.status}, ${showDate(run.runAt)})` : c.runId],
        ["read by runs", list(inputOf.map((r) => `${r.id} (${r.transform?.name ?? "?"})`))],
      ),
    },
    {
      name: "Files",
      rows: rows(
        ["count", files.length],
        ["size", showBytes(files.reduce((n, f) => n + (f.size ?? 0), 0))],
        ["files", list(files.map(fileName))],
      ),
    },
    { name: "Labels", rows: rows(["ulabels", list(labels.map((l) => l.name))]) },
  ]);
}
