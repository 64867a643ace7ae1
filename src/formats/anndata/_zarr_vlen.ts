// numcodecs' vlen-utf8 (zarr v2 string arrays: a count, then each string's
// byte length and UTF-8 bytes) decoded with checks (a count or a length past
// the chunk's end is an error, where zarrita's decoder reads short) and
// fast: a chunk whose strings are all ASCII is decoded once and sliced
// (zarrita's decodes each string from a copy of its bytes: ~2–4 µs each).

/** Strides of a C-order array of `shape`. */
function strides(shape: number[]): number[] {
  const out = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1] * shape[i + 1];
  return out;
}

/** The vlen-utf8 codec, registered in zarrita's registry by `installCheckedCodecs`. */
export class CheckedVLenUTF8 {
  readonly kind = "array_to_bytes";
  readonly #shape: number[];
  readonly #strides: number[];
  constructor(shape: number[]) {
    this.#shape = shape;
    this.#strides = strides(shape);
  }
  static fromConfig(_config: unknown, meta: { shape: number[] }): CheckedVLenUTF8 {
    return new CheckedVLenUTF8(meta.shape);
  }
  encode(): never {
    throw new Error("lamindeno does not write vlen-utf8 zarr chunks");
  }
  decode(bytes: Uint8Array): { data: string[]; shape: number[]; stride: number[] } {
    return { data: decodeVLenUTF8(bytes), shape: this.#shape, stride: this.#strides };
  }
}

const utf8 = new TextDecoder();

/** A vlen-utf8 chunk's view and string count; `Error` when the count cannot fit it. */
function vlenHeader(bytes: Uint8Array): { v: DataView; n: number } {
  if (bytes.length < 4) throw new Error(`a vlen-utf8 chunk of ${bytes.length} bytes`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = v.getUint32(0, true);
  if (n > (bytes.length - 4) / 4) {
    throw new Error(`the vlen-utf8 chunk claims ${n} strings in ${bytes.length} bytes`);
  }
  return { v, n };
}

/**
 * The strings of a vlen-utf8 chunk (only those at `pick`, ascending indexes
 * into the chunk, when given); `Error` when its counts do not fit it. Every
 * length up to the last string returned is checked; only the strings
 * returned are decoded.
 */
export function decodeVLenUTF8(bytes: Uint8Array, pick?: ArrayLike<number>): string[] {
  if (pick) return pickVLenUTF8(bytes, pick);
  const { v, n } = vlenHeader(bytes);
  const data: string[] = new Array(n);
  const starts = new Uint32Array(n + 1);
  // The strings' bytes, packed (and checked for ASCII on the way).
  const packed = new Uint8Array(bytes.length - 4 - 4 * n);
  let pos = 4, at = 0, high = 0;
  for (let i = 0; i < n; i++) {
    if (pos + 4 > bytes.length) throw new Error(`vlen-utf8 string ${i} runs past the chunk`);
    const len = v.getUint32(pos, true);
    pos += 4;
    if (len > bytes.length - pos) throw new Error(`vlen-utf8 string ${i} runs past the chunk`);
    starts[i] = at;
    for (let k = pos, stop = pos + len; k < stop; k++) high |= packed[at++] = bytes[k];
    pos += len;
  }
  starts[n] = at;
  if (high < 0x80) {
    // One character per byte: decoded once, then sliced.
    const all = utf8.decode(packed.subarray(0, at));
    for (let i = 0; i < n; i++) data[i] = all.slice(starts[i], starts[i + 1]);
  } else {
    for (let i = 0; i < n; i++) data[i] = utf8.decode(packed.subarray(starts[i], starts[i + 1]));
  }
  return data;
}

/** The strings at `pick` of a chunk: lengths walked, picked bytes decoded. */
function pickVLenUTF8(bytes: Uint8Array, pick: ArrayLike<number>): string[] {
  const { at, len } = vlenItems(bytes, pick);
  const out: string[] = new Array(pick.length);
  for (let k = 0; k < out.length; k++) {
    out[k] = ascii(bytes, at[k], len[k]) ?? utf8.decode(bytes.subarray(at[k], at[k] + len[k]));
  }
  return out;
}

/**
 * Where the items at `pick` (ascending chunk positions, repeats allowed) of
 * the vlen-utf8 chunk `bytes` are: byte offset and length of each. Every
 * length up to the last pick is checked against the chunk's end; `Error`
 * when the chunk is damaged or a pick is past its count.
 */
export function vlenItems(
  bytes: Uint8Array,
  pick: ArrayLike<number>,
): { at: Int32Array; len: Int32Array } {
  const { v, n } = vlenHeader(bytes);
  const at = new Int32Array(pick.length), lens = new Int32Array(pick.length);
  const last = pick.length ? pick[pick.length - 1] : -1;
  let pos = 4, next = 0;
  for (let i = 0; i < n && i <= last; i++) {
    if (pos + 4 > bytes.length) throw new Error(`vlen-utf8 string ${i} runs past the chunk`);
    const len = v.getUint32(pos, true);
    pos += 4;
    if (len > bytes.length - pos) throw new Error(`vlen-utf8 string ${i} runs past the chunk`);
    while (next < pick.length && pick[next] === i) {
      at[next] = pos;
      lens[next++] = len;
    }
    pos += len;
  }
  if (next < pick.length) throw new Error(`vlen-utf8 string ${pick[next]} of a chunk of ${n}`);
  return { at, len: lens };
}

/** A short ASCII string from its bytes (cheaper than a TextDecoder call), else undefined. */
function ascii(b: Uint8Array, at: number, len: number): string | undefined {
  if (len > 64) return undefined;
  let s = "";
  for (let k = at; k < at + len; k++) {
    const c = b[k];
    if (c >= 0x80) return undefined;
    s += String.fromCharCode(c);
  }
  return s;
}
