// Variable-length strings: references (length, global heap collection
// address, object index; 16 bytes each) decoded into JS strings. Only the
// strings asked for are decoded: their bytes are gathered, collection by
// collection, into one buffer decoded at once, and each string is a
// substring of that. A local file's collections are read one at a time
// into one reused buffer (a batch of scattered obs names touches dozens of
// collections of ~20,000 names each; reading and decoding them whole cost
// ~3x their wanted bytes in memory); the first and last ones a call reads
// are kept, since the next rows in order usually continue them.
import { CorruptFileError } from "../../errors.ts";
import type { Collection } from "./_structures.ts";

/** Global heap collections by address (an H5File's `HeapCache`). */
export interface Heaps {
  /** Whether {@linkcode Heaps.readTransient} can be used. */
  readonly local: boolean;
  /** The collection at `address`, read whole and kept. */
  get(address: number): Promise<Collection>;
  /** The collections at `addresses` (remote: those not kept read together). */
  getAll(addresses: readonly number[]): Promise<Collection[]>;
  /** The collection at `address` if kept. */
  peek(address: number): Collection | undefined;
  /** Local files: the collection read into a reused buffer, valid until the next call. */
  readTransient(address: number): Collection;
  /** Keep a copy of a collection from `readTransient`. */
  keep(address: number, c: Collection): void;
}

const dec = new TextDecoder();
const latin = new TextDecoder("windows-1252");
/** Gathered bytes are decoded in pieces of about this size (a JS string has a maximum length). */
const SEGMENT = 8 << 20;
/** Gathered bytes land in one reused buffer when they fit (the decode copies them out). */
const GATHER_MAX = 4 << 20;
let gathered = new Uint8Array(0);

/** Bytes of strings gathered: string `i`'s `u[4 * i]` bytes follow string `i - 1`'s in `buf`. */
interface Gathered {
  /** The references as 32-bit words (length, address low, high, index). */
  u: Uint32Array;
  n: number;
  buf: Uint8Array;
  total: number;
  /** Strings holding a byte >= 0x80, by reference (absent: none). */
  nonAscii?: Uint8Array;
}

/** Strings' bytes past this many are a damaged file (2 GiB: no heap holds more). */
const MAX_TOTAL = 2 ** 31 - 1;

/** The `n` strings `raw` refers to (16-byte references, as the file). */
export async function vstrings(
  raw: Uint8Array,
  n: number,
  label: string,
  heaps: Heaps,
): Promise<string[]> {
  return await gatherStrings(raw, n, label, heaps, false, decodeAll);
}

/** The gathered strings as JS strings (run before anything else may reuse the buffer). */
function decodeAll({ u, n, buf, total, nonAscii }: Gathered): string[] {
  // ASCII strings: substrings of the gathered bytes decoded at once (one
  // char per byte); others decoded one by one as UTF-8.
  const out = new Array<string>(n);
  let text = "", from = 0, to = 0, p = 0;
  for (let i = 0; i < n; i++) {
    const len = u[4 * i];
    if (len === 0) {
      out[i] = "";
      continue;
    }
    if (nonAscii?.[i]) out[i] = dec.decode(buf.subarray(p, p + len));
    else {
      if (p + len > to) {
        from = p;
        to = Math.min(total, p + Math.max(SEGMENT, len));
        text = latin.decode(buf.subarray(from, to));
      }
      out[i] = text.substring(p - from, p - from + len);
    }
    p += len;
  }
  // A buffer of its own (many strings): given back now, not at the next collection.
  if (buf !== gathered) (buf.buffer as ArrayBuffer).transfer?.(0);
  return out;
}

/**
 * The `n` strings `raw` refers to as UTF-8 bytes and Arrow-style offsets
 * (string `i` is `bytes[offsets[i]..offsets[i + 1])`), no JS string made:
 * what a dataframe column needs (polars reads it as it is).
 */
export async function vstringsUtf8(
  raw: Uint8Array,
  n: number,
  label: string,
  heaps: Heaps,
): Promise<{ offsets: Int32Array; bytes: Uint8Array }> {
  return await gatherStrings(raw, n, label, heaps, true, ({ u, buf, total }) => {
    const offsets = new Int32Array(n + 1);
    for (let i = 0, o = 0; i < n; i++) offsets[i + 1] = o += u[4 * i];
    return { offsets, bytes: buf.subarray(0, total) };
  });
}

/**
 * `use` of the bytes of the `n` strings `raw` refers to, in order, in one
 * buffer (`own`: a new one, else possibly the reused one, which `use` runs
 * on before any other call can take it: no await between them).
 */
async function gatherStrings<T>(
  raw: Uint8Array,
  n: number,
  label: string,
  heaps: Heaps,
  own: boolean,
  use: (g: Gathered) => T,
): Promise<T> {
  if (raw.length < n * 16) {
    throw new CorruptFileError(`"${label}": string references end early`);
  }
  // References as 32-bit words (length, address low, high, index; little-endian as the file).
  const u = raw.byteOffset % 4 === 0
    ? new Uint32Array(raw.buffer, raw.byteOffset, n * 4)
    : new Uint32Array(raw.slice(0, n * 16).buffer);
  // Runs of consecutive references into one collection (empty strings, of
  // no collection, break none): first reference, end, where their bytes go.
  let cap = 16, runs = 0, total = 0, at = -1;
  let first = new Uint32Array(cap), end = new Uint32Array(cap), pos = new Float64Array(cap);
  let addr = new Float64Array(cap);
  for (let i = 0; i < n; i++) {
    const len = u[4 * i];
    if (len === 0) continue;
    const a = u[4 * i + 1] + u[4 * i + 2] * 2 ** 32;
    if (a !== at || runs === 0) {
      if (runs === cap) {
        cap *= 2;
        [first, end, pos, addr] = [
          grow(first, cap),
          grow(end, cap),
          grow(pos, cap),
          grow(addr, cap),
        ];
      }
      first[runs] = i;
      pos[runs] = total;
      addr[runs++] = at = a;
    }
    end[runs - 1] = i + 1;
    total += len;
  }
  // The collections in order of first use, each with its chain of runs.
  const slot = new Map<number, number>();
  const heads: number[] = [], tails: number[] = [];
  const next = new Int32Array(runs).fill(-1);
  for (let r = 0; r < runs; r++) {
    const s = slot.get(addr[r]);
    if (s === undefined) {
      slot.set(addr[r], heads.length);
      heads.push(r);
      tails.push(r);
    } else {
      next[tails[s]] = r;
      tails[s] = r;
    }
  }
  let buf = gathered;
  let nonAscii: Uint8Array | undefined;
  const gather = (h: Collection, head: number) => {
    const b = h.bytes, offsets = h.offsets, sizes = h.sizes;
    for (let r = head; r >= 0; r = next[r]) {
      let p = pos[r];
      for (let i = first[r], e = end[r]; i < e; i++) {
        const len = u[4 * i];
        if (len === 0) continue;
        const index = u[4 * i + 3];
        const o = index < offsets.length ? offsets[index] : -1;
        if (!(o >= 0)) {
          throw new CorruptFileError(`"${label}": string ${index} missing from its heap`);
        }
        if (len > sizes[index]) {
          throw new CorruptFileError(
            `"${label}": a string claims ${len} bytes, its heap object holds ${
              sizes[index]
            }: the file is damaged`,
          );
        }
        let any = 0;
        if (len <= 32) {
          // A few bytes (a name): a loop beats making a subarray.
          for (let k = 0; k < len; k++) any |= buf[p + k] = b[o + k];
        } else {
          buf.set(b.subarray(o, o + len), p);
          for (let k = p; k < p + len; k++) any |= buf[k];
        }
        if (any >= 0x80) (nonAscii ??= new Uint8Array(n))[i] = 1;
        p += len;
      }
    }
  };
  const lastSlot = runs ? slot.get(addr[runs - 1])! : -1;
  // Chosen with no await before the gathering and decoding (the reused one is shared).
  if (total > MAX_TOTAL) {
    throw new CorruptFileError(
      `"${label}": ${n} strings claim ${total} bytes; the file is damaged`,
    );
  }
  const buffer = () => {
    if (own || total > GATHER_MAX) return new Uint8Array(total);
    if (gathered.length < total) {
      gathered = new Uint8Array(Math.max(total, Math.min(GATHER_MAX, 2 * gathered.length)));
    }
    return gathered;
  };
  if (heaps.local) {
    buf = buffer();
    for (let s = 0; s < heads.length; s++) {
      const a = addr[heads[s]];
      let h = heaps.peek(a);
      if (!h) {
        h = heaps.readTransient(a);
        if (s === 0 || s === lastSlot) heaps.keep(a, h);
      }
      gather(h, heads[s]);
    }
  } else {
    const got = await heaps.getAll(heads.map((r) => addr[r]));
    buf = buffer();
    got.forEach((h, s) => gather(h, heads[s]));
  }
  return use({ u, n, buf, total, nonAscii });
}

function grow<T extends Uint32Array | Float64Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
