// Case-insensitive substring patterns that mean the same on SQLite and
// PostgreSQL. SQLite's lower() folds ASCII only, PostgreSQL's folds by the
// column's collation (ASCII only under COLLATE "C"): `lower(col) like ...`
// matched "é" to "É" on one database and not on the other. Instead each
// character of the pattern becomes the set of characters of its case
// (`é` -> `[éÉ]`, `ß` -> `[ßẞ]`), matched case-exactly: a GLOB on SQLite,
// a regular expression on PostgreSQL, the same rows on both.

/** Code points of one case class by its key (built once, on first use). */
let classes: Map<string, string> | undefined;

/** Whether `s` is one code point. */
function single(s: string): boolean {
  const cp = s.codePointAt(0);
  return cp !== undefined && s.length === (cp > 0xffff ? 2 : 1);
}

/** The key of `c`'s case class: lower(upper(c)) where both are one code point. */
function keyOf(c: string): string {
  const up = c.toUpperCase();
  const low = (single(up) ? up : c).toLowerCase();
  return single(low) ? low : c;
}

function build(): Map<string, string> {
  const members = new Map<string, string[]>();
  // Every cased letter is below U+20000 (the last are in the SMP: Adlam, Medefaidrin).
  for (let cp = 0; cp < 0x20000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    const k = keyOf(c);
    if (k === c && c.toUpperCase() === c && c.toLowerCase() === c) continue;
    (members.get(k) ?? members.set(k, [k]).get(k)!).push(c);
  }
  const out = new Map<string, string>();
  for (const [k, list] of members) {
    const set = [...new Set(list)];
    if (set.length > 1) out.set(k, set.join(""));
  }
  return out;
}

/** The characters `c` matches ignoring case (itself alone when it has no case). */
export function caseClass(c: string): string {
  classes ??= build();
  return classes.get(keyOf(c)) ?? c;
}

/** A SQLite GLOB matching any text that holds `needle`, ignoring case. */
export function globContains(needle: string): string {
  let out = "*";
  for (const c of needle) {
    const cls = caseClass(c);
    // A class of one character needs brackets only for GLOB's own characters.
    out += cls.length > c.length ? `[${cls}]` : "*?[".includes(c) ? `[${c}]` : c;
  }
  return out + "*";
}

/** A PostgreSQL regular expression (ARE) matching text that holds `needle`, ignoring case. */
export function regexContains(needle: string): string {
  let out = "";
  for (const c of needle) {
    const cls = caseClass(c);
    if (cls.length > c.length) out += `[${cls}]`;
    // In an ARE, a backslash before a character that is not alphanumeric stands for it.
    else out += c.charCodeAt(0) < 0x80 && !/^[A-Za-z0-9]$/.test(c) ? `\\${c}` : c;
  }
  return out;
}
