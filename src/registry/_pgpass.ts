// Passwords for PostgreSQL registries kept out of URLs: a file in libpq's
// `.pgpass` format (`host:port:database:user:password`, `*` matches any,
// `\:` and `\\` escaped), readable by its owner only. The lamindeno kernel
// writes one at install (`kernel install --db URL-with-password`) and names
// it in LAMINDENO_PGPASSFILE; `ln.init({ db })` with a URL without password
// looks it up there (then pg's own PGPASSWORD, PGPASSFILE, ~/.pgpass apply).
import { dirname } from "node:path";
import { StorageError, ValidationError } from "../errors.ts";

/** The environment variable naming lamindeno's own pgpass file. */
export const PGPASSFILE_ENV = "LAMINDENO_PGPASSFILE";

/** What a pgpass entry is matched on. */
interface Target {
  host: string;
  port: string;
  database: string;
  user: string;
}

const dec = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

function parse(url: string): { u: URL; target: Target } | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (!/^postgres(ql)?:$/i.test(u.protocol)) return undefined;
  return {
    u,
    target: {
      host: u.hostname.replace(/^\[(.*)\]$/, "$1") || "localhost",
      port: u.port || "5432",
      database: dec(u.pathname.replace(/^\//, "")),
      user: dec(u.username),
    },
  };
}

const escape = (s: string) => s.replace(/\\/g, "\\\\").replace(/:/g, "\\:");

function fields(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < line.length; i++) {
    if (line[i] === "\\" && i + 1 < line.length) cur += line[++i];
    else if (line[i] === ":") {
      out.push(cur);
      cur = "";
    } else cur += line[i];
  }
  out.push(cur);
  return out;
}

/**
 * A URL split into the password-less URL and the pgpass line holding its
 * password (undefined when it has none). A password given as a `password`
 * query parameter is moved too. Throws ValidationError for a URL that is not
 * `postgresql://user:password@host[:port]/database`.
 */
export function splitPassword(url: string): { url: string; line?: string } {
  const p = parse(url);
  if (!p) {
    throw new ValidationError(
      "--db must be a URL like postgresql://user:password@host:5432/database",
    );
  }
  const { u, target } = p;
  const password = u.password ? dec(u.password) : u.searchParams.get("password") ?? "";
  if (!password) return { url };
  if (!target.user || !target.database) {
    throw new ValidationError(
      "a PostgreSQL URL with a password must name the user and the database " +
        "(postgresql://user:password@host:5432/database)",
    );
  }
  u.password = "";
  u.searchParams.delete("password");
  const line = [target.host, target.port, target.database, target.user, password]
    .map(escape).join(":");
  return { url: u.href, line };
}

/**
 * The password for a password-less PostgreSQL `url` from the pgpass file
 * `file` (default: the one named by {@linkcode PGPASSFILE_ENV}), or undefined (no file set, no
 * matching entry). A file that others can read is refused (StorageError).
 */
export async function lookupPassword(
  url: string,
  file: string | undefined = Deno.env.get(PGPASSFILE_ENV),
): Promise<string | undefined> {
  if (!file) return undefined;
  const p = parse(url);
  if (!p || p.u.password || !p.target.user) return undefined;
  let text: string;
  try {
    const info = await Deno.stat(file);
    if (Deno.build.os !== "windows" && info.mode !== null && (info.mode & 0o077) !== 0) {
      throw new StorageError(
        `${PGPASSFILE_ENV}=${file} can be read by other users; make it private: chmod 600 ${file}`,
      );
    }
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof StorageError) throw e;
    throw new StorageError(
      `cannot read ${PGPASSFILE_ENV}=${file}: ${(e as Error).name}; ` +
        `reinstall the kernel with --db, or unset ${PGPASSFILE_ENV}`,
    );
  }
  const want = p.target;
  for (const raw of text.split(/\r?\n/)) {
    if (!raw.trim() || raw.startsWith("#")) continue;
    const f = fields(raw);
    if (f.length < 5) continue;
    const [host, port, database, user] = f;
    const ok = (pattern: string, value: string) => pattern === "*" || pattern === value;
    if (
      ok(host, want.host) && ok(port, want.port) && ok(database, want.database) &&
      ok(user, want.user)
    ) return f.slice(4).join(":");
  }
  return undefined;
}

/** `url` with `password` set (percent-encoded). */
export function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.href;
}

/** Write `text` to `path` readable by its owner only (0600, folder 0700), replacing it atomically. */
export async function writePrivate(path: string, text: string): Promise<void> {
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
