// Secrets never reach a message: every URL in an error (and in its cause
// chain) is redacted, malformed ones too; S3 keys and Postgres passwords
// given to the library never appear in what it throws.
import * as ln from "../mod.ts";
import { redactError, redactSource, redactText, redactUrl } from "../src/_redact.ts";
import { assert, assertEquals, listTree, tempDir } from "./_helpers.ts";
import { s3Server } from "./_s3.ts";
import { needsPostgres, postgresServer } from "./_postgres.ts";

const PW = "s3cr3t-PW/x@y";
const ENC = encodeURIComponent(PW);

/** Everything an error shows: message, String(), stack, every cause, every string property. */
function everything(e: unknown): string {
  const seen = new Set<unknown>();
  const parts: string[] = [];
  const walk = (x: unknown, depth: number) => {
    if (typeof x === "string") return void parts.push(x);
    if (x === null || typeof x !== "object" || seen.has(x) || depth > 20) return;
    seen.add(x);
    parts.push(String(x));
    for (const k of Object.getOwnPropertyNames(x)) {
      try {
        const v = (x as Record<string, unknown>)[k];
        if (typeof v === "string") parts.push(v);
        else if (k === "cause" || k === "errors" || k === "$response") walk(v, depth + 1);
      } catch {
        // getter that throws
      }
    }
    walk((x as { cause?: unknown }).cause, depth + 1);
  };
  walk(e, 0);
  try {
    parts.push(JSON.stringify(e));
  } catch {
    // cyclic
  }
  return parts.join("\n");
}

function assertClean(e: unknown, ...secrets: string[]) {
  const text = everything(e);
  for (const s of secrets) assert(!text.includes(s), `"${s}" appears in:\n${text}`);
}

async function rejection(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

Deno.test("redactUrl removes userinfo, query and fragment, also from URLs that do not parse", () => {
  assertEquals(redactUrl("postgresql://lamin:PW@[::1"), "postgresql://***@[::1");
  assertEquals(redactUrl("postgresql://lamin:PW@db.org:5432/x"), "postgresql://***@db.org:5432/x");
  // A password holding "/" and "@" (unencoded): the whole authority up to the last "@".
  assertEquals(redactUrl("postgresql://lamin:p@ss/w@rd@[::1]:5/db"), "postgresql://***@[::1]:5/db");
  assertEquals(
    redactUrl("https://b.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=AKIA"),
    "https://b.s3.amazonaws.com/k?***",
  );
  assertEquals(redactUrl("http://[bad?token=t0ken"), "http://[bad?***");
  assertEquals(redactUrl("no scheme at all"), "<URL>");
});

Deno.test("redactText redacts every URL in a text, secret parameters and the known secrets", () => {
  assertEquals(
    redactText("Invalid URL: 'postgresql://lamin:PW@[::1' (see https://u:p@h.org/x?t=1)."),
    "Invalid URL: 'postgresql://***@[::1' (see https://***@h.org/x?***).",
  );
  assertEquals(
    redactText('host=h password=hunter22 user=u {"secretAccessKey":"abcd/efgh"}'),
    'host=h password=*** user=u {"secretAccessKey":"***"}',
  );
  assertEquals(redactText(`login with ${PW} failed`, [PW]), "login with *** failed");
  assertEquals(redactText(`login with ${ENC} failed`, [PW]), "login with *** failed");
  // Short known secrets are left to the patterns: they would mangle the text.
  assertEquals(redactText("a postgres error", ["p"]), "a postgres error");
});

Deno.test("redactSource removes secrets written into code and keeps the rest as written", () => {
  const code = [
    'const db = "postgresql://ana:hunter2@db.example.org:5432/lamin";',
    "const password = 'pw-1234';",
    'const s3 = { secretAccessKey: "wJalrXUtnFEMI", accessKeyId: "ASIAIOSFODNN7EXAMPLE" };',
    'const j = { "token": "abc.def" };',
    'api_key = "k-123"',
    'const url = "https://x.org/data.h5ad?raw=true&token_count=3";',
    "const n = tokens.length; const passes = 3; password = readPassword();",
  ].join("\n");
  assertEquals(redactSource(code).split("\n"), [
    'const db = "postgresql://***@db.example.org:5432/lamin";',
    "const password = '***';",
    'const s3 = { secretAccessKey: "***", accessKeyId: "***" };',
    'const j = { "token": "***" };',
    'api_key = "***"',
    'const url = "https://x.org/data.h5ad?raw=true&token_count=3";',
    "const n = tokens.length; const passes = 3; password = readPassword();",
  ]);
});

Deno.test("redactError redacts an error's message, stack and whole cause chain in place", () => {
  const inner = new TypeError(`Invalid URL: 'postgresql://lamin:${PW}@[::1'`);
  const outer = new Error("wrapped", { cause: new AggregateError([inner], "many") });
  redactError(outer, [PW]);
  assertClean(outer, PW, ENC, "s3cr3t");
  assert(inner.message.includes("postgresql://***@[::1"), inner.message);
});

Deno.test("a malformed PostgreSQL URL with a password: no message, String() or cause shows it", async () => {
  const dir = await tempDir();
  try {
    for (
      const db of [
        `postgresql://lamin:${PW}@[::1`,
        `postgresql://lamin:${ENC}@[::1`,
        `postgres://lamin:${ENC}@[::1]:99999/db`,
        `postgresql://lamin@127.0.0.1:1/db?password=${ENC}`,
      ]
    ) {
      const e = await rejection(() => ln.init({ storage: dir, db }));
      assert(e instanceof ln.LaminError, `${db}: ${e}`);
      assertClean(e, PW, ENC, "s3cr3t");
      assert(/registry|db/.test(e.message), e.message);
    }
  } finally {
    await ln.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unreachable PostgreSQL registry: the StorageError names the host, not the password", async () => {
  const dir = await tempDir();
  try {
    const e = await rejection(() =>
      ln.init({ storage: dir, db: `postgresql://lamin:${ENC}@127.0.0.1:1/db` })
    );
    assert(e instanceof ln.StorageError, String(e));
    assert(e.message.includes("postgresql://***@127.0.0.1:1/db"), e.message);
    assertClean(e, PW, ENC, "s3cr3t");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("storage and db URLs with credentials are redacted in init's messages", async () => {
  const dir = await tempDir();
  try {
    for (
      const options of [
        { storage: `https://lamin:${ENC}@example.org/data` },
        { storage: dir, db: `mysql://lamin:${ENC}@example.org/db` },
        { storage: dir, db: `file://lamin:${ENC}@remote/x` },
        { storage: `s3://AKIAKEY:${ENC}@bucket/prefix` },
      ]
    ) {
      const e = await rejection(() => ln.init(options));
      assert(e instanceof ln.LaminError, String(e));
      assertClean(e, PW, ENC, "s3cr3t");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("S3 credentials never appear in an error from S3Storage or init", async () => {
  await using server = await s3Server();
  const bucket = await server.bucket();
  // Built at run time: tracking stores this script's text as the transform's
  // source, which must not count as a leak of the key.
  const secret = ["wJalrXUtnFEMI", "K7MDENG", "bPxRfiCYEXAMPLEKEY"].join("-");
  const token = ["FwoGZXIvYXdz", "EXAMPLESESSIONTOKEN1234"].join("");
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: secret, sessionToken: token };
  // A server that refuses the signature, a closed port, and an endpoint with userinfo.
  const cases: ln.S3Options[] = [
    { ...server.options, credentials },
    { ...server.options, endpoint: "http://127.0.0.1:1", credentials },
    { ...server.options, endpoint: `http://user:${secret}@127.0.0.1:1/`, credentials },
  ];
  for (const [i, s3] of cases.entries()) {
    const storage = new ln.S3Storage(`s3://${bucket}/p`, s3);
    let failed = 0;
    for (
      const op of [
        (): Promise<unknown> => storage.get("a.txt"),
        () => storage.put("a.txt", new Uint8Array([1])),
        () => storage.head("a.txt"),
        async () => {
          for await (const _ of storage.list("")) break;
        },
      ]
    ) {
      const e = await Promise.resolve().then(() => op()).then(() => undefined, (e) => e);
      if (e !== undefined) failed++;
      assertClean(e, secret, token);
    }
    storage.close();
    const dir = await tempDir();
    try {
      const e = await ln.init({ storage: `s3://${bucket}/p`, s3, cacheDir: dir })
        .then(() => undefined, (e) => e);
      if (e === undefined) {
        // Opened: no record (storage, run, file) and no file on this machine keeps the keys.
        await ln.track({ name: "secrets" });
        await new ln.File(new Uint8Array([1, 2]), { key: "x.bin" }).save();
        await ln.finish();
        await ln.close();
        for (const f of await listTree(dir)) {
          assertClean(new TextDecoder().decode(await Deno.readFile(`${dir}/${f}`)), secret, token);
        }
      } else assertClean(e, secret, token);
      // The unreachable endpoints fail every call.
      if (i > 0) assertEquals([failed, e instanceof ln.StorageError], [4, true], String(e));
    } finally {
      await ln.close();
      await Deno.remove(dir, { recursive: true });
    }
  }
  const e = await rejection(() =>
    Promise.resolve().then(() => new ln.S3Storage("s3://b/p", { endpoint: `not a url ${secret}` }))
  );
  assert(e instanceof ln.ValidationError, String(e));
  assertClean(e, secret);
});

const pg = needsPostgres("an instance on a password-protected PostgreSQL");

Deno.test({
  name: "an instance opened with a password shows it nowhere: location, inspect, records, run",
  ...pg,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await postgresServer();
    const password = "inst-s3cr3t-PW";
    const db = await server.passwordDatabase(password);
    const root = await tempDir();
    try {
      const inst = await ln.connect({ storage: root, db });
      try {
        const file = await new ln.File(new Uint8Array([1]), { key: "a.bin", instance: inst })
          .save();
        assertEquals(inst.location?.kind, "postgres");
        const shown = [
          JSON.stringify(inst.location),
          Deno.inspect(inst, { depth: 6 }),
          Deno.inspect(file, { depth: 6 }),
          JSON.stringify(await ln.Storage.using(inst).filter({})),
        ].join("\n");
        assertClean(shown, password, encodeURIComponent(password));
        assert(shown.includes("secret_"), "the role's name stays visible");
      } finally {
        await inst.close();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
