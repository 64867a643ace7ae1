// Comparing strings by Unicode code point, as Python (and so pandas and
// numpy) orders str: JavaScript's `<` compares UTF-16 code units, which puts
// a character above U+FFFF (a surrogate pair, 0xD800..) before U+E000..U+FFFF.

/** Negative, zero or positive as `a` sorts before, with or after `b` by code point. */
export function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.codePointAt(i)! - b.codePointAt(i)!;
  }
  return a.length - b.length;
}
