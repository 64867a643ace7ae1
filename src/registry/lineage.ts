// Lineage graphs: transforms -> runs -> files, upstream of a file (and the
// outputs of a run), as Graphviz DOT rendered to SVG by @viz-js/viz (wasm).
import type { File } from "./file.ts";
import { Run, RUNS } from "./run.ts";
import { installDisplay, JUPYTER_DISPLAY } from "../_display.ts";
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

/**
 * What `viewLineage()` returns: the lineage graph as SVG (and its Graphviz
 * DOT source). It shows itself: a notebook cell ending in
 * `await file.viewLineage()` displays the graph, exactly once; elsewhere
 * its text form is one line and `String(lineage)` is the SVG.
 *
 * @example Save the lineage of a file as an SVG file
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
 * const lineage = await file.viewLineage();
 * console.assert(lineage.svg.includes("<svg") && lineage.dot.includes("a.txt"));
 * await Deno.writeTextFile(await Deno.makeTempFile({ suffix: ".svg" }), lineage.svg);
 * await ln.close();
 * ```
 */
export class Lineage {
  /** The graph as an SVG document. */
  readonly svg: string;
  /** The graph as Graphviz DOT. */
  readonly dot: string;

  /** @internal Made by `viewLineage()`. */
  constructor(svg: string, dot: string) {
    this.svg = svg;
    this.dot = dot;
  }

  /** The SVG. */
  toString(): string {
    return this.svg;
  }
}

function lineageText(l: Lineage): string {
  const nodes = (l.dot.match(/^ {2}[a-z]_\S+ \[/gm) ?? []).length;
  return `Lineage(${nodes} nodes; .svg, .dot)`;
}
installDisplay(Lineage.prototype, lineageText, (l) => l.svg);
// A notebook shows the graph as an image (one output), not HTML around it.
Object.defineProperty(Lineage.prototype, JUPYTER_DISPLAY, {
  value(this: Lineage) {
    return { "image/svg+xml": this.svg, "text/plain": lineageText(this) };
  },
});

/** Render DOT to SVG (shown by the returned value, not here: one output in a notebook). */
export async function renderLineage(dot: string): Promise<Lineage> {
  const { instance } = await import("@viz-js/viz");
  return new Lineage((await instance()).renderString(dot, { format: "svg" }), dot);
}
