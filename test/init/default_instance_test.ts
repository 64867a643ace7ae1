// The per-user default instance: set once (ln.init({ setDefault: true }) or
// the CLI's init), opened by ln.init() with no arguments; its settings file
// never holds a secret.
import * as ln from "../../mod.ts";
import { configDir, settingsFile } from "../../src/registry/default_instance.ts";
import { assert, assertEquals, assertRejects, listTree, tempDir } from "../_helpers.ts";
import { needsPostgres, postgresServer } from "../_postgres.ts";
import { s3Server } from "../_s3.ts";

/** Run `fn` with these environment variables set (or, for `undefined`, unset). */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      x === undefined ? Deno.env.delete(k) : Deno.env.set(k, x);
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

Deno.test("ln.init() with no arguments opens the per-user default instance, a ValidationError when none is set", async () => {
  const home = await tempDir();
  const root = await tempDir();
  try {
    await withEnv({ LAMINDENO_HOME: home }, async () => {
      await assertRejects(
        () => ln.init(),
        ln.ValidationError,
        /none is set .*settings\.json.*init --storage DIR.*setDefault: true/,
      );
      await ln.init({ storage: root, setDefault: true });
      const id = ln.settings.storage.id;
      await new ln.File(new TextEncoder().encode("x"), { key: "x.txt" }).save();
      await ln.close();
      assertEquals(JSON.parse(await Deno.readTextFile(`${home}/settings.json`)), {
        defaultInstance: { storage: root },
      });
      await ln.init();
      assertEquals([ln.settings.storage.id, (await ln.File.filter({})).length], [id, 1]);
      // A plain init does not change the default.
      const other = await tempDir();
      await ln.init({ storage: other });
      await ln.close();
      await ln.init();
      assertEquals(ln.settings.storage.root, root);
      await ln.close();
      await Deno.remove(other, { recursive: true });
      // The default gone: ln.init() does not make an empty one in its place.
      await Deno.remove(root, { recursive: true });
      await assertRejects(() => ln.init(), ln.NotFoundError, /create: false/);
      assertEquals(await Deno.stat(root).then(() => true, () => false), false);
    });
  } finally {
    await ln.close();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

Deno.test("the settings live in $LAMINDENO_HOME, else $XDG_CONFIG_HOME/lamindeno; a broken file is a ValidationError naming it", async () => {
  const dir = await tempDir();
  try {
    await withEnv({ LAMINDENO_HOME: undefined, XDG_CONFIG_HOME: `${dir}/xdg` }, async () => {
      assertEquals(configDir(), `${dir}/xdg/lamindeno`);
      await withEnv({ LAMINDENO_HOME: `${dir}/home` }, async () => {
        assertEquals(settingsFile(), `${dir}/home/settings.json`);
        await Deno.mkdir(`${dir}/home`);
        await Deno.writeTextFile(`${dir}/home/settings.json`, "{ not json");
        await assertRejects(
          () => ln.init(),
          ln.ValidationError,
          /home\/settings\.json is not JSON/,
        );
        await Deno.writeTextFile(`${dir}/home/settings.json`, '{"defaultInstance": {"s": 1}}');
        await assertRejects(() => ln.init(), ln.ValidationError, /malformed defaultInstance/);
        // Other settings in the file are kept when the default is set.
        await Deno.writeTextFile(`${dir}/home/settings.json`, '{"other": 1}');
        await ln.init({ storage: `${dir}/data`, setDefault: true });
        await ln.close();
        const saved = JSON.parse(await Deno.readTextFile(`${dir}/home/settings.json`));
        assertEquals(saved, { other: 1, defaultInstance: { storage: `${dir}/data` } });
        assertEquals((await Deno.stat(`${dir}/home/settings.json`)).mode! & 0o077, 0);
      });
    });
  } finally {
    await ln.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setDefault with a dialect or backend is refused, and the settings file is not written", async () => {
  const home = await tempDir();
  const root = await tempDir();
  try {
    await withEnv({ LAMINDENO_HOME: home }, async () => {
      await assertRejects(
        () => ln.init({ storage: root, backend: new ln.LocalStorage(root), setDefault: true }),
        ln.ValidationError,
        /cannot be the default/,
      );
      assertEquals([await listTree(home), await listTree(root)], [[], []]);
      await assertRejects(() => ln.File.filter({}), ln.NotInitializedError);
    });
  } finally {
    await ln.close();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an S3 default instance keeps endpoint and region but never the credentials", async () => {
  await using server = await s3Server();
  const bucket = await server.bucket();
  const home = await tempDir();
  const cache = await tempDir();
  const secret = server.options.credentials!.secretAccessKey; // s3rver's fixed key
  try {
    await withEnv({ LAMINDENO_HOME: home }, async () => {
      const storage = `s3://${bucket}/p`;
      await ln.init({ storage, s3: server.options, cacheDir: cache, setDefault: true });
      await ln.close();
      const text = await Deno.readTextFile(`${home}/settings.json`);
      assert(!text.includes(secret), text);
      assertEquals(JSON.parse(text).defaultInstance, {
        storage,
        s3: { endpoint: server.options.endpoint, region: "us-east-1", forcePathStyle: true },
        cacheDir: cache,
      });
      // Reopened with the credentials of the AWS environment (in a child
      // process: this one's environment is shared with tests running beside it).
      const mod = new URL("../../mod.ts", import.meta.url).href;
      const code = `import * as ln from "${mod}"; await ln.init(); ` +
        "console.log(ln.settings.storage.root); await ln.close();";
      const child = await new Deno.Command(Deno.execPath(), {
        args: ["eval", code],
        env: { LAMINDENO_HOME: home, AWS_ACCESS_KEY_ID: secret, AWS_SECRET_ACCESS_KEY: secret },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      assertEquals(dec.decode(child.stdout).trim(), storage, dec.decode(child.stderr));
    });
  } finally {
    await ln.close();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});

const pg = needsPostgres("a PostgreSQL default instance");

Deno.test({
  name:
    "a PostgreSQL default instance keeps its password in a 0600 pgpass file, not in settings.json",
  ...pg,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await postgresServer();
    const password = ["default", "Pw", "s3cr3t"].join("-");
    const url = await server.passwordDatabase(password);
    const home = await tempDir();
    const root = await tempDir();
    try {
      await withEnv({ LAMINDENO_HOME: home, PGPASSWORD: undefined }, async () => {
        await ln.init({ storage: root, db: url, setDefault: true });
        await ln.close();
        const text = await Deno.readTextFile(`${home}/settings.json`);
        assert(!text.includes(password) && !text.includes(encodeURIComponent(password)), text);
        const d = JSON.parse(text).defaultInstance;
        assertEquals(d.db, url.replace(`:${encodeURIComponent(password)}@`, "@"));
        assertEquals(d.pgpassFile, `${home}/default-instance.pgpass`);
        assertEquals((await Deno.stat(d.pgpassFile)).mode! & 0o777, 0o600);
        await ln.init();
        assertEquals(ln.settings.storage.root, root);
      });
    } finally {
      await ln.close();
      await Deno.remove(home, { recursive: true });
      await Deno.remove(root, { recursive: true });
    }
  },
});
