// Lineage graphs: transforms -> runs -> files, upstream of a file (and the
// outputs of a run), as Graphviz DOT rendered to SVG by @viz-js/viz (wasm).
import type { File } from "./file.ts";
import { Run, RUNS } from "./run.ts";
import { log } from "../_log.ts";
import * as rt from "../_runtime.ts";
import { defaultInstance } from "./instance.ts";

const MAX_DEPTH = 20;

function q(s: string): string {
  return JSON.stringify(s);
}

function fileLabel(f: File): string {
  return f.key ?? f.name ?? `${f.id}${f.suffix}`;
}

/** DOT source of the lineage around a file or a run. */
export async function lineageDot(start: File | Run): Promise<string> {
  const nodes = new Map<string, string>();
  const edges = new Set<string>();
  const seenRuns = new Set<string>();
  const addFile = (f: File, focus = false) =>
    nodes.set(
      `f_${f.id}`,
      `[label=${q(fileLabel(f))}, shape=note, style=filled, fillcolor=${
        focus ? q("#ffd97a") : q("#e8f1fb")
      }]`,
    );
  const addRun = (r: Run) => {
    const t = r.transform;
    const tid = `t_${r.transformId}_${r.transformVersion}`;
    nodes.set(
      tid,
      `[label=${
        q(`${t?.name ?? r.transformId} v${r.transformVersion}\n${t?.type ?? "transform"}`)
      }, shape=box, style="rounded,filled", fillcolor="#e6f4ea"]`,
    );
    nodes.set(
      `r_${r.id}`,
      `[label=${q(`run ${r.runAt.toISOString().slice(0, 19).replace("T", " ")}`)}, shape=ellipse]`,
    );
    edges.add(`${tid} -> r_${r.id}`);
  };

  // Upstream: a file's run, that run's inputs, their runs, ...
  const upstream = async (f: File, depth: number): Promise<void> => {
    if (!f.runId || depth > MAX_DEPTH) return;
    const run = f.run ?? await RUNS(f._instance ?? defaultInstance()).get(f.runId);
    edges.add(`r_${run.id} -> f_${f.id}`);
    if (seenRuns.has(run.id)) return;
    seenRuns.add(run.id);
    addRun(run);
    for (const input of await run.inputs.all()) {
      addFile(input);
      edges.add(`f_${input.id} -> r_${run.id}`);
      await upstream(input, depth + 1);
    }
  };

  if (start instanceof Run) {
    seenRuns.add(start.id);
    addRun(start);
    nodes.set(
      `r_${start.id}`,
      `[label="this run", shape=ellipse, style=filled, fillcolor="#ffd97a"]`,
    );
    for (const input of await start.inputs.all()) {
      addFile(input);
      edges.add(`f_${input.id} -> r_${start.id}`);
      await upstream(input, 1);
    }
    for (const out of await start.outputs.all()) {
      addFile(out);
      edges.add(`r_${start.id} -> f_${out.id}`);
    }
  } else {
    addFile(start, true);
    await upstream(start, 0);
  }
  const lines = [
    "digraph lineage {",
    '  rankdir=LR; node [fontname="Helvetica", fontsize=11]; edge [color="#777777"];',
    ...[...nodes].map(([id, attrs]) => `  ${id} ${attrs};`),
    ...[...edges].map((e) => `  ${e};`),
    "}",
  ];
  return lines.join("\n");
}

/** Render DOT to SVG; in a Jupyter kernel, also display it inline. */
export async function renderLineage(dot: string): Promise<string> {
  const { instance } = await import("@viz-js/viz");
  const svg = (await instance()).renderString(dot, { format: "svg" });
  const jupyter = rt.jupyterBridge();
  if (typeof jupyter?.display === "function") {
    try {
      await jupyter.display({ "image/svg+xml": svg }, { raw: true });
    } catch (e) {
      log.debug(`could not display the lineage: ${(e as Error).message}`);
    }
  }
  return svg;
}
