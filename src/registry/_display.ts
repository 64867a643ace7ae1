// How records show themselves, for every record class at once: a short text
// form (lamindb's repr: `File(id="…", key="…", …)`, a few lines at most),
// a small field | value HTML table for notebooks, and their public fields
// as JSON. Each record file calls `showRecords(Class)` once.
import { clip, htmlFields, installDisplay, showDate, wrap } from "../_display.ts";
import type { DataFrame } from "../formats/tables.ts";

/** Fields left out of the short text form (long, or repeated elsewhere). */
const SHORT_SKIP = new Set(["updatedAt", "hashType", "sourceCode"]);

/** A record of another class (pre-joined), as opposed to a plain value. */
function isRecord(v: unknown): v is object {
  if (v === null || typeof v !== "object" || v instanceof Date || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto !== Object.prototype && proto !== null;
}

/** A related manager (`inputs`, `ulabels`, `outputs`): an object of functions. */
function isManager(v: unknown): boolean {
  if (v === null || typeof v !== "object" || v instanceof Date || isRecord(v)) return false;
  return Object.values(v).some((x) => typeof x === "function");
}

/** The name a related record is shown by: a user's handle, a storage's root, a file's key, ... */
export function labelOf(r: object): string {
  const o = r as Record<string, unknown>;
  const cls = r.constructor?.name;
  const pick = cls === "Run" || cls === "Features"
    ? o.id
    : o.handle ?? o.root ?? o.key ?? o.name ?? o.id;
  return String(pick ?? "");
}

/**
 * The public fields of a record, in declaration order: own enumerable
 * fields that are not `_`-prefixed, functions or related managers.
 * Pre-joined related records are included (as records).
 */
export function publicFields(rec: object): [string, unknown][] {
  return Object.entries(rec).filter(([k, v]) =>
    !k.startsWith("_") && typeof v !== "function" && !isManager(v)
  );
}

/** A value as the short text form shows it. */
function showValue(v: unknown): string {
  if (v instanceof Date) return showDate(v);
  if (typeof v === "string") return JSON.stringify(clip(v));
  if (isRecord(v)) return JSON.stringify(clip(labelOf(v)));
  if (typeof v === "object") {
    try {
      return clip(JSON.stringify(v) ?? String(v));
    } catch {
      return "[object]";
    }
  }
  return String(v);
}

/** Fields with values, related records in place of their ids (`transform` for `transformId`). */
function shownFields(rec: object, skip: ReadonlySet<string>): [string, unknown][] {
  const fields = publicFields(rec);
  const related = new Set(
    fields.filter(([, v]) => isRecord(v)).map(([k]) => `${k}Id`),
  );
  const byName = new Map(fields);
  const out: [string, unknown][] = [];
  for (const [k, v] of fields) {
    if (v === null || v === undefined || skip.has(k) || isRecord(v)) continue;
    // A name that only repeats the key's last part says nothing new.
    if (k === "name" && typeof byName.get("key") === "string" && skip === SHORT_SKIP) {
      if ((byName.get("key") as string).split("/").pop() === v) continue;
    }
    const rel = k.endsWith("Id") ? k.slice(0, -2) : "";
    out.push(related.has(k) ? [rel, byName.get(rel)] : [k, v]);
  }
  return out;
}

/** The short text form: `File(id="…", key="…", size=3, …)`, wrapped at 100 columns. */
export function recordText(rec: object): string {
  const parts = shownFields(rec, SHORT_SKIP).map(([k, v]) => `${k}=${showValue(v)}`);
  return wrap(`${rec.constructor.name}(`, parts, ")");
}

/** The record as a small field | value HTML table (every value escaped). */
export function recordHtml(rec: object): string {
  const rows = shownFields(rec, new Set(["sourceCode"])).map(([k, v]) =>
    [
      k,
      v instanceof Date
        ? showDate(v)
        : isRecord(v)
        ? labelOf(v)
        : typeof v === "object"
        ? clip(JSON.stringify(v), 200)
        : clip(String(v), 200),
    ] as const
  );
  return htmlFields(rec.constructor.name, rows);
}

/** The record's public fields as JSON values (no related records or managers). */
export function recordJson(rec: object): Record<string, unknown> {
  return Object.fromEntries(publicFields(rec).filter(([, v]) => !isRecord(v)));
}

/**
 * Give a record class its text form (`console.log`, REPLs), notebook HTML
 * and `toJSON` (`JSON.stringify(record)`: its public fields).
 */
export function showRecords(...classes: { prototype: object }[]): void {
  for (const cls of classes) {
    installDisplay(cls.prototype, recordText, recordHtml);
    Object.defineProperty(cls.prototype, "toJSON", {
      value(this: object) {
        return recordJson(this);
      },
      configurable: true,
      writable: true,
    });
  }
}

/**
 * Give queries their text form (`Query<File>(limit=2): …`, without running)
 * and, in notebooks, their records as an HTML table (the query runs then).
 */
export function showQueries(
  cls: { prototype: { readonly _shown: string; df(): Promise<DataFrame> } },
): void {
  installDisplay(
    cls.prototype,
    (q) => `${q._shown}: await it for the records, df() for a table`,
    async (q) => (await import("./_table.ts")).dfHtml(await q.df(), q._shown),
  );
}
