// Install the `lamindeno` kernelspec:
// `deno run -A kernel/install.ts [--user | --prefix DIR] [--storage DIR_OR_S3] [--db URL]`.
// With --storage (and --db), every session starts its notebook's run in that
// instance before the first cell (LAMINDENO_STORAGE, LAMINDENO_DB in the
// kernelspec's env). S3 endpoint settings come from the AWS environment.
// A password in --db is never written into kernel.json (readable by all):
// it goes into a pgpass file only its owner can read (0600, under
// $XDG_CONFIG_HOME/lamindeno), which the kernelspec names in
// LAMINDENO_PGPASSFILE; LAMINDENO_DB holds the URL without it.
// Default location: $JUPYTER_DATA_DIR/kernels, else the user's Jupyter data dir.
import { dirname, join, resolve } from "node:path";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import { PGPASSFILE_ENV, splitPassword } from "../src/registry/_pgpass.ts";
import { redactText } from "../src/_redact.ts";

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

/** Where the user's lamindeno secrets live: `$XDG_CONFIG_HOME/lamindeno`, `~/.config/lamindeno`. */
export function configDir(): string {
  if (Deno.build.os === "windows") {
    return join(Deno.env.get("APPDATA") ?? homedir(), "lamindeno");
  }
  const xdg = Deno.env.get("XDG_CONFIG_HOME");
  return join(xdg ? xdg : join(homedir(), ".config"), "lamindeno");
}

/** Write `text` to `path` readable by its owner only (0600), replacing it atomically. */
async function writePrivate(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text, { mode: 0o600, createNew: true });
    if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Write the kernelspec; `prefix` installs into PREFIX/share/jupyter/kernels.
 * A password in `db` (`postgresql://user:password@host/db`) is written to
 * a pgpass file readable by the user only, in `secretsDir` (default
 * {@linkcode configDir}), one per kernelspec folder; kernel.json holds the
 * URL without it and the file's path. Returns the kernelspec's directory.
 */
export async function install(
  options: { prefix?: string; storage?: string; db?: string; secretsDir?: string } = {},
): Promise<string> {
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
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "kernel.json"),
    JSON.stringify(kernelSpec(Deno.execPath(), options.storage, db, passFile), null, 2) + "\n",
  );
  return dir;
}

/**
 * The install command line: `[--user | --prefix DIR] [--storage DIR_OR_S3] [--db URL]`.
 * Returns the exit code.
 */
export async function installCli(args: string[]): Promise<number> {
  const usage =
    "usage: deno run -A jsr:@lamindeno/lamindb/kernel install [--user | --prefix DIR] " +
    "[--storage DIR_OR_S3] [--db URL]";
  const option = (name: string): string | undefined | null => {
    const at = args.indexOf(name);
    const v = at >= 0
      ? args[at + 1]
      : args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
    return at >= 0 && (!v || v.startsWith("--")) ? null : v;
  };
  const known = new Set(["--user", "--prefix", "--storage", "--db"]);
  const unknown = args.find((a, i) =>
    a.startsWith("--") && !known.has(a.split("=")[0]) && !known.has(args[i - 1] ?? "")
  );
  const [prefix, storage, db] = [option("--prefix"), option("--storage"), option("--db")];
  if (unknown || prefix === null || storage === null || db === null) {
    console.error(unknown ? `unknown option ${unknown}\n${usage}` : usage);
    return 2;
  }
  if (storage && /^s3:\/\/[^/]*@/.test(storage)) {
    console.error("--storage takes s3://bucket/prefix; S3 keys come from the AWS environment");
    return 2;
  }
  let dir: string;
  try {
    dir = await install({
      prefix,
      storage: storage && !storage.startsWith("s3://") ? resolve(storage) : storage,
      db,
    });
  } catch (e) {
    console.error(
      `cannot install the kernelspec: ${redactText(String((e as Error)?.message ?? e))}`,
    );
    return 2;
  }
  console.log(`installed the ${KERNEL_NAME} kernelspec in ${dir}`);
  return 0;
}

if (import.meta.main) Deno.exit(await installCli(Deno.args));
