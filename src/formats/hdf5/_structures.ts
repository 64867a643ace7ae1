// HDF5 file structures below object headers (file format spec 3.0): the
// superblock (II), local heaps (III.D) and global heap collections (III.E).
import { CorruptFileError, UnsupportedFormatError } from "../../errors.ts";
import { type ByteReader, type PageCache, Reader } from "./_bytes_io.ts";

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** II: the superblock at the start of the file; the root group's object header address. */
export async function readSuperblock(cache: PageCache): Promise<number> {
  const label = cache.label;
  const head = await cache.get(0, Math.min(96, cache.size));
  if (head.length < 8 || SIGNATURE.some((b, i) => head[i] !== b)) {
    throw new CorruptFileError(`"${label}" is not an HDF5 file (no signature at its start)`);
  }
  const r = new Reader(head, label, 8);
  const version = r.u8();
  if (version <= 1) {
    r.skip(4);
    if (r.u8() !== 8 || r.u8() !== 8) {
      throw new UnsupportedFormatError(`"${label}": offsets/lengths other than 8 bytes`);
    }
    r.skip(1 + 4 + 4 + (version === 1 ? 4 : 0));
    r.skip(32); // base, free space, EOF, driver
    r.skip(8); // root entry: link name offset
    return r.addr()!;
  }
  if (version === 2 || version === 3) {
    if (r.u8() !== 8 || r.u8() !== 8) {
      throw new UnsupportedFormatError(`"${label}": offsets/lengths other than 8 bytes`);
    }
    r.u8();
    r.skip(24); // base, extension, EOF
    return r.addr()!;
  }
  throw new UnsupportedFormatError(`"${label}": superblock version ${version}`);
}

/** III.D: a local heap's data segment (the names of an old-style group's links). */
export async function readLocalHeap(cache: PageCache, address: number): Promise<Uint8Array> {
  const hr = new Reader(await cache.get(address, 32), cache.label);
  hr.sig("HEAP");
  hr.skip(4);
  const dataSize = hr.len();
  hr.skip(8);
  return await cache.get(hr.addr()!, dataSize);
}

/** A global heap collection: its bytes and where each object's data starts. */
export interface Collection {
  bytes: Uint8Array;
  /** Where each object's data starts, by index (-1 or undefined: none). */
  offsets: Float64Array;
  /** Each object's size in bytes, by index. */
  sizes: Float64Array;
  /** The collection as one single-byte-per-char string (made on first use). */
  text?: string;
  /** Whether every byte is ASCII (found on first use). */
  ascii?: boolean;
}

/**
 * Where object `index` of a collection starts, checked to hold `len`
 * bytes; a CorruptFileError when it is missing or smaller.
 */
export function objectAt(h: Collection, index: number, len: number, label: string): number {
  const at = h.offsets[index];
  if (at === undefined || at < 0) {
    throw new CorruptFileError(`"${label}": string ${index} missing from its heap`);
  }
  if (len > h.sizes[index]) {
    throw new CorruptFileError(
      `"${label}": a string claims ${len} bytes, its heap object holds ${
        h.sizes[index]
      }: the file is damaged`,
    );
  }
  return at;
}

/** Bytes read with a remote global heap collection's header (h5py writes them 4 to 64 KiB). */
const COLLECTION_GUESS = 64 << 10;

function syncRead(
  read: (offset: number, target: Uint8Array) => number,
  offset: number,
  size: number,
): Uint8Array {
  const out = new Uint8Array(size);
  return out.subarray(0, read(offset, out));
}

/** III.E: the global heap collection at `address` (variable-length strings live there). */
export async function readCollection(
  src: ByteReader,
  address: number,
  label: string,
  fileSize: number,
): Promise<Collection> {
  // Remote: one request for the header and (usually all of) the
  // collection, since a second round trip costs more than the extra bytes.
  // Local (synchronous reads): just the header.
  const guess = src.readIntoSync ? 16 : COLLECTION_GUESS;
  const first = await src.read(address, Math.min(guess, Math.max(16, fileSize - address)));
  const h = new Reader(first, label);
  h.sig("GCOL");
  h.skip(4);
  const size = h.len();
  if (size < 16 || address + size > fileSize) {
    throw new CorruptFileError(
      `"${label}": the string heap at byte ${address} claims ${size} bytes, ` +
        `past the end of the file (${fileSize} bytes); the file is damaged`,
    );
  }
  // Local: read in this thread even when large (a collection is decoded
  // right after; queued behind big reads in the thread pool, the decoding
  // would wait for them).
  const bytes = first.length >= size
    ? first.subarray(0, size)
    : src.readIntoSync
    ? syncRead(src.readIntoSync, address, size)
    : await src.read(address, size);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // By object index (at most one per 16 bytes); -1: no such object.
  let offsets = new Float64Array(Math.floor(bytes.length / 16) + 1).fill(-1);
  let sizes = new Float64Array(offsets.length);
  for (let p = 16; p + 16 <= bytes.length;) {
    const index = v.getUint16(p, true);
    const objSize = v.getUint32(p + 8, true) + v.getUint32(p + 12, true) * 2 ** 32;
    if (index === 0) break;
    if (index >= offsets.length) {
      // Indices left unused (objects deleted): room up to the largest (16 bits).
      const o = new Float64Array(65536).fill(-1), z = new Float64Array(65536);
      o.set(offsets);
      z.set(sizes);
      [offsets, sizes] = [o, z];
    }
    offsets[index] = p + 16;
    sizes[index] = Math.min(objSize, bytes.length - p - 16);
    p += 16 + Math.ceil(objSize / 8) * 8;
  }
  return { bytes, offsets, sizes };
}
