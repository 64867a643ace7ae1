// Install the `lamindeno` kernelspec:
// `deno run -A kernel/install.ts [--user | --prefix DIR] [--storage DIR_OR_S3] [--db URL]
// [--deno PATH] [--bin-dir DIR]` (`--help` prints the options).
// With --storage (and --db), every session starts its notebook's run in that
// instance before the first cell (LAMINDENO_STORAGE, LAMINDENO_DB in the
// kernelspec's env). S3 endpoint settings come from the AWS environment.
// A password in --db is never written into kernel.json (readable by all):
// it goes into a pgpass file only its owner can read (0600, under
// $LAMINDENO_HOME or $XDG_CONFIG_HOME/lamindeno), which the kernelspec names
// in LAMINDENO_PGPASSFILE; LAMINDENO_DB holds the URL without it.
// The deno binary the kernelspec runs must outlive a package cache: a deno
// started from one (`npx deno`, a path through node_modules or _npx) is
// hard-linked (or copied) to a stable place, `$LAMINDENO_BIN_DIR`, else
// `$XDG_DATA_HOME/lamindeno/bin`, else ~/.local/share/lamindeno/bin; any
// other deno is recorded where it is; `--deno PATH` records a given one
// (`--deno deno`: looked up on PATH whenever Jupyter starts the kernel).
// Default location: $JUPYTER_DATA_DIR/kernels, else the user's Jupyter data dir.
import { join, resolve } from "node:path";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { PGPASSFILE_ENV, splitPassword, writePrivate } from "../src/registry/_pgpass.ts";
import { configDir } from "../src/registry/default_instance.ts";
import { redactText } from "../src/_redact.ts";

export { configDir };

/** The kernelspec's name. */
export const KERNEL_NAME = "lamindeno";

/**
 * What the kernelspec runs, given where this module was loaded from: the
 * local `kernel/main.ts`, or for a JSR install `jsr:@scope/name@version/kernel`.
 */
export function kernelEntry(installUrl: string): string {
  const main = new URL("./main.ts", installUrl);
  if (main.protocol === "file:") return fileURLToPath(main);
  const jsr = /^https:\/\/jsr\.io\/(@[^/]+)\/([^/]+)\/([^/]+)\/kernel\/main\.ts$/.exec(main.href);
  return jsr ? `jsr:${jsr[1]}/${jsr[2]}@${jsr[3]}/kernel` : main.href;
}

/**
 * The kernel.json of the lamindeno kernel. `db` must hold no password (see
 * {@linkcode install}); `passFile` is the pgpass file with it.
 */
export function kernelSpec(
  deno: string = Deno.execPath(),
  storage?: string,
  db?: string,
  passFile?: string,
): Record<string, unknown> {
  const env = {
    ...(storage ? { LAMINDENO_STORAGE: storage } : {}),
    ...(db ? { LAMINDENO_DB: db } : {}),
    ...(passFile ? { [PGPASSFILE_ENV]: passFile } : {}),
  };
  return {
    ...(Object.keys(env).length ? { env } : {}),
    argv: [deno, "run", "-A", kernelEntry(import.meta.url), "--conn", "{connection_file}"],
    display_name: "Deno (lamindeno)",
    language: "typescript",
    interrupt_mode: "message",
    metadata: { debugger: false },
  };
}

/** The user's Jupyter data directory (what `jupyter --data-dir` prints). */
export function jupyterDataDir(): string {
  const env = Deno.env.get("JUPYTER_DATA_DIR");
  if (env) return env;
  if (Deno.build.os === "darwin") return join(homedir(), "Library", "Jupyter");
  if (Deno.build.os === "windows") return join(Deno.env.get("APPDATA") ?? homedir(), "jupyter");
  const xdg = Deno.env.get("XDG_DATA_HOME") ?? join(homedir(), ".local", "share");
  return join(xdg, "jupyter");
}

/**
 * Where a deno started from a package cache is linked or copied:
 * `$LAMINDENO_BIN_DIR`, else `$XDG_DATA_HOME/lamindeno/bin`, else
 * `~/.local/share/lamindeno/bin` (Windows: `%LOCALAPPDATA%\\lamindeno\\bin`).
 */
export function binDir(): string {
  const env = Deno.env.get("LAMINDENO_BIN_DIR");
  if (env) return resolve(env);
  if (Deno.build.os === "windows") {
    return join(Deno.env.get("LOCALAPPDATA") ?? homedir(), "lamindeno", "bin");
  }
  const xdg = Deno.env.get("XDG_DATA_HOME") || join(homedir(), ".local", "share");
  return join(xdg, "lamindeno", "bin");
}

/**
 * Whether `path` is inside a package cache that may be cleaned away under
 * the kernelspec: an npm/npx cache or a `node_modules` folder (where
 * `npx deno` runs deno from).
 */
export function inPackageCache(path: string): boolean {
  return /[\\/](_npx|node_modules|_cacache|\.npm|npm-cache)[\\/]/.test(path);
}

/**
 * A deno binary that lasts: `deno` itself unless it is in a package cache
 * ({@linkcode inPackageCache}); then a hard link to it (a copy across file
 * systems) in `dir` (default {@linkcode binDir}), replaced atomically.
 */
export async function stableDeno(deno: string = Deno.execPath(), dir = binDir()): Promise<string> {
  if (!inPackageCache(deno)) return deno;
  const target = join(dir, Deno.build.os === "windows" ? "deno.exe" : "deno");
  if (resolve(deno) === resolve(target)) return target;
  const [from, to] = await Promise.all([deno, target].map((p) => Deno.stat(p).catch(() => null)));
  // Already linked there (rename would leave the new link behind: both name one file).
  if (from?.ino && from.ino === to?.ino && from.dev === to?.dev) return target;
  const tmp = `${target}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.link(deno, tmp).catch(() => Deno.copyFile(deno, tmp));
    if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o755);
    await Deno.rename(tmp, target);
    await Deno.remove(tmp).catch(() => {});
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(
      `cannot put a lasting copy of ${deno} at ${target} (${(e as Error).message}); ` +
        "choose another place with --bin-dir DIR, or name a deno binary with --deno PATH",
    );
  }
  return target;
}

/** `--deno`: an existing file, or a bare name found on PATH now. */
async function chosenDeno(deno: string): Promise<string> {
  if (/[\\/]/.test(deno)) {
    const path = resolve(deno);
    if (!(await Deno.stat(path).then((s) => s.isFile, () => false))) {
      throw new Error(`--deno ${path}: no such file`);
    }
    return path;
  }
  const dirs = (Deno.env.get("PATH") ?? "").split(Deno.build.os === "windows" ? ";" : ":");
  for (const d of dirs.filter(Boolean)) {
    if (await Deno.stat(join(d, deno)).then((s) => s.isFile, () => false)) return deno;
  }
  throw new Error(
    `--deno ${deno}: not found on PATH; Jupyter could not start the kernel. ` +
      "Put deno on PATH or give its full path",
  );
}

/** Options of {@linkcode install}. */
export interface InstallOptions {
  /** Install into PREFIX/share/jupyter/kernels (default: the user's Jupyter data dir). */
  prefix?: string;
  /** The instance whose run starts before the first cell (LAMINDENO_STORAGE). */
  storage?: string;
  /** Its registry (LAMINDENO_DB); a password goes into a private pgpass file. */
  db?: string;
  /** Where that pgpass file is written (default {@linkcode configDir}). */
  secretsDir?: string;
  /** The deno binary to record (default: this one, made lasting by {@linkcode stableDeno}). */
  deno?: string;
  /** Where {@linkcode stableDeno} puts its copy (default {@linkcode binDir}). */
  binDir?: string;
}

/**
 * Write the kernelspec; `prefix` installs into PREFIX/share/jupyter/kernels.
 * A password in `db` (`postgresql://user:password@host/db`) is written to
 * a pgpass file readable by the user only, in `secretsDir` (default
 * {@linkcode configDir}), one per kernelspec folder; kernel.json holds the
 * URL without it and the file's path. The deno binary recorded is one that
 * lasts ({@linkcode stableDeno}), or `deno`. Returns the kernelspec's
 * directory.
 */
export async function install(options: InstallOptions = {}): Promise<string> {
  const kernels = options.prefix
    ? join(options.prefix, "share", "jupyter", "kernels")
    : join(jupyterDataDir(), "kernels");
  const dir = join(kernels, KERNEL_NAME);
  let db = options.db, passFile: string | undefined;
  if (db && /^postgres(ql)?:/i.test(db)) {
    const split = splitPassword(db);
    db = split.url;
    if (split.line) {
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(resolve(dir)));
      const id = [...new Uint8Array(digest).slice(0, 6)]
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      passFile = join(options.secretsDir ?? configDir(), `kernel-${KERNEL_NAME}-${id}.pgpass`);
      await writePrivate(passFile, `# lamindeno kernel at ${dir}\n${split.line}\n`);
    }
  }
  const deno = options.deno
    ? await chosenDeno(options.deno)
    : await stableDeno(Deno.execPath(), options.binDir);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "kernel.json"),
    JSON.stringify(kernelSpec(deno, options.storage, db, passFile), null, 2) + "\n",
  );
  return dir;
}

/** `kernel install --help`. */
export const INSTALL_USAGE = `usage: deno run -A jsr:@lamindeno/lamindb/kernel install [options]
       (also: lamindeno kernel install [options]; deno task kernel:install [options])

Install the "lamindeno" Jupyter kernelspec ("Deno (lamindeno)").

options:
  --user              install for this user (the default): $JUPYTER_DATA_DIR/kernels,
                      else the user's Jupyter data dir
  --prefix DIR        install into DIR/share/jupyter/kernels instead
  --storage DIR|S3    start each notebook's run in this instance before the first cell
  --db URL            its registry (postgresql://user:password@host/db or a libSQL file);
                      a password goes into a private pgpass file, never into kernel.json
  --deno PATH         the deno binary Jupyter runs (default: this one; when it lives in a
                      package cache such as npx's, a lasting link or copy of it in --bin-dir);
                      a bare name (--deno deno) is looked up on PATH when the kernel starts
  --bin-dir DIR       where that copy goes (default $LAMINDENO_BIN_DIR,
                      else $XDG_DATA_HOME/lamindeno/bin, else ~/.local/share/lamindeno/bin)
  -h, --help          show this help

exit codes: 0 installed, 1 could not install, 2 bad options`;

/** Options parsed by {@linkcode installCli}. */
const OPTIONS = {
  user: { type: "boolean" },
  prefix: { type: "string" },
  storage: { type: "string" },
  db: { type: "string" },
  deno: { type: "string" },
  "bin-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * The install command line (see {@linkcode INSTALL_USAGE}). Returns the exit
 * code: 0 installed, 1 could not install, 2 bad options.
 */
export async function installCli(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${INSTALL_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(INSTALL_USAGE);
    return 0;
  }
  const empty = (["prefix", "storage", "db", "deno", "bin-dir"] as const)
    .find((k) => values[k] === "");
  if (empty) {
    console.error(`--${empty} needs a value\n\n${INSTALL_USAGE}`);
    return 2;
  }
  if (values.user && values.prefix) {
    console.error(`--user and --prefix exclude each other\n\n${INSTALL_USAGE}`);
    return 2;
  }
  const { storage } = values;
  if (storage && /^s3:\/\/[^/]*@/.test(storage)) {
    console.error("--storage takes s3://bucket/prefix; S3 keys come from the AWS environment");
    return 2;
  }
  let dir: string;
  try {
    dir = await install({
      prefix: values.prefix,
      storage: storage && !storage.startsWith("s3://") ? resolve(storage) : storage,
      db: values.db,
      deno: values.deno,
      binDir: values["bin-dir"],
    });
  } catch (e) {
    console.error(
      `cannot install the kernelspec: ${redactText(String((e as Error)?.message ?? e))}`,
    );
    return 1;
  }
  console.log(`installed the ${KERNEL_NAME} kernelspec in ${dir}`);
  return 0;
}

if (import.meta.main) Deno.exit(await installCli(Deno.args));
