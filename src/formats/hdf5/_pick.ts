// The byte ranges of a decoded chunk a read wants, concatenated: what a
// decoding worker sends back instead of the whole chunk (a scattered
// selection wants a tenth of each chunk; the rest is dropped where it was
// decoded, so the reading thread neither copies it nor collects it).
import { CorruptFileError } from "../../errors.ts";

/**
 * Ranges `[pick[2k], pick[2k + 1])` of `b`, ascending and disjoint, in one
 * new array; `b` itself when they cover it whole or `pick` is absent.
 */
export function picked(b: Uint8Array, pick?: readonly number[], where = "a chunk"): Uint8Array {
  if (!pick) return b;
  let total = 0;
  for (let k = 0; k < pick.length; k += 2) {
    const s = pick[k], e = pick[k + 1];
    if (!(s >= (k ? pick[k - 1] : 0) && e >= s && e <= b.length)) {
      throw new CorruptFileError(
        `${where}: bytes ${s}..${e} of a chunk of ${b.length} bytes are asked: the file is damaged`,
      );
    }
    total += e - s;
  }
  if (total === b.length) return b;
  const out = new Uint8Array(total);
  for (let k = 0, o = 0; k < pick.length; k += 2) {
    const s = pick[k], e = pick[k + 1];
    if (e - s <= 32) { for (let x = s; x < e; x++) out[o++] = b[x]; }
    else {
      out.set(b.subarray(s, e), o);
      o += e - s;
    }
  }
  return out;
}
