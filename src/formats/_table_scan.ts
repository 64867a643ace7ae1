// Table scans for load() and open(): one way to read each format, so the
// two agree, and a LazyFrame whose every error (at open, at collect, at
// fetch) is a LaminError.
//
// CSV/TSV go through up to three attempts, each a whole new scan:
// 1. polars' CSV scan, types inferred from the first 100 rows;
// 2. when a later row does not fit those types ("could not parse `1.5` as
//    dtype i64"), the same scan with types inferred from every row;
// 3. when polars trips on a stray quote inside an unquoted field (`x"y`)
//    and no field of the file starts with a quote, polars' eager reader
//    with quoting off, which reads such quotes as characters, as pandas
//    does (a file that also quotes fields is a CorruptFileError).
// A query on the LazyFrame is replayed on the next attempt when one of
// these errors surfaces at collect(). Ragged rows (more fields than the
// header) are refused in every attempt: polars would otherwise drop the
// extra fields silently.
import * as rt from "../_runtime.ts";
import { Buffer } from "node:buffer";
import type pl from "nodejs-polars";
import {
  ColumnNotFoundError,
  CorruptFileError,
  LaminError,
  NotFoundError,
  ValidationError,
} from "../errors.ts";

type Polars = typeof pl;
type LazyFrame = pl.LazyDataFrame;

/** One way to build the scan, and the error (message) that calls for it. */
interface Attempt {
  build: () => LazyFrame;
  when?: RegExp;
}

const COULD_NOT_PARSE = /could not parse .* as dtype/;
const MALFORMED = /CSV malformed/;
const RAW = Symbol("raw LazyFrame");

/** First line of an error's message. */
function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0];
}

/**
 * The LaminError for an error from polars while reading `label` as
 * `suffix` (a JS TypeError or a polars column/type error is the query's
 * fault; anything else is the file's).
 */
export function tableError(e: unknown, label: string, suffix: string): LaminError {
  if (e instanceof LaminError) return e;
  const msg = firstLine(e);
  const opts = { cause: e };
  if (/found more fields than defined in 'Schema'/.test(msg)) {
    return new CorruptFileError(
      `cannot read "${label}" as ${suffix}: a row has more fields than the header has ` +
        `columns (a stray separator, or a value holding the separator without quotes); ` +
        `fix the file, or name every column in the header`,
      opts,
    );
  }
  if (/No such file or directory|os error 2\b/.test(msg)) {
    return new NotFoundError(`cannot read "${label}": it is missing (${msg})`, opts);
  }
  if (/^(not found|ColumnNotFound|unable to find column)/i.test(msg)) {
    return new ColumnNotFoundError(`a query on "${label}" names a missing column: ${msg}`, opts);
  }
  if (
    e instanceof TypeError ||
    /InvalidOperation|SchemaMismatch|strict conversion|cannot cast|conversion from/.test(msg)
  ) {
    return new ValidationError(`a query on "${label}" failed: ${msg}`, opts);
  }
  return new CorruptFileError(`cannot read "${label}" as ${suffix}: ${msg}`, opts);
}

function isLazy(x: unknown): x is LazyFrame {
  const o = x as Record<string, unknown> | null;
  // (polars' JS wrapper, which holds the native frame in `_ldf`; not the native frame)
  return o !== null && typeof o === "object" && typeof o.collectSync === "function" &&
    typeof o.describeOptimizedPlan === "function" && "_ldf" in o;
}

/** The scans a guarded frame depends on (every file a query reads). */
const SCANS = Symbol("scans");

/** The scans of the guarded frames among `args` (nested in arrays too). */
function scansOf(args: unknown[], into: Set<Scan>): Set<Scan> {
  for (const a of args) {
    if (Array.isArray(a)) scansOf(a, into);
    else if (isLazy(a)) {
      const own = (a as unknown as Record<symbol, unknown>)[SCANS];
      if (own instanceof Set) { for (const sc of own) into.add(sc as Scan); }
    }
  }
  return into;
}

/** `args` with each guarded frame replaced by its polars frame at its scans' attempts. */
function unwrap(args: unknown[]): unknown[] {
  const one = (a: unknown): unknown => {
    if (isLazy(a)) {
      const raw = (a as unknown as Record<symbol, unknown>)[RAW];
      return typeof raw === "function" ? raw() : a;
    }
    return Array.isArray(a) ? a.map(one) : a;
  };
  return args.map(one);
}

/** The attempts and which one is in use, shared by a scan and every query on it. */
class Scan {
  level = 0;
  constructor(
    readonly attempts: readonly Attempt[],
    readonly label: string,
    readonly suffix: string,
  ) {}

  /** Move past `at` if `e` calls for a later attempt (or another query already did). */
  advance(e: unknown, at: number): boolean {
    if (this.level > at) return true;
    const msg = firstLine(e);
    const next = this.attempts.findIndex((a, i) => i > at && !!a.when?.test(msg));
    if (next < 0) return false;
    this.level = next;
    return true;
  }
}

/**
 * `f` at the scans' current attempts; again when its error calls for a
 * later attempt of any of them (a query over two files, say a join, does
 * not tell which file the error is in: each that has such an attempt
 * moves on, which costs at most a slower read of the other).
 */
function runOn<T>(scans: readonly Scan[], f: () => T): T {
  const at = scans.map((sc) => sc.level);
  const retry = (e: unknown): T => {
    // Every scan is asked (no short cut): each that can moves on.
    const moved = scans.map((sc, i) => sc.advance(e, at[i]));
    if (moved.some(Boolean)) return runOn(scans, f);
    throw tableError(
      e,
      scans.map((sc) => sc.label).join(`" and "`),
      scans[0].suffix,
    );
  };
  let r: T;
  try {
    r = f();
  } catch (e) {
    return retry(e);
  }
  return (r instanceof Promise ? r.catch(retry) : r) as T;
}

/**
 * A LazyFrame made by `make` over `scans` (at their current attempts), whose
 * errors are LaminErrors and whose queries are replayed on later attempts.
 */
function guard(scans: readonly Scan[], make: () => LazyFrame, first: LazyFrame): LazyFrame {
  const key = () => scans.map((sc) => sc.level).join(",");
  const memo = new Map<string, LazyFrame>([[key(), first]]);
  const raw = () => {
    const k = key();
    let lf = memo.get(k);
    if (!lf) memo.set(k, lf = make());
    return lf;
  };
  const own = new Set(scans);
  // The first frame is the target only so that printing shows its plan.
  return new Proxy(first, {
    get(_t, prop) {
      if (prop === RAW) return () => runOn(scans, raw);
      if (prop === SCANS) return own;
      const v = runOn(scans, () => Reflect.get(raw(), prop));
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        const all = [...scansOf(args, new Set(scans))];
        const call = () =>
          (raw() as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>)[prop](
            ...unwrap(args),
          );
        const r = runOn(all, call);
        return isLazy(r) ? guard(all, call as () => LazyFrame, r) : r;
      };
    },
    has: (_t, prop) => prop === RAW || prop === SCANS || prop in runOn(scans, raw),
    ownKeys: () => Reflect.ownKeys(runOn(scans, raw)),
    getOwnPropertyDescriptor: (_t, prop) => {
      const d = Reflect.getOwnPropertyDescriptor(runOn(scans, raw), prop);
      return d && { ...d, configurable: true };
    },
  });
}

/** A LazyFrame over `attempts` whose errors are LaminErrors naming `label`. */
function guardedScan(attempts: readonly Attempt[], label: string, suffix: string): LazyFrame {
  const scan = new Scan(attempts, label, suffix);
  const make = () => attempts[scan.level].build();
  return guard([scan], make, runOn([scan], make));
}

/**
 * Integers wider than 64 bits (polars infers Int128 for CSV integers past
 * int64; nodejs-polars cannot describe that type): UInt64 when every value
 * fits, else exact decimal strings.
 */
export function narrowWideInts(p: Polars, lf: LazyFrame): LazyFrame {
  const probe = lf.head(0).collectSync();
  try {
    void probe.dtypes;
    return lf;
  } catch (e) {
    if (!/not supported for JS conversion/.test(firstLine(e))) throw e;
  }
  const wide = probe.columns.filter((c) => {
    try {
      void probe.getColumn(c).dtype;
      return false;
    } catch {
      return true;
    }
  });
  const counts = lf.select(
    ...wide.flatMap((c, i) => [
      p.col(c).isNull().sum().alias(`n${i}`),
      p.col(c).cast(p.UInt64, false).isNull().sum().alias(`u${i}`),
    ]),
  ).collectSync().row(0).map(Number);
  return lf.withColumns(
    ...wide.map((c, i) => p.col(c).cast(counts[2 * i] === counts[2 * i + 1] ? p.UInt64 : p.Utf8)),
  );
}

/** {@linkcode narrowWideInts} of a DataFrame (free when it has no wide integers). */
export function narrowWideIntsDf(p: Polars, df: pl.DataFrame): pl.DataFrame {
  try {
    void df.dtypes;
    return df;
  } catch {
    return narrowWideInts(p, df.lazy()).collectSync();
  }
}

/**
 * The fields of the first record of CSV text (RFC 4180 quoting with `"`);
 * undefined when `bytes` ends inside it and there may be more.
 */
export function csvHeader(bytes: Uint8Array, sep: string, complete: boolean): string[] | undefined {
  let text = new TextDecoder().decode(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const fields: string[] = [];
  let field = "", quoted = false, start = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') field += ch, i++;
      else quoted = false;
    } else if (ch === '"' && start) quoted = true, start = false;
    else if (ch === sep) fields.push(field), field = "", start = true;
    else if (ch === "\n" || ch === "\r") {
      fields.push(field);
      return fields;
    } else field += ch, start = false;
  }
  if (!complete) return undefined;
  fields.push(field);
  return fields;
}

/**
 * Renames undoing polars' reading of a quoted header field `"q""t"` as
 * `q""t`: where polars' name is the header's with its quotes doubled.
 */
function headerRenames(path: string, sep: string, columns: string[]): Record<string, string> {
  const max = 1 << 20;
  const head = rt.readPrefixSync(path, max);
  const names = csvHeader(head, sep, head.length < max);
  const renames: Record<string, string> = {};
  if (!names || names.length !== columns.length) return renames;
  columns.forEach((c, i) => {
    const want = names[i];
    if (c !== want && want.includes('"') && c === want.replaceAll('"', '""')) {
      if (!columns.includes(want)) renames[c] = want;
    }
  });
  return renames;
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** True if a field of the CSV at `path` starts with a quote (quoting is in use). */
function quotesAField(path: string, sep: string): boolean {
  const b = rt.readFileSync(path);
  const s = sep.charCodeAt(0);
  let at = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  if (b[at] === 0x22) return true;
  while ((at = b.indexOf(0x22, at + 1)) > 0) {
    const before = b[at - 1];
    if (before === s || before === 0x0a || before === 0x0d) return true;
  }
  return false;
}

/** The CSV/TSV attempts for `path` (see the top of this file). */
function csvAttempts(p: Polars, path: string, sep: string, label: string): Attempt[] {
  const base = { sep, truncateRaggedLines: false };
  let renames: Record<string, string> | undefined;
  const fix = (lf: LazyFrame) => {
    renames ??= headerRenames(path, sep, lf.columns);
    return narrowWideInts(p, Object.keys(renames).length ? lf.rename(renames) : lf);
  };
  // Every row (the line count bounds it: polars allocates for the number asked).
  const allRows = () => rt.countByteSync(path, 0x0a) + 1;
  return [
    { build: () => fix(p.scanCSV(path, base)) },
    {
      when: COULD_NOT_PARSE,
      build: () => fix(p.scanCSV(path, { ...base, inferSchemaLength: allRows() })),
    },
    {
      when: MALFORMED,
      build: () => {
        if (quotesAField(path, sep)) {
          throw new CorruptFileError(
            `cannot read "${label}" as a CSV: it quotes fields, and a quote somewhere does not ` +
              `close its field (a field holding a quote must be quoted whole, the quote ` +
              `doubled: "x""y")`,
          );
        }
        // No field starts with a quote, so quotes are plain characters (as for pandas).
        // (The scan refuses quoteChar "", the eager reader takes it.)
        const src = /\.(csv|tsv)$/.test(path) ? path : bufferOf(rt.readFileSync(path));
        return fix(p.readCSV(src, { ...base, quoteChar: "", inferSchemaLength: allRows() }).lazy());
      },
    },
  ];
}

/**
 * A LazyFrame over the local table file `path` read as `suffix` (lower
 * case: .csv .tsv .parquet .ipc .feather .arrow). Its schema is read now;
 * every error, now or from a query on it, is a LaminError naming `label`.
 */
export function scanGuarded(p: Polars, path: string, suffix: string, label: string): LazyFrame {
  const attempts: Attempt[] = suffix === ".csv" || suffix === ".tsv"
    ? csvAttempts(p, path, suffix === ".tsv" ? "\t" : ",", label)
    : [{
      build: () => narrowWideInts(p, suffix === ".parquet" ? p.scanParquet(path) : p.scanIPC(path)),
    }];
  const lf = guardedScan(attempts, label, suffix);
  void lf.columns; // reads the schema: a file that is not this format fails here
  return lf;
}

/**
 * Guarded scans (`scanGuarded`) stacked as one LazyFrame (polars' concat,
 * `"diagonalRelaxed"`: columns some lack filled with nulls, a column of
 * different types as their supertype), guarded as each of them is: errors
 * are LaminErrors naming the files, and a CSV's later attempt replays the
 * whole stack.
 */
export function concatGuarded(p: Polars, frames: readonly LazyFrame[]): LazyFrame {
  const scans = [...scansOf([...frames], new Set())];
  const make = () =>
    p.concat(unwrap([...frames]) as LazyFrame[], { how: "diagonalRelaxed", rechunk: false });
  return guard(scans, make, runOn(scans, make));
}
