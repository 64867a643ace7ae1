// The layering of src/ and kernel/: which folder may import which, and no
// import cycle between folders. The rules are the table "layer | units | may
// import" in the README's Architecture section, parsed here, so the table the
// reader sees is the one enforced. `checkLayering` is a plain function over a
// tree; it is run on the repository and on small trees under
// test/fixtures/architecture/ that break the rules on purpose.
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { posix } from "node:path";

/** One layer of the rules table: the units in it and the layers they may import. */
export interface Layer {
  name: string;
  /** Folders (`src/storage/`, `kernel/`) and files (`src/errors.ts`, `mod.ts`). */
  units: string[];
  /** Names of layers; a layer imports its own other units only when it names itself. */
  mayImport: string[];
}

/** One import in a source file, resolved to a path relative to the root. */
export interface Import {
  file: string;
  line: number;
  specifier: string;
  target: string;
}

/** A broken rule, with the import lines that break it. */
export type Violation =
  | { kind: "forbidden"; from: string; to: string; imports: Import[] }
  | { kind: "unknown-unit"; unit: string; files: string[] }
  | { kind: "cycle"; units: string[]; example: string[]; imports: Import[] };

/** The folders and files whose imports are checked. */
const SCANNED = ["src/", "kernel/", "cli/", "mod.ts"];

// ---------------------------------------------------------------- imports

type Token = { t: "id" | "str" | "tpl" | "num" | "p"; v: string; line: number };

const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

/** Tokens of TypeScript source, without comments; enough to find imports. */
function tokenize(src: string): Token[] {
  const out: Token[] = [];
  const braces: ("{" | "${")[] = []; // open braces, to resume a template after `${...}`
  let line = 1;
  let i = 0;
  const regexAllowed = () => {
    const prev = out.at(-1);
    if (!prev) return true;
    if (prev.t === "p") return prev.v !== ")" && prev.v !== "]";
    return prev.t === "id" && REGEX_AFTER_WORD.has(prev.v);
  };
  // Reads a template from after "`" or "}" up to "`" (end) or "${" (substitution).
  const template = (startLine: number, head: boolean) => {
    let text = "";
    while (i < src.length) {
      const c = src[i];
      if (c === "\\") {
        text += src[i + 1] ?? "";
        if (src[i + 1] === "\n") line++;
        i += 2;
      } else if (c === "`") {
        i++;
        // Only a template without substitutions is a literal.
        out.push({ t: head ? "tpl" : "p", v: head ? text : "`", line: startLine });
        return;
      } else if (c === "$" && src[i + 1] === "{") {
        i += 2;
        braces.push("${");
        out.push({ t: "p", v: "${", line: startLine });
        return;
      } else {
        if (c === "\n") line++;
        text += c;
        i++;
      }
    }
  };
  while (i < src.length) {
    const c = src[i];
    if (c === "\n") {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (; i < stop; i++) if (src[i] === "\n") line++;
    } else if (c === '"' || c === "'") {
      let text = "";
      for (i++; i < src.length && src[i] !== c && src[i] !== "\n"; i++) {
        if (src[i] === "\\") i++;
        text += src[i];
      }
      i++;
      out.push({ t: "str", v: text, line });
    } else if (c === "`") {
      i++;
      template(line, true);
    } else if (c === "/" && regexAllowed()) {
      let inClass = false;
      for (i++; i < src.length && src[i] !== "\n"; i++) {
        if (src[i] === "\\") i++;
        else if (src[i] === "[") inClass = true;
        else if (src[i] === "]") inClass = false;
        else if (src[i] === "/" && !inClass) break;
      }
      for (i++; /[a-z]/.test(src[i] ?? ""); i++);
      out.push({ t: "num", v: "/regex/", line });
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[\w$]+/.exec(src.slice(i, i + 200))!;
      out.push({ t: "id", v: m[0], line });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[\w.]+/.exec(src.slice(i, i + 200))!;
      out.push({ t: "num", v: m[0], line });
      i += m[0].length;
    } else if (c === "{") {
      braces.push("{");
      out.push({ t: "p", v: c, line });
      i++;
    } else if (c === "}") {
      i++;
      if (braces.pop() === "${") template(line, false);
      else out.push({ t: "p", v: c, line });
    } else {
      out.push({ t: "p", v: c, line });
      i++;
    }
  }
  return out;
}

/**
 * The module specifiers a TypeScript source imports, with their lines:
 * `import ... from`, `import "..."`, `export ... from` (type-only ones too),
 * and `import("...")` with a literal (also `await import`, and `import()` types).
 * Comments, strings and non-literal dynamic imports are not imports.
 */
export function findImports(src: string): { specifier: string; line: number }[] {
  const tok = tokenize(src);
  const found: { specifier: string; line: number }[] = [];
  const is = (k: number, t: Token["t"], v?: string) =>
    tok[k]?.t === t && (v === undefined || tok[k].v === v);
  const literal = (k: number) => is(k, "str") || is(k, "tpl");
  // From the token after `import`/`export`, through a binding clause to `from "..."`.
  const fromClause = (k: number): string | undefined => {
    let inBraces = false;
    for (let j = k; j < tok.length; j++) {
      const x = tok[j];
      if (!inBraces && x.t === "id" && x.v === "from" && is(j + 1, "str")) return tok[j + 1].v;
      if (x.t === "p" && x.v === "{" && !inBraces) inBraces = true;
      else if (x.t === "p" && x.v === "}" && inBraces) {
        inBraces = false;
        if (!is(j + 1, "id", "from")) return undefined; // `export { a };`: no source
      } else if (x.t === "p" && x.v !== "," && x.v !== "*") return undefined;
      else if (x.t === "str" && !inBraces) return undefined;
      else if (x.t === "tpl" || x.t === "num") return undefined;
    }
    return undefined;
  };
  for (let k = 0; k < tok.length; k++) {
    const word = tok[k];
    if (word.t !== "id" || (word.v !== "import" && word.v !== "export")) continue;
    if (is(k - 1, "p", ".")) continue; // a property named import or export
    let specifier: string | undefined;
    if (word.v === "import") {
      if (is(k + 1, "p", "(")) {
        if (literal(k + 2) && (is(k + 3, "p", ")") || is(k + 3, "p", ","))) {
          specifier = tok[k + 2].v;
        }
      } else if (is(k + 1, "str")) specifier = tok[k + 1].v; // import "./x.ts"
      else if (!is(k + 1, "p", ".")) specifier = fromClause(k + 1); // not import.meta
    } else {
      const start = is(k + 1, "id", "type") ? k + 2 : k + 1;
      if (is(start, "p", "{") || is(start, "p", "*")) specifier = fromClause(start);
    }
    if (specifier !== undefined) found.push({ specifier, line: word.line });
  }
  return found;
}

// ------------------------------------------------------------------ units

/**
 * The unit a path (relative to the root) belongs to: `src/<dir>/` for
 * anything under a folder of src/ (nested folders included), the file itself
 * for a top-level file of src/ or of the root, else the top-level folder.
 */
export function unitOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "src") return parts.length > 2 ? `src/${parts[1]}/` : path;
  return parts.length > 1 ? `${parts[0]}/` : path;
}

async function tsFiles(root: string, rel: string): Promise<string[]> {
  const info = await Deno.stat(`${root}/${rel}`).catch(() => undefined);
  if (!info) return [];
  if (info.isFile) return rel.endsWith(".ts") ? [rel] : [];
  const out: string[] = [];
  for await (const e of Deno.readDir(`${root}/${rel}`)) {
    const child = posix.join(rel, e.name);
    if (e.isDirectory) out.push(...await tsFiles(root, child));
    else if (e.isFile && e.name.endsWith(".ts")) out.push(child);
  }
  return out.sort();
}

/** Every relative import of the scanned files under `root`, resolved. */
export async function readImports(root: string): Promise<{ files: string[]; imports: Import[] }> {
  const files = (await Promise.all(SCANNED.map((s) => tsFiles(root, s.replace(/\/$/, "")))))
    .flat();
  const imports: Import[] = [];
  for (const file of files) {
    const src = await Deno.readTextFile(`${root}/${file}`);
    for (const { specifier, line } of findImports(src)) {
      // Bare, npm:, node:, jsr: and URL specifiers are dependencies, not layers.
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      imports.push({ file, line, specifier, target });
    }
  }
  return { files, imports };
}

// ------------------------------------------------------------------ check

/** Strongly connected components of a graph (Tarjan), each sorted. */
function components(nodes: string[], edges: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      out.push(scc.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return out;
}

/** A shortest cycle through `start` inside `members`, as units from `start` back to it. */
function cycleThrough(start: string, members: Set<string>, edges: Map<string, Set<string>>) {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of [...edges.get(v) ?? []].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/**
 * Check the imports of `src/`, `kernel/` and `mod.ts` under `root` against the
 * layers: an import between two units is allowed when the importing unit's
 * layer names the imported unit's layer (an import of a unit in no layer, such
 * as `test/`, is not); a scanned unit in no layer is a violation; so is any
 * import cycle between units (type-only imports count).
 */
export async function checkLayering(root: string, layers: Layer[]): Promise<Violation[]> {
  const layerOf = new Map<string, Layer>();
  for (const layer of layers) for (const u of layer.units) layerOf.set(u, layer);
  const { files, imports } = await readImports(root);
  const violations: Violation[] = [];

  const unknown = new Map<string, string[]>();
  for (const file of files) {
    const unit = unitOf(file);
    if (!layerOf.has(unit)) unknown.set(unit, [...unknown.get(unit) ?? [], file]);
  }
  for (const [unit, unitFiles] of [...unknown].sort()) {
    violations.push({ kind: "unknown-unit", unit, files: unitFiles });
  }

  const edges = new Map<string, Set<string>>();
  const lines = new Map<string, Import[]>(); // "from\0to" -> the imports
  for (const imp of imports) {
    const from = unitOf(imp.file), to = unitOf(imp.target);
    if (from === to) continue;
    edges.set(from, (edges.get(from) ?? new Set()).add(to));
    const key = `${from}\0${to}`;
    lines.set(key, [...lines.get(key) ?? [], imp]);
  }

  for (const [key, imps] of [...lines].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) {
    const [from, to] = key.split("\0");
    const a = layerOf.get(from), b = layerOf.get(to);
    if (a && !(b && a.mayImport.includes(b.name))) {
      violations.push({ kind: "forbidden", from, to, imports: imps });
    }
  }

  const units = [...new Set([...files.map(unitOf), ...imports.map((i) => unitOf(i.target))])];
  for (const scc of components(units.sort(), edges)) {
    if (scc.length < 2) continue;
    const members = new Set(scc);
    const imps = [...lines]
      .filter(([key]) => key.split("\0").every((u) => members.has(u)))
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .flatMap(([, i]) => i);
    violations.push({
      kind: "cycle",
      units: scc,
      example: cycleThrough(scc[0], members, edges),
      imports: imps,
    });
  }
  return violations;
}

/** Violations as the test failure shows them: one rule, then its import lines. */
export function formatViolations(violations: Violation[], layers: Layer[]): string {
  const at = (i: Import) => `  ${i.file}:${i.line} -> ${i.target}  ("${i.specifier}")`;
  const layerOf = (u: string) => layers.find((l) => l.units.includes(u));
  return violations.map((v) => {
    if (v.kind === "unknown-unit") {
      return `${v.unit} is in no layer of the README's table "layer | units | may import"; ` +
        `add it to a row:\n${v.files.map((f) => `  ${f}`).join("\n")}`;
    }
    if (v.kind === "forbidden") {
      const a = layerOf(v.from)!, b = layerOf(v.to);
      return `${v.from} (layer ${a.name}) may not import ${v.to} ` +
        `(${b ? `layer ${b.name}` : "in no layer"}); ` +
        `${a.name} may import: ${a.mayImport.join(", ") || "nothing"}\n` +
        v.imports.map(at).join("\n");
    }
    return `import cycle among ${v.units.join(", ")} (${v.example.join(" -> ")}); ` +
      `the imports between these units:\n` +
      v.imports.map(at).join("\n");
  }).join("\n\n");
}

// ------------------------------------------------------------------ rules

const HEADER = ["layer", "units", "may import"];

/** The layers of the table "| layer | units | may import |" in a markdown text. */
export function parseRules(markdown: string): Layer[] {
  const cells = (row: string) => row.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
  const lines = markdown.split("\n");
  const starts = lines
    .map((r, i) => [r, i] as const)
    .filter(([r]) => r.trim().startsWith("|") && cells(r).join("|") === HEADER.join("|"));
  if (starts.length !== 1) {
    throw new Error(`expected one table with the header | ${HEADER.join(" | ")} |`);
  }
  const layers: Layer[] = [];
  for (const row of lines.slice(starts[0][1] + 2)) {
    if (!row.trim().startsWith("|")) break; // the table has ended
    const [name, units, may, ...rest] = cells(row);
    if (rest.length || may === undefined) throw new Error(`not a row of 3 cells: ${row}`);
    const list = (s: string) =>
      s === "nothing" ? [] : s.split(",").map((x) => x.trim().replace(/^`|`$/g, ""));
    layers.push({ name, units: list(units), mayImport: list(may) });
  }
  const names = new Set(layers.map((l) => l.name));
  for (const l of layers) {
    for (const u of l.units) {
      if (!/^[\w./-]+$/.test(u) || !(u.endsWith("/") || u.endsWith(".ts"))) {
        throw new Error(`layer ${l.name}: "${u}" is neither a folder (…/) nor a .ts file`);
      }
    }
    for (const m of l.mayImport) {
      if (!names.has(m)) throw new Error(`layer ${l.name} may import "${m}", which is no layer`);
    }
  }
  const units = layers.flatMap((l) => l.units);
  const twice = units.find((u, i) => units.indexOf(u) !== i);
  if (twice) throw new Error(`${twice} is in two layers`);
  return layers;
}

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const FIXTURES = `${ROOT}/test/fixtures/architecture`;
const RULES = parseRules(await Deno.readTextFile(`${ROOT}/README.md`));

// ------------------------------------------------------------------ tests

Deno.test("src/, kernel/ and mod.ts import only what the README's layering table allows, without cycles", async () => {
  const violations = await checkLayering(ROOT, RULES);
  if (violations.length) {
    throw new Error(
      `${violations.length} layering violation(s):\n\n${formatViolations(violations, RULES)}`,
    );
  }
});

Deno.test("every folder and file the layering table names exists", async () => {
  const missing: string[] = [];
  for (const unit of RULES.flatMap((l) => l.units)) {
    if (!await Deno.stat(`${ROOT}/${unit}`).then(() => true, () => false)) missing.push(unit);
  }
  assertEquals(missing, [], "remove these from the README's table, or fix their names");
});

Deno.test("the layering table keeps the rules: leaves import nothing, nothing in src/ imports kernel/", () => {
  const layer = (u: string) => RULES.find((l) => l.units.includes(u))!;
  for (const leaf of ["src/errors.ts", "src/_log.ts", "src/_ids.ts"]) {
    assertEquals(layer(leaf).mayImport, [], leaf);
  }
  const below = (name: string) => RULES.find((l) => l.name === name)!.mayImport;
  assertEquals(below(layer("src/storage/").name), [layer("src/errors.ts").name]);
  for (const l of RULES.filter((l) => l.units.some((u) => u.startsWith("src/")))) {
    assert(!l.mayImport.includes(layer("kernel/").name), `${l.name} may import kernel/`);
  }
  const registry = below(layer("src/registry/").name);
  for (const u of ["src/track/", "src/init.ts", "src/settings.ts", "src/fsck.ts"]) {
    assert(!registry.includes(layer(u).name), `registry/ may import ${u}`);
  }
  for (const u of ["src/registry/", "src/query/", "src/track/", "src/init.ts"]) {
    assert(!below(layer("src/formats/").name).includes(layer(u).name), `formats/ may import ${u}`);
  }
});

Deno.test("a tree where storage/ imports registry/ and track/ fails with exactly those import lines", async () => {
  const root = `${FIXTURES}/forbidden`;
  const violations = await checkLayering(root, RULES);
  const imp = (file: string, line: number, specifier: string) => ({
    file,
    line,
    specifier,
    target: posix.normalize(posix.join(posix.dirname(file), specifier)),
  });
  const local = "src/storage/local.ts";
  assertEquals(violations, [
    {
      kind: "forbidden",
      from: "src/storage/",
      to: "src/registry/",
      imports: [
        imp(local, 9, "../registry/file.ts"),
        imp(local, 10, "../registry/run.ts"),
        imp(local, 11, "../registry/file.ts"),
        imp(local, 18, "../registry/run.ts"),
        imp(local, 20, "../registry/file.ts"),
      ],
    },
    {
      kind: "forbidden",
      from: "src/storage/",
      to: "src/track/",
      imports: [imp(local, 24, "../track/track.ts"), imp(local, 28, "../track/track.ts")],
    },
  ]);
  const message = formatViolations(violations, RULES);
  assert(message.includes("src/storage/local.ts:9 -> src/registry/file.ts"), message);
  assert(message.includes("src/storage/ (layer storage) may not import src/registry/"), message);
});

Deno.test("a tree with an import cycle between two allowed units fails naming the cycle's imports", async () => {
  const violations = await checkLayering(`${FIXTURES}/cycle`, RULES);
  assertEquals(violations, [{
    kind: "cycle",
    units: ["src/init.ts", "src/settings.ts"],
    example: ["src/init.ts", "src/settings.ts", "src/init.ts"],
    imports: [
      { file: "src/init.ts", line: 2, specifier: "./settings.ts", target: "src/settings.ts" },
      { file: "src/settings.ts", line: 2, specifier: "./init.ts", target: "src/init.ts" },
    ],
  }]);
  assert(formatViolations(violations, RULES).includes("src/init.ts -> src/settings.ts"));
});

Deno.test("a new folder of src/, or an import of a folder in no layer, fails until the table names it", async () => {
  const violations = await checkLayering(`${FIXTURES}/unknown`, RULES);
  assertEquals(violations, [
    { kind: "unknown-unit", unit: "src/widgets/", files: ["src/widgets/w.ts"] },
    {
      kind: "forbidden",
      from: "src/settings.ts",
      to: "test/",
      imports: [{
        file: "src/settings.ts",
        line: 2,
        specifier: "../test/helper.ts",
        target: "test/helper.ts",
      }],
    },
  ]);
  const message = formatViolations(violations, RULES);
  assert(message.includes("src/widgets/ is in no layer"), message);
  assert(message.includes("may not import test/ (in no layer)"), message);
});

Deno.test("imports are found in every form, and not in comments, strings or non-literal import()", () => {
  const src = [
    'import { a } from "./a.ts";',
    'import type { B } from "./b.ts";',
    "import {",
    "  c,",
    "  type D,",
    '} from "./c.ts";',
    'export * from "./e.ts";',
    'export type { F } from "./f.ts";',
    'export { g as default } from "./g.ts";',
    'const h = await import("./h.ts");',
    "type I = typeof import('./i.ts');",
    "const j = await import(`./j.ts`);",
    'import "./k.ts";',
    'import l, * as m from "./l.ts";',
    '// import { x } from "./no1.ts";',
    '/* export * from "./no2.ts"; */',
    "const s = 'import y from \"./no3.ts\"';",
    "const t = `import z from ${'./no4.ts'}`;",
    'const u = await import("./no5/" + name);',
    "const v = await import(`./no6/${name}.ts`);",
    'const re = /"import w from "/;',
    "const url = import.meta.url;",
    "export { local };",
    "export type Local = string;",
    'const o = { import: (p: string) => p }; o.import("./no7.ts");',
  ].join("\n");
  assertEquals(findImports(src).map((i) => `${i.line} ${i.specifier}`), [
    "1 ./a.ts",
    "2 ./b.ts",
    "3 ./c.ts",
    "7 ./e.ts",
    "8 ./f.ts",
    "9 ./g.ts",
    "10 ./h.ts",
    "11 ./i.ts",
    "12 ./j.ts",
    "13 ./k.ts",
    "14 ./l.ts",
  ]);
});

Deno.test("a layering table naming an unknown layer or a unit twice is refused", () => {
  const table = (rows: string) => `| layer | units | may import |\n| - | - | - |\n${rows}`;
  throws(() => parseRules(table("| a | `src/a/` | b |")), /may import "b", which is no layer/);
  throws(() => parseRules(table("| a | `src/a/` | nothing |\n| b | `src/a/` | a |")), /two layers/);
  throws(() => parseRules("no table"), /expected one table/);
  assertEquals(
    parseRules(table("| a | `src/a/`, `src/x.ts` | nothing |\n| b | `kernel/` | a, b |")),
    [
      { name: "a", units: ["src/a/", "src/x.ts"], mayImport: [] },
      { name: "b", units: ["kernel/"], mayImport: ["a", "b"] },
    ],
  );
});
