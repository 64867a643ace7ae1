// How values show themselves, runtime-neutral: a short text form for
// `console.log` and REPLs (Deno's and Node's inspect hooks, found by their
// registered symbols) and a MIME bundle for notebooks (`Jupyter.display`,
// which Deno's kernel calls on a cell's value). A leaf: imports nothing.

/** Deno's inspect hook (`Deno.customInspect`), by its registered symbol. */
export const DENO_INSPECT: unique symbol = Symbol.for("Deno.customInspect") as never;
/** Node's and Bun's inspect hook (`util.inspect.custom`), by its registered symbol. */
export const NODE_INSPECT: unique symbol = Symbol.for("nodejs.util.inspect.custom") as never;
/** What Deno's Jupyter kernel calls to show a value. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A MIME bundle: `{ "text/plain": ..., "text/html": ... }`. */
export type MimeBundle = Record<string, string>;

/**
 * Give the instances of a class (its prototype) a text form for inspection
 * and a MIME bundle for notebooks; `html` may be async (Deno's kernel
 * awaits it). The methods are not enumerable: fields, `Object.keys` and
 * JSON are unchanged.
 */
export function installDisplay<T>(
  proto: T,
  text: (self: T) => string,
  html: (self: T) => string | Promise<string>,
): void {
  const bundle = (self: T, h: string): MimeBundle => ({ "text/plain": text(self), "text/html": h });
  Object.defineProperties(proto, {
    [DENO_INSPECT]: {
      value(this: T) {
        return text(this);
      },
      configurable: true,
      writable: true,
    },
    [NODE_INSPECT]: {
      value(this: T) {
        return text(this);
      },
      configurable: true,
      writable: true,
    },
    [JUPYTER_DISPLAY]: {
      value(this: T): MimeBundle | Promise<MimeBundle> {
        const h = html(this);
        return typeof h === "string" ? bundle(this, h) : h.then((x) => bundle(this, x));
      },
      configurable: true,
      writable: true,
    },
  });
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `s` safe inside HTML text and attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** At most `n` characters of `s` on one line (`…` when cut; newlines as `⏎`). */
export function clip(s: string, n = 40): string {
  const one = s.replace(/\r?\n/g, "⏎");
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

/** A date as `2026-01-31 12:00:00` (UTC), the way lamindb shows times. */
export function showDate(d: Date): string {
  return Number.isNaN(d.getTime())
    ? "invalid date"
    : d.toISOString().slice(0, 19).replace("T", " ");
}

/** `1.2 KB`-style sizes, as lamindb's describe shows them. */
export function showBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024, i++);
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Words joined by `, ` and wrapped at `width` columns; continuation lines indented. */
export function wrap(head: string, parts: readonly string[], tail: string, width = 100): string {
  const lines: string[] = [];
  let line = head;
  parts.forEach((p, i) => {
    const piece = p + (i < parts.length - 1 ? "," : tail);
    const sep = line === head || line === "  " ? "" : " ";
    if (line.length + sep.length + piece.length > width && line !== head && line !== "  ") {
      lines.push(line);
      line = "  " + piece;
    } else line += sep + piece;
  });
  if (parts.length === 0) line += tail;
  lines.push(line);
  return lines.join("\n");
}

/** An HTML table (every cell escaped); `caption` on top when given. */
export function htmlTable(
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  caption?: string,
): string {
  const cell = (v: unknown) => (v === null || v === undefined ? "" : escapeHtml(v));
  return `<table class="lamindeno">` +
    (caption === undefined ? "" : `<caption>${escapeHtml(caption)}</caption>`) +
    `<thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>` +
    `<tbody>${
      rows.map((r) => `<tr>${r.map((v) => `<td>${cell(v)}</td>`).join("")}</tr>`).join("")
    }` +
    `</tbody></table>`;
}

/** A two-column field | value HTML table (every cell escaped). */
export function htmlFields(
  caption: string,
  fields: readonly (readonly [string, unknown])[],
): string {
  return `<table class="lamindeno"><caption style="text-align:left"><b>${
    escapeHtml(caption)
  }</b></caption><tbody>${
    fields.map(([k, v]) =>
      `<tr><th style="text-align:left">${escapeHtml(k)}</th><td style="text-align:left">${
        escapeHtml(v)
      }</td></tr>`
    ).join("")
  }</tbody></table>`;
}

/**
 * What `v` is, for messages that must not show the value itself (it may be
 * anything, or a secret): `null`, `undefined`, `an array`, `an object` (a
 * plain one), `a Float32Array` (other objects by their class), else its
 * type with an article (`a string`, `a bigint`).
 */
export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") {
    let name: unknown;
    try {
      name = Object.getPrototypeOf(v)?.constructor?.name;
    } catch { /* a Proxy whose traps throw */ }
    return typeof name === "string" && name !== "" && name !== "Object" ? `a ${name}` : "an object";
  }
  return `a ${typeof v}`;
}

/**
 * A user's value as shown in an error message, never throwing: strings
 * quoted, `10n` for a BigInt, `Symbol(x)`, plain objects and arrays as JSON
 * (BigInts inside as `"10n"`), other objects by their class (`a Map`);
 * clipped to `max` characters.
 */
export function showValue(v: unknown, max = 60): string {
  const clipTo = (s: string) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
  try {
    switch (typeof v) {
      case "string":
        return clipTo(JSON.stringify(v));
      case "bigint":
        return `${v}n`;
      case "symbol":
        return clipTo(v.toString());
      case "function":
        return "a function";
      case "undefined":
        return "undefined";
      case "number":
      case "boolean":
        return String(v);
    }
    if (v === null) return "null";
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? "an invalid Date" : v.toISOString();
    const proto = Object.getPrototypeOf(v);
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
      return `a ${proto?.constructor?.name || "object"}`;
    }
    const json = JSON.stringify(
      v,
      (_k, x) => typeof x === "bigint" ? `${x}n` : typeof x === "symbol" ? x.toString() : x,
    );
    return clipTo(json ?? Object.prototype.toString.call(v));
  } catch {
    return Object.prototype.toString.call(v);
  }
}
