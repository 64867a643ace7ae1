// One batch of the corpus, in its own process (the parent watches time and
// memory): each case is saved as an ln.File in a temp instance, then
// load(), stream() and backed() run on it; one line per case on stdout:
//   START <n>
//   RESULT <json: { n, save?, ops: { load, stream, backed } }>
// each op an outcome: { ok: true, digest } or { ok: false, name, lamin }.
// Usage: deno run -A test/corpus/_child.ts <batch.json>
import * as ln from "../../mod.ts";
import type { Case } from "./_make_corpus.ts";

/** What one operation gave. */
export type Outcome =
  | { ok: true; digest: string }
  | { ok: false; name: string; lamin: boolean; message: string };

/** A value as a canonical string: equal data, equal strings. */
export function canon(x: unknown, depth = 0): string {
  if (depth > 20) return "<deep>";
  if (x === null || x === undefined || typeof x !== "object") {
    return `${typeof x}:${String(x)}`;
  }
  if (ArrayBuffer.isView(x)) {
    const a = x as unknown as ArrayLike<number | bigint>;
    return `${x.constructor.name}[${Array.from(a, String).join(",")}]`;
  }
  if (Array.isArray(x)) return `[${x.map((v) => canon(v, depth + 1)).join(",")}]`;
  const o = x as Record<string, unknown>;
  if (typeof o.toDense === "function" && Array.isArray(o.shape)) {
    const d = (o.toDense as () => { data: unknown; shape: unknown; dtype: unknown })();
    return `matrix(${canon(d.shape)},${String(d.dtype)},${canon(d.data)})`;
  }
  if (typeof o.toRecords === "function" && Array.isArray(o.columns)) {
    const dtypes = (o.dtypes as unknown[]).map(String);
    return `frame(${canon(o.columns)},${canon(dtypes)},${
      canon((o.toRecords as () => unknown[])(), depth + 1)
    })`;
  }
  const keys = Object.keys(o).sort();
  return `{${keys.map((k) => `${k}:${canon(o[k], depth + 1)}`).join(",")}}`;
}

async function digest(x: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canon(x));
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16);
}

async function outcome(fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, digest: await digest(await fn()) };
  } catch (e) {
    const err = e as Error;
    return {
      ok: false,
      name: err?.name ?? typeof e,
      lamin: e instanceof ln.LaminError,
      message: String(err?.message ?? e).slice(0, 300),
    };
  }
}

const ANNDATA = /\.(h5ad|zarr)$/;

/** load(), stream() (of the T cells, for AnnData) and backed() of a saved file. */
async function runOps(file: ln.File): Promise<Record<string, Outcome>> {
  const anndata = ANNDATA.test(file.key ?? "");
  return {
    load: await outcome(() => file.load()),
    stream: await outcome(() =>
      anndata ? file.stream({ subsetObs: file.subsetter().cell_type.eq("T cell") }) : file.stream()
    ),
    backed: await outcome(async () => {
      const b = await file.backed();
      try {
        return {
          shape: b.shape,
          obs: await b.obs(),
          var: await b.var(),
          obsNames: await b.obsNames(),
          X: await b.X?.get(),
          some: await b.X?.get([1, 3, 5].filter((i) => i < b.nObs), [0]),
          // Read again: a sparse X plans these rows from the indptr it kept.
          again: await b.X?.get([0, 2, 5].filter((i) => i < b.nObs)),
        };
      } finally {
        b.close();
      }
    }),
  };
}

if (import.meta.main) {
  const batch: { cases: Case[]; first: number } = JSON.parse(await Deno.readTextFile(Deno.args[0]));
  const root = await Deno.makeTempDir({ prefix: "lamindeno-corpus-instance-" });
  await ln.init({ storage: root });
  ln.settings.trackRunInputs = false;
  const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
  try {
    for (const [i, c] of batch.cases.entries()) {
      const n = batch.first + i;
      out(`START ${n}`);
      let save: Outcome | undefined;
      let file: ln.File | undefined;
      try {
        file = await new ln.File(c.path, { key: c.key }).save();
      } catch (e) {
        save = {
          ok: false,
          name: (e as Error)?.name,
          lamin: e instanceof ln.LaminError,
          message: String((e as Error)?.message).slice(0, 300),
        };
      }
      const ops = file ? await runOps(file) : {};
      out(`RESULT ${JSON.stringify({ n, save, ops })}`);
    }
    const status = await Deno.readTextFile("/proc/self/status").catch(() => "");
    out(`PEAK ${/VmHWM:\s*(\d+)/.exec(status)?.[1] ?? "0"}`);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
