// The CLI's commands: each parses its own options (node:util parseArgs),
// opens the instance it needs, prints text or --json, and returns its exit
// code. Errors are thrown: main.ts turns them into exit codes.
import { basename, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as ln from "../mod.ts";
import { initReporting } from "../src/init.ts";
import { settingsFile } from "../src/registry/default_instance.ts";
import { redactUrl } from "../src/_redact.ts";
import { installCli } from "../kernel/install.ts";
import { fields, humanSize, table } from "./_table.ts";
import { PROG, USAGE } from "./_usage.ts";

/** Bad usage: exit code 2, the command's help. */
export class UsageError extends Error {
  /** `command`'s help is printed after the message. */
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

/** `fsck` found problems. */
export const EXIT_PROBLEMS = 3;

type Spec = NonNullable<Parameters<typeof parseArgs>[0]>["options"];
type Values = Record<string, string | boolean | undefined>;

const INSTANCE_OPTIONS = {
  storage: { type: "string" },
  db: { type: "string" },
} as const;

/** Parse `args` for `command`: `[values, positionals]`, or a UsageError. */
function parse(
  command: string,
  args: string[],
  options: Spec,
  positionals: [min: number, max: number, name?: string] = [0, 0],
): [Values, string[]] {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message, command);
  }
  const values = parsed.values as Values;
  if (values.help) return [values, parsed.positionals];
  const [min, max, name] = positionals;
  const n = parsed.positionals.length;
  if (n < min) throw new UsageError(`${command} needs ${name}`, command);
  if (n > max) {
    throw new UsageError(`${command}: unexpected argument ${parsed.positionals[max]}`, command);
  }
  for (const [k, v] of Object.entries(values)) {
    if (v === "") throw new UsageError(`--${k} needs a value`, command);
  }
  return [values, parsed.positionals];
}

/** A positive integer option, or a UsageError. */
function count(command: string, name: string, v: string | boolean | undefined, dflt: number) {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`--${name} takes a positive whole number, got ${v}`, command);
  }
  return n;
}

/** Open the instance a command works on: --storage/--db, else the per-user default. */
async function openInstance(values: Values): Promise<ln.Instance> {
  const storage = values.storage as string | undefined;
  const db = values.db as string | undefined;
  if (db && !storage) throw new UsageError("--db needs --storage");
  const report = await initReporting(
    storage ? { storage, ...(db ? { db } : {}), create: false } : undefined,
    true,
  );
  return report.instance;
}

function print(text: string): void {
  console.log(text);
}

function json(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

function registryOf(inst: ln.Instance): Record<string, string> {
  const loc = inst.location;
  if (!loc) return { kind: "dialect" };
  return loc.kind === "libsql"
    ? { kind: "libsql", path: loc.path }
    : { kind: "postgres", url: redactUrl(loc.url) };
}

function fileJson(f: ln.File): Record<string, unknown> {
  return {
    id: f.id,
    key: f.key,
    suffix: f.suffix,
    size: f.size,
    hash: f.hash,
    description: f.description,
    uri: f.path(),
    runId: f.runId,
    createdAt: f.createdAt.toISOString(),
    updatedAt: f.updatedAt.toISOString(),
  };
}

async function init(args: string[]): Promise<number> {
  const [v] = parse("init", args, {
    storage: { type: "string" },
    db: { type: "string" },
    "s3-endpoint": { type: "string" },
    "s3-region": { type: "string" },
    "s3-path-style": { type: "boolean" },
    "cache-dir": { type: "string" },
    "no-create": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (v.help) return help("init");
  const storage = v.storage as string | undefined;
  const s3: ln.S3Options = {
    ...(v["s3-endpoint"] ? { endpoint: v["s3-endpoint"] as string } : {}),
    ...(v["s3-region"] ? { region: v["s3-region"] as string } : {}),
    ...(v["s3-path-style"] ? { forcePathStyle: true } : {}),
  };
  if (!storage && (v.db || v["cache-dir"] || Object.keys(s3).length || v["no-create"])) {
    throw new UsageError("these options need --storage", "init");
  }
  const report = storage
    ? await initReporting({
      storage,
      ...(v.db ? { db: v.db as string } : {}),
      ...(Object.keys(s3).length ? { s3 } : {}),
      ...(v["cache-dir"] ? { cacheDir: v["cache-dir"] as string } : {}),
      create: !v["no-create"],
      setDefault: true,
    }, true)
    : await initReporting(undefined, true);
  const inst = report.instance;
  if (v.json) {
    json({
      created: report.created,
      registry: registryOf(inst),
      storage: inst.root,
      settings: settingsFile(),
    });
  } else print(report.message);
  return 0;
}

async function info(args: string[]): Promise<number> {
  const [v] = parse("info", args, { ...INSTANCE_OPTIONS, json: { type: "boolean" } });
  if (v.help) return help("info");
  const inst = await openInstance(v);
  const counts = {
    files: await ln.File.filter({}).count(),
    runs: await ln.Run.filter({}).count(),
    transforms: await ln.Transform.filter({}).count(),
    ulabels: (await ln.ULabel.filter({})).length,
  };
  const registry = registryOf(inst);
  if (v.json) {
    json({
      instance: inst.root,
      registry,
      storage: { id: inst.storage.id, root: inst.storage.root, type: inst.storage.type },
      user: { id: inst.user.id, handle: inst.user.handle },
      cacheDir: inst.settings.cacheDir,
      settings: settingsFile(),
      counts,
    });
    return 0;
  }
  print(fields([
    ["instance", inst.root],
    ["registry", `${registry.kind} ${registry.path ?? registry.url ?? ""}`.trim()],
    ["storage", `${inst.storage.root} (${inst.storage.type}, id ${inst.storage.id})`],
    ["user", `${inst.user.handle} (id ${inst.user.id})`],
    ["cache", inst.settings.cacheDir],
    ["settings", settingsFile()],
    ...Object.entries(counts) as [string, number][],
  ]));
  return 0;
}

async function ls(args: string[], name = "ls"): Promise<number> {
  const [v] = parse(name, args, {
    ...INSTANCE_OPTIONS,
    limit: { type: "string" },
    json: { type: "boolean" },
  });
  if (v.help) return help("ls");
  const limit = count(name, "limit", v.limit, 20);
  await openInstance(v);
  const files = await ln.File.filter({}, { orderBy: ["-updatedAt", "-createdAt"], limit });
  if (v.json) {
    json(files.map(fileJson));
    return 0;
  }
  const total = await ln.File.filter({}).count();
  if (total === 0) {
    print("no files yet: add one with `" + PROG + " save PATH`");
    return 0;
  }
  print(table(
    ["id", "key", "suffix", "size", "updated"],
    files.map((f) => [
      f.id,
      f.key ?? f.name ?? "",
      f.suffix,
      humanSize(f.size),
      f.updatedAt.toISOString().slice(0, 19).replace("T", " "),
    ]),
  ));
  if (total > files.length) print(`(${files.length} of ${total} files; --limit N shows more)`);
  return 0;
}

async function save(args: string[]): Promise<number> {
  const [v, [path]] = parse("save", args, {
    ...INSTANCE_OPTIONS,
    key: { type: "string" },
    description: { type: "string" },
    json: { type: "boolean" },
  }, [1, 1, "a PATH"]);
  if (v.help) return help("save");
  await openInstance(v);
  const data = /^[a-z][a-z0-9+.-]+:\/\//i.test(path) ? path : resolve(path);
  const f = await new ln.File(data, {
    ...(v.key ? { key: v.key as string } : {}),
    ...(v.description ? { description: v.description as string } : {}),
  }).save();
  if (v.json) json(fileJson(f));
  else print(`saved file ${f.id}: key ${f.key ?? "(none)"}, ${f.path()}`);
  return 0;
}

async function get(args: string[]): Promise<number> {
  const [v, [key]] = parse("get", args, { ...INSTANCE_OPTIONS, json: { type: "boolean" } }, [
    1,
    1,
    "a KEY",
  ]);
  if (v.help) return help("get");
  await openInstance(v);
  const f = await ln.File.get({ key });
  const path = await f.stage({ isRunInput: false });
  if (v.json) json({ id: f.id, key: f.key, uri: f.path(), path });
  else print(path);
  return 0;
}

/** What a loaded object looks like, in at most `rows` rows. */
function preview(value: unknown, rows: number): string {
  const v = value as { head?: (n: number) => unknown; toString?: () => string };
  if (typeof v?.head === "function") return String(v.head(rows));
  if (typeof value === "string") return value.split("\n").slice(0, rows).join("\n");
  if (v && typeof v.toString === "function" && v.toString !== Object.prototype.toString) {
    const s = String(value);
    if (!s.startsWith("[object ")) return s.split("\n").slice(0, rows * 2).join("\n");
  }
  return Deno.inspect(value, { depth: 2, iterableLimit: rows, colors: false });
}

async function load(args: string[]): Promise<number> {
  const [v, [key]] = parse("load", args, { ...INSTANCE_OPTIONS, rows: { type: "string" } }, [
    1,
    1,
    "a KEY",
  ]);
  if (v.help) return help("load");
  const rows = count("load", "rows", v.rows, 10);
  await openInstance(v);
  const f = await ln.File.get({ key });
  let value: unknown;
  try {
    value = await f.load({ isRunInput: false });
  } catch (e) {
    if (!(e instanceof ln.NoInMemoryRepresentationError)) throw e;
    const path = await f.stage({ isRunInput: false });
    const info = await Deno.stat(path);
    if (!info.isFile) {
      print(`${f.path()}: a folder of ${humanSize(f.size)}, with no in-memory form`);
      return 0;
    }
    using file = await Deno.open(path);
    const head = new Uint8Array(8192);
    const n = (await file.read(head)) ?? 0;
    const bytes = head.subarray(0, n);
    let text: string | undefined;
    try {
      text = bytes.includes(0)
        ? undefined
        : new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      text = undefined; // cut inside a character, or not text
    }
    print(
      text === undefined
        ? `${f.path()}: ${humanSize(f.size)} of binary data, with no in-memory form`
        : text.split("\n").slice(0, rows).join("\n"),
    );
    return 0;
  }
  print(preview(value, rows));
  return 0;
}

async function lineage(args: string[]): Promise<number> {
  const [v, [key]] = parse("lineage", args, { ...INSTANCE_OPTIONS, out: { type: "string" } }, [
    1,
    1,
    "a KEY",
  ]);
  if (v.help) return help("lineage");
  await openInstance(v);
  const f = await ln.File.get({ key });
  const out = resolve((v.out as string | undefined) ?? `${basename(key)}.lineage.svg`);
  await Deno.writeTextFile(out, (await f.viewLineage()).svg);
  print(out);
  return 0;
}

async function fsck(args: string[]): Promise<number> {
  const [v] = parse("fsck", args, {
    ...INSTANCE_OPTIONS,
    repair: { type: "boolean" },
    "no-hash": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (v.help) return help("fsck");
  await openInstance(v);
  const report = await ln.fsck({ repair: Boolean(v.repair), hash: !v["no-hash"] });
  const left = v.repair
    ? report.missing.length + report.mismatched.length
    : Object.values(report).reduce((n, l) => n + l.length, 0);
  if (v.json) json(report);
  else {
    const lines: string[] = [];
    for (const [kind, list] of Object.entries(report) as [string, unknown[]][]) {
      for (const p of list) {
        lines.push(
          typeof p === "string"
            ? `${kind}: ${p}`
            : `${kind}: ${(p as ln.FsckProblem).path} (file ${(p as ln.FsckProblem).id}, ${
              (p as ln.FsckProblem).detail
            })`,
        );
      }
    }
    const done = v.repair ? " (repaired what could be)" : "";
    print(lines.length ? `${lines.join("\n")}${done}` : "healthy: every object as registered");
  }
  return left ? EXIT_PROBLEMS : 0;
}

function kernel(args: string[]): Promise<number> | number {
  if (args[0] === "install") return installCli(args.slice(1));
  if (args.length === 0 || args[0] === "--help" || args[0] === "-h") {
    return help("kernel", args.length === 0);
  }
  throw new UsageError(`kernel: unknown subcommand ${args[0]}`, "kernel");
}

/** Print a command's help (to stderr with exit 2 when it was not asked for). */
export function help(command?: string, unasked = false): number {
  const text = command ? USAGE[command] : undefined;
  if (command && !text) throw new UsageError(`unknown command ${command}`);
  (unasked ? console.error : console.log)(text ?? "");
  return unasked ? 2 : 0;
}

/** The commands by name. */
export const COMMANDS: Record<string, (args: string[]) => Promise<number> | number> = {
  init,
  info,
  ls,
  view: (args) => ls(args, "view"),
  save,
  get,
  load,
  lineage,
  fsck,
  kernel,
};
