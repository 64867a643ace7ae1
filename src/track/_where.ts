// Where the tracked code lives: the script (Deno.mainModule) or the notebook
// a Jupyter kernel runs, its path relative to the git root, and its content
// hash (a notebook is hashed by its code cells only).
import * as rt from "../_runtime.ts";
import { createHash } from "node:crypto";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { kernelGlobal } from "./kernel_messages.ts";
import { redactSource } from "../_redact.ts";
import { storableCode } from "../registry/_description.ts";

/** The tracked source. */
export interface CodeOrigin {
  type: "script" | "notebook";
  /** Absolute path. */
  path: string;
  /** Path relative to the git root, or the absolute path outside a repository. */
  reference: string;
  /** File name. */
  name: string;
  /** md5 (base64url) of the script, or of the notebook's code cells. */
  hash: string;
  /**
   * The script's text, or the notebook's code cells, with secrets written
   * into them redacted (`redactSource`) and what the registry cannot store
   * as text replaced (`storableCode`); absent when larger than 10 MiB.
   */
  source?: string;
}

/** Largest source stored with a transform. */
const MAX_SOURCE = 10 * 1024 * 1024;

/** The git root above `path`, if any. */
export function gitRoot(path: string): string | undefined {
  for (let dir = dirname(path);; dir = dirname(dir)) {
    try {
      rt.statSync(join(dir, ".git"));
      return dir;
    } catch { /* keep walking */ }
    if (dirname(dir) === dir) return undefined;
  }
}

function reference(path: string): string {
  const root = gitRoot(path);
  return root ? relative(root, path).split("\\").join("/") : path;
}

function codeCells(ipynb: string): string[] {
  const nb = JSON.parse(ipynb) as { cells?: { cell_type?: string; source?: string | string[] }[] };
  const out: string[] = [];
  for (const c of Array.isArray(nb?.cells) ? nb.cells : []) {
    if (c?.cell_type !== "code") continue;
    out.push(Array.isArray(c.source) ? c.source.join("") : String(c.source ?? ""));
  }
  return out;
}

/** A notebook's code cells as one text, each after a `// %%` line. */
export function notebookSource(ipynb: string): string {
  return codeCells(ipynb).map((c) => `// %%\n${c}\n`).join("\n");
}

/** md5 of a notebook's code cells (sources joined), so outputs and markdown do not version it. */
export function notebookHash(ipynb: string): string {
  const nb = JSON.parse(ipynb) as { cells?: { cell_type?: string; source?: string | string[] }[] };
  const h = createHash("md5");
  for (const c of nb.cells ?? []) {
    if (c.cell_type !== "code") continue;
    const src = Array.isArray(c.source) ? c.source.join("") : c.source ?? "";
    h.update(`${src}\n\u0000`);
  }
  return h.digest("base64url");
}

/** The running script, or undefined (REPL, eval, remote module). */
export function scriptOrigin(): CodeOrigin | undefined {
  let path: string;
  try {
    const main = rt.mainModule();
    if (!main) return undefined;
    const url = new URL(main);
    if (url.protocol !== "file:") return undefined;
    path = fileURLToPath(url);
    const bytes = rt.readFileSync(path);
    return {
      type: "script",
      path,
      reference: reference(path),
      name: basename(path),
      hash: createHash("md5").update(bytes).digest("base64url"),
      // Stored with the transform: secrets written into the script are redacted.
      ...(bytes.length <= MAX_SOURCE
        ? { source: storableCode(redactSource(new TextDecoder().decode(bytes))) }
        : {}),
    };
  } catch {
    return undefined;
  }
}

/** True inside a Deno Jupyter kernel (stock `deno jupyter` or the lamindeno kernel). */
export function inJupyterKernel(): boolean {
  if (kernelGlobal()) return true;
  return rt.jupyterBridge() !== undefined;
}

function cmdlineOf(pid: number): string[] {
  try {
    return rt.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** A process's parent (Linux), or undefined. */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = rt.readTextFileSync(`/proc/${pid}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return ppid > 1 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** The notebook path, found the ways Jupyter front ends expose it. */
export async function notebookPath(): Promise<string | undefined> {
  const cwd = rt.cwd();
  const abs = (p: string) => (p.startsWith("/") ? p : join(cwd, p));
  // jupyter_server >= 2 and VS Code set JPY_SESSION_NAME to the notebook path.
  // A server's session name is relative to its root, and it starts the kernel in
  // the notebook's folder: "sub/nb.ipynb" with cwd ".../sub" is ".../sub/nb.ipynb".
  const session = rt.env("JPY_SESSION_NAME");
  if (session?.endsWith(".ipynb")) {
    const dir = dirname(session);
    const inCwd = !session.startsWith("/") && dir !== "." &&
      (cwd.endsWith(`/${dir}`) || cwd === dir);
    return inCwd ? join(cwd, basename(session)) : abs(session);
  }
  // The server's sessions API, matched by our kernel id (from the connection file name).
  const fromServer = await fromSessionsApi();
  if (fromServer) return fromServer;
  // nbclient / nbconvert: a parent process was started with the notebook's
  // path, relative to that process's working directory.
  for (let pid: number | undefined = rt.pid(), i = 0; pid && i < 8; pid = parentOf(pid), i++) {
    const nb = cmdlineOf(pid).find((a) => a.endsWith(".ipynb"));
    if (!nb) continue;
    let base = cwd;
    try {
      base = rt.readLinkSync(`/proc/${pid}/cwd`);
    } catch { /* use ours */ }
    const path = nb.startsWith("/") ? nb : join(base, nb);
    try {
      return rt.realPathSync(path);
    } catch { /* not there: keep looking */ }
  }
  return undefined;
}

function connectionFile(): string | undefined {
  const fromKernel = kernelGlobal()?.connectionFile;
  if (fromKernel) return fromKernel;
  for (let pid: number | undefined = rt.pid(), i = 0; pid && i < 3; pid = parentOf(pid), i++) {
    const args = cmdlineOf(pid);
    const k = args.indexOf("--conn");
    if (k >= 0 && args[k + 1]) return args[k + 1];
  }
  return undefined;
}

async function fromSessionsApi(): Promise<string | undefined> {
  const conn = connectionFile();
  const kernelId = conn?.match(/kernel-([0-9a-f-]+)\.json$/)?.[1];
  if (!kernelId) return undefined;
  const runtime = rt.env("JUPYTER_RUNTIME_DIR") ?? dirname(conn!);
  let servers: { url: string; token?: string; root_dir?: string; notebook_dir?: string }[] = [];
  try {
    for (const e of rt.readDirSync(runtime)) {
      if (/^(jpserver|nbserver)-\d+\.json$/.test(e.name)) {
        servers.push(JSON.parse(rt.readTextFileSync(join(runtime, e.name))));
      }
    }
  } catch {
    servers = [];
  }
  for (const s of servers) {
    try {
      const res = await fetch(new URL("api/sessions", s.url), {
        headers: s.token ? { Authorization: `token ${s.token}` } : {},
        signal: AbortSignal.timeout(1000),
      });
      const sessions = await res.json() as { path?: string; kernel?: { id?: string } }[];
      const hit = sessions.find((x) => x.kernel?.id === kernelId);
      if (hit?.path) return join(s.root_dir ?? s.notebook_dir ?? rt.cwd(), hit.path);
    } catch { /* server gone or not ours */ }
  }
  return undefined;
}

/** The notebook being run (or the one at `known`), as a CodeOrigin; undefined when unreadable. */
export async function notebookOrigin(known?: string): Promise<CodeOrigin | undefined> {
  const path = known ?? await notebookPath();
  if (!path) return undefined;
  let hash: string;
  let source: string;
  try {
    const text = await rt.readTextFile(path);
    hash = notebookHash(text);
    source = notebookSource(text);
  } catch {
    return undefined;
  }
  return {
    type: "notebook",
    path,
    reference: reference(path),
    name: basename(path),
    hash,
    ...(source.length <= MAX_SOURCE ? { source: storableCode(redactSource(source)) } : {}),
  };
}
