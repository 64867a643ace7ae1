// A real PostgreSQL server for tests: initdb + pg_ctl under a temp folder on
// a free port (as the `postgres` user when we are root: initdb refuses root).
// A test group without PostgreSQL skips loudly locally and fails in CI.
import pg from "pg";

function binDir(): string | undefined {
  const onPath = (Deno.env.get("PATH") ?? "").split(":").find((d) => {
    try {
      return Deno.statSync(`${d}/pg_ctl`).isFile;
    } catch {
      return false;
    }
  });
  if (onPath) return onPath;
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name)
      .sort((a, b) => Number(a) - Number(b));
    const dir = `/usr/lib/postgresql/${versions.at(-1)}/bin`;
    return Deno.statSync(`${dir}/initdb`).isFile ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** `Deno.test` options for a group that needs PostgreSQL. */
export function needsPostgres(group: string): { ignore: boolean } {
  if (binDir()) return { ignore: false };
  const msg =
    `${group}: needs PostgreSQL (initdb, pg_ctl); install with apt-get install -y postgresql`;
  if (Deno.env.get("CI") === "true") throw new Error(`CI must not skip tests: ${msg}`);
  console.error(`\n!!! SKIPPING ${msg}\n`);
  return { ignore: true };
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (Deno.uid() !== 0) return undefined;
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
    l.startsWith("postgres:")
  );
  if (!line) throw new Error("running as root and there is no postgres user to run initdb as");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

async function run(cmd: string, args: string[], as?: { uid: number }): Promise<void> {
  const [exe, argv] = as ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  const r = await new Deno.Command(exe, { args: argv, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) {
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${text(r.stderr)}${text(r.stdout)}`);
  }
}

/** A running PostgreSQL; `database()` makes a fresh empty database and returns its URL. */
export interface PostgresServer extends AsyncDisposable {
  database(): Promise<string>;
  /**
   * A fresh database owned by a new role that must log in with `password`
   * (scram-sha-256; every other role keeps trust): its URL with the password.
   */
  passwordDatabase(password: string): Promise<string>;
}

let databases = 0;

/** Start a throwaway PostgreSQL server. */
export async function postgresServer(): Promise<PostgresServer> {
  const bin = binDir();
  if (!bin) throw new Error("PostgreSQL is not installed");
  const as = postgresUser();
  const dir = await Deno.makeTempDir({ prefix: "lamindeno-pg-" });
  if (as) await Deno.chown(dir, as.uid, as.gid);
  const data = `${dir}/data`;
  await run(`${bin}/initdb`, ["-D", data, "-U", "lamin", "--auth=trust", "-E", "UTF8"], as);
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await run(`${bin}/pg_ctl`, [
    "-D",
    data,
    "-l",
    `${dir}/log`,
    "-w",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    "start",
  ], as);
  const admin = new pg.Client({
    connectionString: `postgresql://lamin@127.0.0.1:${port}/postgres`,
  });
  await admin.connect();
  return {
    async database() {
      const name = `lamin_${Date.now().toString(36)}_${databases++}`;
      await admin.query(`CREATE DATABASE ${name}`);
      return `postgresql://lamin@127.0.0.1:${port}/${name}`;
    },
    async passwordDatabase(password: string) {
      const n = databases++;
      const role = `secret_${Date.now().toString(36)}_${n}`;
      const name = `lamin_${role}`;
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
      await admin.query(`CREATE DATABASE ${name} OWNER ${role}`);
      // pg_hba.conf: first match wins, so the password rule goes first.
      const hba = `${data}/pg_hba.conf`;
      const rules = await Deno.readTextFile(hba);
      await Deno.writeTextFile(hba, `host all ${role} 127.0.0.1/32 scram-sha-256\n${rules}`);
      await admin.query("SELECT pg_reload_conf()");
      await new Promise((r) => setTimeout(r, 200)); // the reload is asynchronous
      return `postgresql://${role}:${encodeURIComponent(password)}@127.0.0.1:${port}/${name}`;
    },
    async [Symbol.asyncDispose]() {
      await admin.end().catch(() => {});
      await run(`${bin}/pg_ctl`, ["-D", data, "-m", "immediate", "-w", "stop"], as).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
