// papermill runs a notebook through nbclient from memory, so the kernel sees
// no path; with `inject_paths` (`--inject-paths`) its injected parameters cell
// holds the input notebook's path as `PAPERMILL_INPUT_PATH`. The kernel sees
// that cell's code and names the notebook by it.
import { join } from "node:path";
import { parentOf } from "./_where.ts";

const ASSIGNMENT =
  /\bPAPERMILL_INPUT_PATH\s*(?::\s*string\s*)?=\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')/;

/**
 * The `PAPERMILL_INPUT_PATH` a papermill parameters cell assigns (a quoted
 * string, as papermill's translators write it: `PAPERMILL_INPUT_PATH = "…"`,
 * `const PAPERMILL_INPUT_PATH = '…';`), or undefined.
 */
export function papermillInputPath(code: string): string | undefined {
  if (!code.includes("PAPERMILL_INPUT_PATH")) return undefined;
  const literal = code.match(ASSIGNMENT)?.[1];
  if (!literal) return undefined;
  try {
    const body = literal.startsWith("'")
      ? `"${literal.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`
      : literal;
    const path = JSON.parse(body);
    return typeof path === "string" && path.endsWith(".ipynb") ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where papermill's input path is: absolute, else relative to the working
 * directory of papermill's process (a parent of the kernel) or the kernel's.
 * Undefined when no such file exists (a remote `s3://` input, say).
 */
export function resolvePapermillPath(path: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return undefined;
  const bases: string[] = [];
  for (let pid = parentOf(Deno.pid), i = 0; pid && i < 4; pid = parentOf(pid), i++) {
    try {
      bases.push(Deno.readLinkSync(`/proc/${pid}/cwd`));
    } catch { /* not Linux, or gone */ }
  }
  bases.push(Deno.cwd());
  for (const base of path.startsWith("/") ? [""] : bases) {
    try {
      const real = Deno.realPathSync(base ? join(base, path) : path);
      if (Deno.statSync(real).isFile) return real;
    } catch { /* not there */ }
  }
  return undefined;
}
