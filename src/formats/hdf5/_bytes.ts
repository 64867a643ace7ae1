// Little-endian byte building for HDF5 structures.

/** An "undefined address" (all bits set), as HDF5 writes it. */
export const UNDEF = 0xffffffffffffffffn;

/** A growable little-endian byte buffer. */
export class Bytes {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  /** Bytes written so far. */
  length = 0;

  #room(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
  /** One byte. */
  u8(v: number): this {
    this.#room(1);
    this.#buf[this.length++] = v;
    return this;
  }
  /** Two bytes. */
  u16(v: number): this {
    this.#room(2);
    this.#view.setUint16(this.length, v, true);
    this.length += 2;
    return this;
  }
  /** Four bytes. */
  u32(v: number): this {
    this.#room(4);
    this.#view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
    return this;
  }
  /** Eight bytes (addresses and lengths); a bigint for UNDEF. */
  u64(v: number | bigint): this {
    this.#room(8);
    this.#view.setBigUint64(this.length, typeof v === "bigint" ? v : BigInt(v), true);
    this.length += 8;
    return this;
  }
  /** Raw bytes. */
  raw(b: Uint8Array): this {
    this.#room(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** Zero bytes up to a multiple of `n`. */
  pad(n: number): this {
    const extra = (n - (this.length % n)) % n;
    this.#room(extra);
    this.#buf.fill(0, this.length, this.length + extra);
    this.length += extra;
    return this;
  }
  /** Zero bytes up to a total length of `n`. */
  padTo(n: number): this {
    if (n < this.length) throw new RangeError(`structure overflows its ${n} bytes`);
    this.#room(n - this.length);
    this.#buf.fill(0, this.length, n);
    this.length = n;
    return this;
  }
  /** The bytes written. */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }
}
