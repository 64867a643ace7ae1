// What bench/layouts.ts and bench/hunt.ts share: per file, each query's
// `file.stream()` against anndata backed mode (bench/_layouts_ref.py), then
// the whole load, best of `reps`, as table cells "ours / anndata s = ratio".
import * as ln from "../mod.ts";

/** The Python with anndata 0.8 (Debian's). */
export const PY = "/usr/bin/python3";

/** The value after `--name` on the command line, or `fallback`. */
export function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1] : fallback;
}

/** The benches' folder `name` of built inputs, under `~/.cache/lamindeno-bench/`. */
export function benchCache(name: string): string {
  return `${Deno.env.get("HOME") ?? "/tmp"}/.cache/lamindeno-bench/${name}`;
}

/** `--reps` (3 unless given) and the files `--only` names (all of `all` unless given). */
export function repsAndOnly(all: readonly string[]): { reps: number; only: string[] } {
  return { reps: Number(flag("reps", "3")), only: flag("only", all.join(",")).split(",") };
}

type Df = ln.LazyDataFrame;
/** A query: its name (as _layouts_ref.py knows it), the obs selection, the var one if any. */
export type Query = [string, (df: Df) => ln.Expression, ((df: Df) => ln.Expression)?];

/** How long anndata may take on one file (`--ref-timeout` seconds): its backed reads of huge gzip chunks take hours. */
const REF_TIMEOUT = Number(flag("ref-timeout", "600"));

/**
 * anndata's seconds for each query named and the whole load (`"whole load"`),
 * best of `reps`; none (an empty record, said on stderr) when it fails or
 * takes longer than `REF_TIMEOUT`.
 */
export async function reference(
  path: string,
  reps: number,
  queries?: readonly Query[],
): Promise<Record<string, number>> {
  const script = new URL("./_layouts_ref.py", import.meta.url).pathname;
  const args = [
    script,
    path,
    String(reps),
    ...(queries ? [queries.map(([q]) => q).join(",")] : []),
  ];
  const signal = AbortSignal.timeout(REF_TIMEOUT * 1000);
  const r = await new Deno.Command(PY, { args, stderr: "inherit", signal }).output();
  if (!r.success) {
    console.error(
      `anndata ${
        signal.aborted ? `took over ${REF_TIMEOUT} s` : "failed"
      } on ${path}: no reference`,
    );
    return {};
  }
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

/** The fastest of `reps` runs of `fn`, in seconds. */
async function best(fn: () => Promise<unknown>, reps: number): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    b = Math.min(b, (performance.now() - t0) / 1000);
  }
  return b;
}

/**
 * The cells of `path`'s row: each query's stream, then the whole load,
 * against `ref`; `warm`: one untimed stream first (the workers started).
 */
export async function timedCells(
  path: string,
  ref: Record<string, number>,
  queries: readonly Query[],
  reps: number,
  warm = false,
): Promise<string[]> {
  const cell = (s: number, r: number | undefined) =>
    r === undefined
      ? `${s.toFixed(3)} s (no reference)`
      : `${s.toFixed(3)} / ${r.toFixed(3)} s = ${(s / r).toFixed(2)}x`;
  const file = await new ln.File(path).save();
  const df = file.subsetter();
  if (warm) await file.stream({ subsetObs: queries[0][1](df), isRunInput: false });
  const cells: string[] = [];
  for (const [q, obs, v] of queries) {
    const s = await best(
      () => file.stream({ subsetObs: obs(df), subsetVar: v?.(df), isRunInput: false }),
      reps,
    );
    cells.push(cell(s, ref[q]));
  }
  const w = await best(() => path.endsWith(".zarr") ? ln.readZarr(path) : ln.readH5ad(path), reps);
  cells.push(cell(w, ref["whole load"]));
  return cells;
}

/**
 * A table of one row per file of `names` (`cellsOf(name)`: its cells after
 * the name), printed as each row is done and whole at the end, in a fresh
 * instance (`prefix` of its temporary folder) removed afterwards.
 */
export async function sideBySide(
  prefix: string,
  names: readonly string[],
  queries: readonly Query[],
  reps: number,
  cellsOf: (name: string) => Promise<string[]>,
): Promise<void> {
  Deno.env.set("LAMIN_LOG_LEVEL", "warn");
  const root = await Deno.makeTempDir({ prefix });
  await ln.init({ storage: root });
  const header = ["file", ...queries.map(([q]) => q), "whole load"];
  const rows: string[] = [`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`];
  try {
    for (const name of names) {
      rows.push(`| ${[name, ...await cellsOf(name)].join(" | ")} |`);
      console.log(rows[rows.length - 1]);
    }
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
  console.log(`\nours / anndata (best of ${reps} each, in one process per side)\n`);
  console.log(rows.join("\n"));
}
