// The global heap collections of an HDF5 file (variable-length strings live
// there): read whole and kept, the most recently used up to a byte budget;
// from a local file also read into one reused buffer and dropped, so
// reading the strings of many collections (a batch's obs names: h5py writes
// ~20,000 a collection) allocates nothing per collection.
import { CorruptFileError } from "../../errors.ts";
import type { ByteReader } from "./_bytes_io.ts";
import {
  type Collection,
  COLLECTION_GUESS,
  collectionSize,
  heapOutside,
  indexCollection,
  readCollection,
} from "./_structures.ts";

/** Byte ranges read into their targets together (planned as one read). */
export type ReadTogether = (
  pieces: { offset: number; length: number; into: 0; target: Uint8Array }[],
) => Promise<void>;

/** Bytes of global heap collections (their bytes and index) an H5File keeps cached. */
export const HEAP_CACHE_BYTES = 4 << 20;

/** Collections up to this size are read through the reused buffer; larger ones get their own. */
const SCRATCH_MAX = 4 << 20;

interface Entry {
  collection: Promise<Collection>;
  /** Its bytes and index once read (0 before). */
  bytes: number;
  /** The collection once read. */
  value?: Collection;
}

/** The global heap collections of one file, by address. */
export class HeapCache {
  readonly #src: ByteReader;
  readonly #label: string;
  readonly #fileSize: () => number;
  /** Least recently used first. */
  readonly #entries = new Map<number, Entry>();
  #bytes = 0;
  #scratch = new Uint8Array(0);
  #index?: { offsets: Float64Array; sizes: Float64Array };
  #together?: ReadTogether;

  constructor(src: ByteReader, label: string, fileSize: () => number) {
    this.#src = src;
    this.#label = label;
    this.#fileSize = fileSize;
  }

  /** Whether collections can be read synchronously ({@linkcode HeapCache.readTransient}). */
  get local(): boolean {
    return this.#src.readIntoSync !== undefined;
  }

  /** The collection at `address`, read whole once and kept while recently used. */
  get(address: number): Promise<Collection> {
    const hit = this.#touch(address);
    if (hit) return hit.collection;
    const entry: Entry = {
      collection: readCollection(this.#src, address, this.#label, this.#fileSize()),
      bytes: 0,
    };
    this.#entries.set(address, entry);
    entry.collection.then((c) => {
      if (this.#entries.get(address) === entry) this.#settle(entry, c);
    }, () => {});
    return entry.collection;
  }

  /**
   * A remote file's way to read several collections at once (its cost
   * model's plan): {@linkcode HeapCache.getAll} then reads the collections
   * it lacks in a few requests, not one each.
   */
  readTogether(read: ReadTogether): void {
    this.#together = read;
  }

  /**
   * The collections at `addresses` (as `get` each). Remote, with
   * {@linkcode HeapCache.readTogether}: those not kept are read together,
   * each from its address to its usual extent (h5py writes them up to 64
   * KiB; a larger one is read again whole). A scattered selection of
   * strings touches nearly every collection of a column: ~100 requests of
   * 64 KiB each became one or a few.
   */
  getAll(addresses: readonly number[]): Promise<Collection[]> {
    const together = this.#together;
    const missing = [...new Set(addresses)].filter((a) => !this.#entries.has(a));
    if (together && missing.length > 1) {
      const fileSize = this.#fileSize();
      for (const a of missing) {
        if (!(a >= 0 && a + 16 <= fileSize)) throw heapOutside(a, this.#label, fileSize);
      }
      const pieces = missing.map((offset) => {
        const length = Math.min(COLLECTION_GUESS, fileSize - offset);
        return { offset, length, into: 0 as const, target: new Uint8Array(length) };
      });
      const read = together(pieces);
      read.catch(() => {}); // each entry below reports it
      pieces.forEach(({ offset: address, target }) => {
        const entry: Entry = {
          collection: read.then(() =>
            readCollection(this.#src, address, this.#label, fileSize, target)
          ),
          bytes: 0,
        };
        this.#entries.set(address, entry);
        entry.collection.then((c) => {
          if (this.#entries.get(address) === entry) this.#settle(entry, c);
        }, () => {
          // Not kept when it failed: a later read tries again.
          if (this.#entries.get(address) === entry) this.#entries.delete(address);
        });
      });
    }
    return Promise.all(addresses.map((a) => this.get(a)));
  }

  /** The collection at `address` if it is kept and read. */
  peek(address: number): Collection | undefined {
    return this.#touch(address)?.value;
  }

  /**
   * A local file's collection at `address`, read synchronously into a
   * buffer and index that the next call reuses (nothing kept): use it
   * before any other call. CorruptFileError if no collection is there.
   */
  readTransient(address: number): Collection {
    const readSync = this.#src.readIntoSync;
    if (!readSync) throw new Error("readTransient: not a local file");
    const fileSize = this.#fileSize();
    if (!(address >= 0 && address + 16 <= fileSize)) {
      throw heapOutside(address, this.#label, fileSize);
    }
    const truncated = () =>
      new CorruptFileError(`"${this.#label}" is truncated: data at ${address} is missing`);
    const head = this.#buffer(16);
    if (readSync(address, head) < 16) throw truncated();
    const size = collectionSize(head, address, this.#label, fileSize);
    const bytes = size <= SCRATCH_MAX ? this.#buffer(size) : new Uint8Array(size);
    if (readSync(address, bytes) < size) throw truncated();
    this.#index ??= { offsets: new Float64Array(65536), sizes: new Float64Array(65536) };
    return indexCollection(bytes, this.#index);
  }

  /** Keep a copy of `c` (from {@linkcode HeapCache.readTransient}) as the collection at `address`. */
  keep(address: number, c: Collection): void {
    if (this.#entries.has(address)) return;
    const value = indexCollection(c.bytes.slice());
    const entry: Entry = { collection: Promise.resolve(value), bytes: 0 };
    this.#entries.set(address, entry);
    this.#settle(entry, value);
  }

  #touch(address: number): Entry | undefined {
    const hit = this.#entries.get(address);
    if (hit) {
      this.#entries.delete(address); // most recently used last
      this.#entries.set(address, hit);
    }
    return hit;
  }

  /** Count a read collection, then drop the least recently used beyond the budget. */
  #settle(entry: Entry, c: Collection): void {
    entry.value = c;
    entry.bytes = c.bytes.length + c.offsets.byteLength + c.sizes.byteLength;
    this.#bytes += entry.bytes;
    for (const [a, e] of this.#entries) {
      if (this.#bytes <= HEAP_CACHE_BYTES || e === entry) break;
      this.#entries.delete(a);
      this.#bytes -= e.bytes;
    }
  }

  #buffer(n: number): Uint8Array {
    if (this.#scratch.length < n) {
      this.#scratch = new Uint8Array(Math.max(n, Math.min(SCRATCH_MAX, 2 * this.#scratch.length)));
    }
    return this.#scratch.subarray(0, n);
  }
}
