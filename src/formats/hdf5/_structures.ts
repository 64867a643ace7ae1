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
    // A user block before the superblock (at 512, 1024, 2048, ... bytes):
    // valid HDF5 this reader leaves to h5wasm.
    const offsets: number[] = [];
    for (let at = 512; at + 8 <= Math.min(cache.size, 1 << 30); at *= 2) offsets.push(at);
    // At once: from object storage, one round trip for all.
    const sigs = await Promise.all(offsets.map((at) => cache.get(at, 8)));
    const k = sigs.findIndex((sig) => SIGNATURE.every((b, i) => sig[i] === b));
    if (k >= 0) {
      throw new UnsupportedFormatError(
        `"${label}": a user block of ${offsets[k]} bytes before the HDF5 data (read through ` +
          `h5wasm from a local copy)`,
      );
    }
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
}

/** Bytes read with a remote global heap collection's header (h5py writes them 4 to 64 KiB). */
export const COLLECTION_GUESS = 64 << 10;

/**
 * III.E: the size the collection header `head` (its first 16 bytes, read at
 * `address`) claims; CorruptFileError if no collection starts there or it
 * would end past the end of the file.
 */
export function collectionSize(
  head: Uint8Array,
  address: number,
  label: string,
  fileSize: number,
): number {
  const h = new Reader(head, label);
  h.sig("GCOL");
  h.skip(4);
  const size = h.len();
  if (size < 16 || address + size > fileSize) {
    throw new CorruptFileError(
      `"${label}": the string heap at byte ${address} claims ${size} bytes, ` +
        `past the end of the file (${fileSize} bytes); the file is damaged`,
    );
  }
  return size;
}

/**
 * III.E: where each object of a collection's bytes starts, and its size, by
 * object index: into `into` (arrays of 65,536 entries, reset here) or into
 * new arrays.
 */
export function indexCollection(
  bytes: Uint8Array,
  into?: { offsets: Float64Array; sizes: Float64Array },
): Collection {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // By object index (at most one per 16 bytes); -1: no such object.
  let offsets = into?.offsets ?? new Float64Array(Math.floor(bytes.length / 16) + 1);
  let sizes = into?.sizes ?? new Float64Array(offsets.length);
  offsets.fill(-1);
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

/**
 * III.E: the global heap collection at `address` (variable-length strings
 * live there). `head`: its first bytes when already read (at least its
 * 16-byte header); the rest is read only if they fall short.
 */
export async function readCollection(
  src: ByteReader,
  address: number,
  label: string,
  fileSize: number,
  head?: Uint8Array,
): Promise<Collection> {
  if (!(address >= 0 && address + 16 <= fileSize)) throw heapOutside(address, label, fileSize);
  // Remote: one request for the header and (usually all of) the
  // collection, since a second round trip costs more than the extra bytes.
  // Local (synchronous reads): just the header.
  const guess = src.readIntoSync ? 16 : COLLECTION_GUESS;
  const first = head ?? await src.read(address, Math.min(guess, fileSize - address));
  const size = collectionSize(first, address, label, fileSize);
  const bytes = first.length >= size ? first.subarray(0, size) : await src.read(address, size);
  if (bytes.length < size) {
    throw new CorruptFileError(`"${label}" is truncated: data at ${address} is missing`);
  }
  return indexCollection(bytes);
}

/** A string reference to a heap collection at `address`, outside the file. */
export function heapOutside(address: number, label: string, fileSize: number): CorruptFileError {
  return new CorruptFileError(
    `"${label}": a string refers to a heap at byte ${address}, outside the file ` +
      `(${fileSize} bytes); the file is damaged`,
  );
}
