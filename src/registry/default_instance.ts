// The per-user default instance: what `ln.init()` with no arguments opens.
// Recorded once (like `lamin init` / `lamin connect`) by the CLI's `init` or
// `ln.init({ ..., setDefault: true })`, in `{configDir}/settings.json`. The
// file never holds a secret: a PostgreSQL URL is stored without its password
// (that goes into a pgpass file only its owner can read, as the kernel does),
// S3 credentials are not stored at all (they come from the AWS environment).
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { ValidationError } from "../errors.ts";
import { log } from "../_log.ts";
import { redactUrl } from "../_redact.ts";
import type { S3Options } from "../storage/s3_options.ts";
import { splitPassword, writePrivate } from "./_pgpass.ts";
import type { Instance } from "./instance.ts";

/** The environment variable that overrides {@linkcode configDir} (tests use a temp dir). */
export const HOME_ENV = "LAMINDENO_HOME";

/**
 * Where the user's lamindeno settings live: `$LAMINDENO_HOME`, else
 * `$XDG_CONFIG_HOME/lamindeno`, else `~/.config/lamindeno` (Windows:
 * `%APPDATA%\lamindeno`).
 */
export function configDir(): string {
  const home = Deno.env.get(HOME_ENV);
  if (home) return resolve(home);
  if (Deno.build.os === "windows") {
    return join(Deno.env.get("APPDATA") ?? homedir(), "lamindeno");
  }
  const xdg = Deno.env.get("XDG_CONFIG_HOME");
  return join(xdg ? xdg : join(homedir(), ".config"), "lamindeno");
}

/** The settings file: `{configDir}/settings.json`. */
export function settingsFile(): string {
  return join(configDir(), "settings.json");
}

/** The S3 options kept for the default instance: none of them secret. */
const S3_KEPT = ["endpoint", "region", "forcePathStyle", "timeoutMs", "retries", "retryDelayMs"];

/** How to open the default instance, as stored (no secrets). */
export interface DefaultInstance {
  /** The storage root: an absolute local path or `s3://bucket/prefix`. */
  storage: string;
  /** The registry: an absolute libSQL path or a PostgreSQL URL without password. */
  db?: string;
  /** S3 settings without credentials. */
  s3?: S3Options;
  /** The cache folder, when not the default one. */
  cacheDir?: string;
  /** The private pgpass file holding the registry's password. */
  pgpassFile?: string;
}

/**
 * The default instance, or `undefined` when none is set. A settings file
 * that is not what lamindeno writes is a `ValidationError` naming it.
 */
export async function readDefaultInstance(): Promise<DefaultInstance | undefined> {
  const file = settingsFile();
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new ValidationError(`cannot read the settings file ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError(
      `the settings file ${file} is not JSON; delete it and set the default instance again ` +
        "(lamindeno init --storage DIR)",
    );
  }
  const d = (parsed as { defaultInstance?: unknown })?.defaultInstance;
  if (d === undefined) return undefined;
  const ok = typeof d === "object" && d !== null &&
    typeof (d as DefaultInstance).storage === "string" &&
    ["db", "cacheDir", "pgpassFile"].every((k) =>
      ["undefined", "string"].includes(typeof (d as Record<string, unknown>)[k])
    ) &&
    ["undefined", "object"].includes(typeof (d as DefaultInstance).s3);
  if (!ok) {
    throw new ValidationError(
      `the settings file ${file} has a malformed defaultInstance; ` +
        "set it again (lamindeno init --storage DIR)",
    );
  }
  return d as DefaultInstance;
}

/**
 * Record `inst` (opened with `options`, without a caller-supplied dialect or
 * backend, which no file can describe) as the default instance. Returns the
 * settings file's path.
 */
export async function writeDefaultInstance(
  inst: Instance,
  options: { db?: string; s3?: S3Options; cacheDir?: string },
): Promise<string> {
  const dir = configDir();
  const entry: DefaultInstance = { storage: inst.root };
  const location = inst.location;
  if (location?.kind === "libsql" && options.db) entry.db = location.path;
  if (location?.kind === "postgres" && options.db) {
    const split = splitPassword(options.db);
    entry.db = split.url;
    if (split.line) {
      entry.pgpassFile = join(dir, "default-instance.pgpass");
      await writePrivate(entry.pgpassFile, `# lamindeno default instance\n${split.line}\n`);
    }
  }
  if (options.s3) {
    const kept = Object.fromEntries(
      Object.entries(options.s3).filter(([k]) => S3_KEPT.includes(k)),
    ) as S3Options;
    if (kept.endpoint && /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(kept.endpoint)) {
      throw new ValidationError(
        `setDefault: s3.endpoint ${redactUrl(kept.endpoint)} holds credentials, which are ` +
          "never stored; give them through the AWS environment",
      );
    }
    if (options.s3.credentials) {
      log.warn(
        "the default instance does not store S3 credentials: it takes them from the AWS " +
          "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) when opened",
      );
    }
    if (Object.keys(kept).length) entry.s3 = kept;
  }
  if (options.cacheDir) entry.cacheDir = resolve(options.cacheDir);
  const file = settingsFile();
  let rest: Record<string, unknown> = {};
  try {
    const old = JSON.parse(await Deno.readTextFile(file));
    if (typeof old === "object" && old !== null && !Array.isArray(old)) rest = old;
  } catch {
    // absent or unreadable: replaced
  }
  await writePrivate(file, JSON.stringify({ ...rest, defaultInstance: entry }, null, 2) + "\n");
  return file;
}
