// Byte sources for the HDF5 reader, and a small page cache for metadata.
import { type FileHandle, open as openFile } from "node:fs/promises";
import { closeSync, openSync, readSync } from "node:fs";

import { CorruptFileError } from "../../errors.ts";

/** Handles a local file is read through at most (see `fileBytes`). */
const READ_HANDLES = 4;

/** Reads from twice this size on are cut into pieces of about it, read at once (see `fileBytes`). */
const PIECE = 4 << 20;

/** Reads up to this size are done synchronously (a few µs, against tens for a thread-pool hop). */
export const SYNC_READ = 256 * 1024;

/** Where HDF5 bytes come from: a local file, a storage backend, S3. */
export interface ByteReader {
  /** Total size in bytes. */
  size(): Promise<number>;
  /** `length` bytes from `offset` (fewer only at the end of the file). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Optionally: fill `target` from `offset`, without an intermediate buffer; bytes read. */
  readInto?(offset: number, target: Uint8Array): Promise<number>;
  /**
   * Optionally: `readInto` done synchronously, for small reads of a local
   * file; into `target` from `start` for `length` bytes when given (no view
   * to make: streaming a subset reads ~100,000 windows a batch).
   */
  readIntoSync?(offset: number, target: Uint8Array, start?: number, length?: number): number;
  /**
   * Optionally: `length` bytes from `offset` handed to `sink` as they
   * arrive (`at`: position in the range; from 0 again after a retry), none
   * kept; the count handed.
   */
  readChunks?(
    offset: number,
    length: number,
    sink: (bytes: Uint8Array, at: number) => void,
  ): Promise<number>;
  /** Optionally: the local file read, for workers that read it themselves. */
  readonly path?: string;
  /** Optionally: told the bytes and reads others made of `path` (I/O counts). */
  counted?(bytes: number, requests: number): void;
}

/** A ByteReader over a local file (positional reads, safe in parallel); counts bytes and requests. */
export function fileBytes(path: string): ByteReader & {
  /** Bytes and reads so far; `handles`: the most handles open at once. */
  stats: { bytesRead: number; requests: number; handles: number };
  close(): void;
} {
  // Several handles: Deno runs one handle's reads one after another (each
  // waits for the one before), so large reads at once need a handle each
  // to run in parallel (a 390 MB file in 4.5 MB reads: 0.25 s on one
  // handle, 0.14 s on four, 2 cores).
  const handles: { h: Promise<FileHandle>; busy: number }[] = [];
  let fd: number | undefined;
  const stats = { bytesRead: 0, requests: 0, handles: 0 };
  const open = () => {
    let best = handles[0];
    for (const x of handles) if (x.busy < best.busy) best = x;
    if (!best || (best.busy > 0 && handles.length < READ_HANDLES)) {
      best = { h: openFile(path, "r"), busy: 0 };
      handles.push(best);
      stats.handles = Math.max(stats.handles, handles.length);
    }
    return best;
  };
  /** `target` filled from `offset` on one handle (the least busy); bytes read. */
  const readPiece = async (offset: number, target: Uint8Array): Promise<number> => {
    stats.requests++;
    const handle = open();
    handle.busy++;
    let got = 0;
    try {
      let h: FileHandle;
      try {
        h = await handle.h;
      } catch (e) {
        // An extra handle that could not be opened (too many open files):
        // read through the first one, as with a single handle.
        const first = handles[0], at = handles.indexOf(handle);
        if (!first || first === handle) throw e;
        if (at > 0) handles.splice(at, 1);
        h = await first.h;
      }
      while (got < target.length) {
        const { bytesRead } = await h.read(target, got, target.length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    } finally {
      handle.busy--;
      // Idle again: the extra handles closed (a collection keeps many
      // files open; each holds one handle while it is not read).
      if (handles.every((x) => x.busy === 0)) {
        for (const { h } of handles.splice(1)) h.then((h) => h.close()).catch(() => {});
      }
    }
    stats.bytesRead += got;
    return got;
  };
  return {
    stats,
    path,
    counted(bytes, requests) {
      stats.bytesRead += bytes;
      stats.requests += requests;
    },
    size: async () => (await (await open().h).stat()).size,
    async read(offset, length) {
      const out = new Uint8Array(length);
      const got = await this.readInto!(offset, out);
      return got === length ? out : out.subarray(0, got);
    },
    readIntoSync(offset, target, start = 0, length = target.length - start) {
      stats.requests++;
      fd ??= openSync(path, "r");
      let got = 0;
      while (got < length) {
        const n = readSync(fd, target, start + got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      stats.bytesRead += got;
      return got;
    },
    async readInto(offset, target) {
      // Small reads: a synchronous positional read costs a few µs, an
      // async one tens of µs (thread-pool hop) — streaming makes many.
      if (target.length <= SYNC_READ) return this.readIntoSync!(offset, target);
      if (target.length < 2 * PIECE) return await readPiece(offset, target);
      // Large ones in pieces on several handles at once (a dense matrix's
      // rows: one handle reads, and faults in, alone).
      const n = Math.min(READ_HANDLES, Math.floor(target.length / PIECE));
      const size = Math.ceil(target.length / n);
      const gots = await Promise.all(
        Array.from({ length: n }, (_, k) => {
          const from = k * size, to = Math.min(target.length, from + size);
          return readPiece(offset + from, target.subarray(from, to));
        }),
      );
      // The bytes up to the first piece cut short (the end of the file).
      let got = 0;
      for (let k = 0; k < n; k++) {
        got += gots[k];
        if (gots[k] < Math.min(size, target.length - k * size)) break;
      }
      return got;
    },
    close() {
      for (const { h } of handles.splice(0)) h.then((h) => h.close()).catch(() => {});
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

const PAGE = 4096;

/**
 * Metadata reads through 4 KiB pages, each fetched once; a missing page is
 * fetched with its missing neighbours in the same `block` (aligned, at
 * most 1/256 of the file), so a remote file's metadata, usually written
 * close together, costs few round trips.
 */
export class PageCache {
  readonly #src: ByteReader;
  readonly #block: number;
  readonly #pages = new Map<number, Uint8Array>();
  readonly #pending = new Map<number, Promise<void>>();
  readonly label: string;
  size = 0;

  constructor(src: ByteReader, label: string, block = PAGE) {
    this.#src = src;
    this.#block = Math.max(1, Math.floor(block / PAGE));
    this.label = label;
  }

  /**
   * Keep the pages of `bytes`, the file's first bytes (read before its
   * size was known: `size` must be set now); those past its end are not.
   */
  seed(bytes: Uint8Array): void {
    const end = Math.min(bytes.length, this.size);
    for (let k = 0; k * PAGE < end; k++) {
      const stop = Math.min((k + 1) * PAGE, end);
      // A page cut short by `bytes` (not by the file's end) is not whole.
      if (stop < (k + 1) * PAGE && stop < this.size) break;
      if (!this.#pages.has(k)) this.#pages.set(k, bytes.subarray(k * PAGE, stop));
    }
  }

  /** `length` bytes at `offset`; a CorruptFileError if the file ends before. */
  async get(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || offset + length > this.size) {
      throw new CorruptFileError(
        `"${this.label}" is truncated or damaged: needs bytes ${offset}..${
          offset + length
        } of ${this.size}`,
      );
    }
    const first = Math.floor(offset / PAGE), last = Math.floor((offset + length - 1) / PAGE);
    // Fetch missing pages in contiguous runs; wait for those already being
    // fetched (concurrent lookups often want the same page).
    const waits: Promise<void>[] = [];
    for (let p = first; p <= last;) {
      if (this.#pages.has(p)) {
        p++;
        continue;
      }
      const pending = this.#pending.get(p);
      if (pending) {
        waits.push(pending);
        p++;
        continue;
      }
      let q = p;
      while (q + 1 <= last && !this.#pages.has(q + 1) && !this.#pending.has(q + 1)) q++;
      // Read ahead (and behind) to the block's bounds, over missing pages
      // only; blocks stay under 1/256 of the file (small files: few bytes).
      const b = Math.max(1, Math.min(this.#block, Math.floor(this.size / 256 / PAGE))),
        lastPage = Math.ceil(this.size / PAGE) - 1;
      const missing = (k: number) => !this.#pages.has(k) && !this.#pending.has(k);
      const from0 = p;
      while (p - 1 >= Math.floor(from0 / b) * b && missing(p - 1)) p--;
      const blockEnd = Math.min(lastPage, (Math.floor(q / b) + 1) * b - 1);
      while (q + 1 <= blockEnd && missing(q + 1)) q++;
      const start = p * PAGE, from = p, to = q;
      const run = this.#src.read(start, Math.min((q + 1) * PAGE, this.size) - start).then(
        (bytes) => {
          for (let k = from; k <= to; k++) {
            this.#pages.set(k, bytes.subarray((k - from) * PAGE, (k - from + 1) * PAGE));
          }
        },
      ).finally(() => {
        for (let k = from; k <= to; k++) this.#pending.delete(k);
      });
      for (let k = from; k <= to; k++) this.#pending.set(k, run);
      waits.push(run);
      p = q + 1;
    }
    if (waits.length) await Promise.all(waits);
    if (first === last) {
      const page = this.#pages.get(first)!;
      return page.subarray(offset - first * PAGE, offset - first * PAGE + length);
    }
    const out = new Uint8Array(length);
    for (let p = first, o = 0; p <= last; p++) {
      const page = this.#pages.get(p)!;
      const from = p === first ? offset - first * PAGE : 0;
      const to = Math.min(page.length, offset + length - p * PAGE);
      out.set(page.subarray(from, to), o);
      o += to - from;
    }
    return out;
  }
}

/** A little-endian unsigned integer of `b.length` bytes (exact up to 2^53). */
export function uintLE(b: Uint8Array): number {
  let v = 0;
  for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i];
  return v;
}

/** A little-endian cursor over bytes, with CorruptFileError on overrun. */
export class Reader {
  readonly #v: DataView;
  pos: number;
  readonly label: string;

  constructor(bytes: Uint8Array, label: string, pos = 0) {
    this.#v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = pos;
    this.label = label;
  }
  get length(): number {
    return this.#v.byteLength;
  }
  #need(n: number): void {
    if (this.pos + n > this.#v.byteLength) {
      throw new CorruptFileError(`"${this.label}": a structure ends early (damaged file)`);
    }
  }
  u8(): number {
    this.#need(1);
    return this.#v.getUint8(this.pos++);
  }
  u16(): number {
    this.#need(2);
    const v = this.#v.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const v = this.#v.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** 8-byte address or length; `undefined` for the undefined address. */
  addr(): number | undefined {
    this.#need(8);
    const lo = this.#v.getUint32(this.pos, true), hi = this.#v.getUint32(this.pos + 4, true);
    this.pos += 8;
    if (lo === 0xffffffff && hi === 0xffffffff) return undefined;
    return hi * 2 ** 32 + lo;
  }
  len(): number {
    return this.addr() ?? 0;
  }
  /** An unsigned integer of `n` bytes (1, 2, 4 or 8). */
  uint(n: number): number {
    return n === 1 ? this.u8() : n === 2 ? this.u16() : n === 4 ? this.u32() : this.len();
  }
  bytes(n: number): Uint8Array {
    this.#need(n);
    const b = new Uint8Array(this.#v.buffer, this.#v.byteOffset + this.pos, n);
    this.pos += n;
    return b;
  }
  /** Bytes at an absolute position (no move). */
  bytesAt(start: number, n: number): Uint8Array {
    return new Uint8Array(this.#v.buffer, this.#v.byteOffset + start, n);
  }
  skip(n: number): void {
    this.#need(n);
    this.pos += n;
  }
  align(n: number, base = 0): void {
    const r = (this.pos - base) % n;
    if (r) this.skip(n - r);
  }
  sig(expected: string): void {
    const got = String.fromCharCode(...this.bytes(4));
    if (got !== expected) {
      throw new CorruptFileError(
        `"${this.label}": expected ${expected}, found ${JSON.stringify(got)}`,
      );
    }
  }
}
