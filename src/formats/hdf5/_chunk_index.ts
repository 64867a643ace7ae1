// The chunk indexes of layout message version 4 (HDF5 file format spec 3.0,
// IV.A.2.i; III.H and III.I), which h5py writes with libver="latest" (or
// "v110" and later): one chunk, implicit (chunks one after another), a
// fixed array (a dataset of fixed shape), an extensible array (one
// unlimited dimension: anndata's sparse arrays, maxshape (None,)) or a
// version 2 B-tree (more than one). Each is read whole, once, into the
// ChunkRefs the version 1 B-tree gives (offsets in elements), and answers
// the same lookups. Every structure is checked as it is read (signatures,
// counts against what its header allows, addresses inside the file): a
// damaged index is a CorruptFileError, never a loop or a huge allocation.
import { CorruptFileError } from "../../errors.ts";
import type { PageCache } from "./_bytes_io.ts";
import { Reader, uintLE } from "./_bytes_io.ts";
import type { ChunkRef } from "./_btree.ts";
import { readIndex } from "./_dense.ts";

/** A version 4 layout's chunk index, as its message describes it. */
export type ChunkIndex =
  | { type: 1; address: number | undefined; size?: number; mask?: number }
  | { type: 2; address: number | undefined }
  | { type: 3; address: number | undefined; pageBits: number }
  | { type: 4; address: number | undefined; params: number[] }
  | { type: 5; address: number | undefined };

/** Most chunks an index may list (about 2 GB of ChunkRefs). */
const MOST_CHUNKS = 20_000_000;

/**
 * A version 4 chunk index, read whole on first use; `find` and `all` as
 * ChunkTree's (the rows of chunks starting at `starts`, every chunk).
 */
export class ListedChunks {
  readonly #all: () => Promise<ChunkRef[]>;
  #refs?: Promise<ChunkRef[]>;
  #byRow?: Map<number, ChunkRef[]>;

  constructor(read: () => Promise<ChunkRef[]>) {
    this.#all = read;
  }

  all(): Promise<ChunkRef[]> {
    return this.#refs ??= this.#all();
  }

  async find(starts: readonly number[], found: (chunk: ChunkRef) => void): Promise<void> {
    const refs = await this.all();
    if (!this.#byRow) {
      const by = new Map<number, ChunkRef[]>();
      for (const c of refs) {
        const list = by.get(c.offset[0]);
        if (list) list.push(c);
        else by.set(c.offset[0], [c]);
      }
      this.#byRow = by;
    }
    for (const s of starts) for (const c of this.#byRow.get(s) ?? []) found(c);
  }
}

/**
 * Every chunk of a dataset of `shape`, chunked by `chunk`, `elem` bytes an
 * element, filtered or not, through its version 4 index.
 */
export async function readChunkIndex(
  cache: PageCache,
  index: ChunkIndex,
  shape: readonly number[],
  chunk: readonly number[],
  elem: number,
  filtered: boolean,
  where: string,
  maxShape?: readonly (number | undefined)[],
): Promise<ChunkRef[]> {
  const damaged = (what: string) =>
    new CorruptFileError(`${where}: its chunk index is damaged (${what})`);
  if (chunk.length !== shape.length || chunk.some((c) => !(c >= 1))) {
    throw damaged(`chunks of ${chunk.length} dimensions for a shape of ${shape.length}`);
  }
  const grid = shape.map((n, d) => Math.ceil(n / chunk[d]));
  const total = grid.reduce((a, b) => a * b, 1);
  if (total > MOST_CHUNKS) throw damaged(`${total} chunks`);
  const chunkBytes = chunk.reduce((a, b) => a * b, elem);
  // The arrays number chunks in row-major order of the grid of the
  // dataset's largest extent (its maximum dimensions where limited); an
  // extensible array's unlimited dimension is moved first (HDF5 swizzles
  // it there). `order[k]`: the dimension at position k.
  const unlimited = maxShape ? shape.findIndex((_, d) => maxShape[d] === undefined) : -1;
  const maxGrid = shape.map((n, d) =>
    maxShape && d !== unlimited && maxShape[d] !== undefined
      ? Math.ceil(Math.max(n, maxShape[d] as number) / chunk[d])
      : grid[d]
  );
  const order = shape.map((_, d) => d);
  if (index.type === 4 && unlimited > 0) {
    order.splice(unlimited, 1);
    order.unshift(unlimited);
  }
  /** The offset (in elements) of the `i`-th chunk; undefined outside the current extent. */
  const offsetOf = (i: number): number[] | undefined => {
    const out = new Array<number>(grid.length);
    for (let k = order.length - 1; k >= 0; k--) {
      const d = order[k];
      const q = i % maxGrid[d];
      if (q >= grid[d]) return undefined;
      out[d] = q * chunk[d];
      i = Math.floor(i / maxGrid[d]);
    }
    return out;
  };
  if (index.address === undefined || total === 0) return [];
  // Chunks of the largest extent (a fixed array holds an entry for each).
  const slots = maxGrid.reduce((a, b) => a * b, 1);
  if (slots > MOST_CHUNKS) throw damaged(`${slots} chunks`);
  switch (index.type) {
    case 1: {
      // One chunk: the whole dataset.
      if (total !== 1) throw damaged(`one chunk for ${total}`);
      return [{
        offset: shape.map(() => 0),
        address: index.address,
        size: index.size ?? chunkBytes,
        mask: index.mask ?? 0,
      }];
    }
    case 2: {
      // Implicit: every chunk, one after another (never filtered).
      if (filtered) throw damaged("an implicit index of filtered chunks");
      const refs: ChunkRef[] = [];
      for (let i = 0; i < slots; i++) {
        const offset = offsetOf(i);
        if (offset) {
          refs.push({ offset, address: index.address + i * chunkBytes, size: chunkBytes, mask: 0 });
        }
      }
      return refs;
    }
    case 3: {
      const elements = await fixedArray(cache, index.address, slots, filtered, damaged);
      return refsOf(elements, offsetOf, chunkBytes);
    }
    case 4: {
      // Numbered to the end of the current extent along the unlimited dimension.
      const most = order.reduce((a, d) => a * (d === unlimited ? grid[d] : maxGrid[d]), 1);
      const elements = await extensibleArray(cache, index.address, most, filtered, damaged);
      return refsOf(elements, offsetOf, chunkBytes);
    }
    case 5: {
      const records = await readIndex(cache, index.address, filtered ? 11 : 10, damaged);
      const refs: ChunkRef[] = [];
      for (const rec of records) {
        const r = new Reader(rec, cache.label);
        const address = r.addr();
        let size = chunkBytes, mask = 0;
        if (filtered) {
          const sizeBytes = rec.length - 8 - 4 - 8 * shape.length;
          if (!(sizeBytes >= 1 && sizeBytes <= 8)) throw damaged("a B-tree record's size");
          size = uintLE(r.bytes(sizeBytes));
          mask = r.u32();
        }
        const offset = shape.map(() => 0);
        for (let d = 0; d < shape.length; d++) offset[d] = r.len() * chunk[d];
        if (address === undefined) continue;
        if (offset.some((o, d) => o >= shape[d])) throw damaged("a chunk outside the dataset");
        refs.push({ offset, address, size, mask });
      }
      return refs;
    }
  }
}

/** An element of a fixed or extensible array: a chunk's address (and its size and filter mask). */
interface Element {
  address: number | undefined;
  size: number;
  mask: number;
}

function refsOf(
  elements: (Element | undefined)[],
  offsetOf: (i: number) => number[] | undefined,
  chunkBytes: number,
): ChunkRef[] {
  const refs: ChunkRef[] = [];
  elements.forEach((e, i) => {
    const offset = e && e.address !== undefined ? offsetOf(i) : undefined;
    if (!e || e.address === undefined || !offset) return;
    refs.push({
      offset,
      address: e.address,
      size: e.size || chunkBytes,
      mask: e.mask,
    });
  });
  return refs;
}

/** Elements of `size` bytes (an address, then for filtered chunks a size and a mask). */
function element(r: Reader, elemSize: number, filtered: boolean): Element {
  const address = r.addr();
  if (!filtered) {
    r.skip(elemSize - 8);
    return { address, size: 0, mask: 0 };
  }
  const size = uintLE(r.bytes(elemSize - 8 - 4));
  return { address, size, mask: r.u32() };
}

function checkElementSize(elemSize: number, filtered: boolean, damaged: (w: string) => Error) {
  if (filtered ? !(elemSize > 12 && elemSize <= 20) : elemSize !== 8) {
    throw damaged(`elements of ${elemSize} bytes`);
  }
}

/**
 * A block's prefix (signature, version, class, its array's header
 * address), checked: of this kind, of this array.
 */
function blockOf(
  r: Reader,
  sig: string,
  cls: number,
  header: number,
  what: string,
  damaged: (what: string) => Error,
): void {
  r.sig(sig);
  r.u8();
  if (r.u8() !== cls) throw damaged(`a ${what}'s class`);
  if (r.addr() !== header) throw damaged(`a ${what} of another array`);
}

/** III.I: a fixed array (header FAHD, one data block FADB, maybe paged). */
async function fixedArray(
  cache: PageCache,
  address: number,
  total: number,
  filtered: boolean,
  damaged: (what: string) => Error,
): Promise<(Element | undefined)[]> {
  const h = new Reader(await cache.get(address, 4 + 1 + 1 + 1 + 1 + 8 + 8), cache.label);
  h.sig("FAHD");
  h.u8();
  const cls = h.u8(), elemSize = h.u8(), pageBits = h.u8();
  const n = h.len(), block = h.addr();
  if (cls !== (filtered ? 1 : 0)) throw damaged(`a fixed array of class ${cls}`);
  checkElementSize(elemSize, filtered, damaged);
  if (n !== total) throw damaged(`${n} elements for ${total} chunks`);
  if (!(pageBits >= 1 && pageBits <= 32)) throw damaged("its page size");
  if (block === undefined) return [];
  const pageElems = 2 ** pageBits;
  const paged = n > pageElems;
  const pages = paged ? Math.ceil(n / pageElems) : 0;
  const bitmap = paged ? Math.ceil(pages / 8) : 0;
  const prefix = 4 + 1 + 1 + 8;
  const head = new Reader(await cache.get(block, prefix + bitmap), cache.label);
  blockOf(head, "FADB", cls, address, "data block", damaged);
  const out: (Element | undefined)[] = new Array(n);
  if (!paged) {
    const r = new Reader(await cache.get(block + prefix, n * elemSize), cache.label);
    for (let i = 0; i < n; i++) out[i] = element(r, elemSize, filtered);
    return out;
  }
  const init = head.bytes(bitmap);
  let at = block + prefix + bitmap + 4; // the prefix's checksum
  for (let p = 0; p < pages; p++) {
    const count = Math.min(pageElems, n - p * pageElems);
    if (init[p >> 3] & (0x80 >> (p & 7))) {
      const r = new Reader(await cache.get(at, count * elemSize), cache.label);
      for (let i = 0; i < count; i++) out[p * pageElems + i] = element(r, elemSize, filtered);
    }
    at += count * elemSize + 4;
  }
  return out;
}

/** III.H: an extensible array (header EAHD, index block EAIB, super blocks EASB, data blocks EADB). */
async function extensibleArray(
  cache: PageCache,
  address: number,
  total: number,
  filtered: boolean,
  damaged: (what: string) => Error,
): Promise<(Element | undefined)[]> {
  const h = new Reader(await cache.get(address, 4 + 1 + 1 + 6 + 6 * 8 + 8), cache.label);
  h.sig("EAHD");
  h.u8();
  const cls = h.u8(), elemSize = h.u8(), maxBits = h.u8(), indexElems = h.u8();
  const minDataElems = h.u8(), minPointers = h.u8(), pageBits = h.u8();
  h.skip(8 * 4); // secondary and data blocks: counts and sizes
  const maxIndex = h.len(); // one past the highest element set
  h.len(); // elements realized (whole blocks)
  const indexBlock = h.addr();
  if (cls !== (filtered ? 1 : 0)) throw damaged(`an extensible array of class ${cls}`);
  checkElementSize(elemSize, filtered, damaged);
  const pow2 = (v: number) => v >= 1 && (v & (v - 1)) === 0;
  if (
    !(maxBits >= 1 && maxBits <= 53 && pow2(minDataElems) && pow2(minPointers) &&
      pageBits >= 1 && pageBits <= 32)
  ) throw damaged("its header's parameters");
  const out: (Element | undefined)[] = new Array(total);
  if (indexBlock === undefined || maxIndex === 0) return out;
  const offsetBytes = Math.ceil(maxBits / 8);
  const pageElems = 2 ** pageBits;
  // Super blocks: the s-th holds 2^floor(s/2) data blocks of
  // minDataElems * 2^floor((s+1)/2) elements (H5EA__hdr_init).
  const nSuper = 1 + maxBits - Math.log2(minDataElems);
  const supers: { blocks: number; elems: number; start: number; firstBlock: number }[] = [];
  let start = 0, firstBlock = 0;
  for (let s = 0; s < nSuper; s++) {
    const blocks = 2 ** Math.floor(s / 2), elems = minDataElems * 2 ** Math.floor((s + 1) / 2);
    supers.push({ blocks, elems, start, firstBlock });
    start += blocks * elems;
    firstBlock += blocks;
  }
  // The index block: its own elements, the data blocks of its first super
  // blocks directly, then the addresses of the other super blocks.
  const inIndex = 2 * Math.log2(minPointers);
  const directBlocks = 2 * (minPointers - 1);
  const superAddrs = nSuper - inIndex;
  const prefix = 4 + 1 + 1 + 8;
  const ib = new Reader(
    await cache.get(indexBlock, prefix + indexElems * elemSize + 8 * (directBlocks + superAddrs)),
    cache.label,
  );
  blockOf(ib, "EAIB", cls, address, "index block", damaged);
  for (let i = 0; i < indexElems; i++) {
    const e = element(ib, elemSize, filtered);
    if (i < total) out[i] = e;
  }
  const dataAddrs: (number | undefined)[] = [];
  for (let i = 0; i < directBlocks; i++) dataAddrs.push(ib.addr());
  const superBlockAddrs: (number | undefined)[] = [];
  for (let i = 0; i < superAddrs; i++) superBlockAddrs.push(ib.addr());
  const want = Math.min(total, maxIndex);
  const seen = new Set<number>();
  /** Read a data block of `elems` elements starting at array index `from` (paged or not). */
  // `expectOff`: the offset the block's header holds, which HDF5 works out
  // (H5EA__dblock_create) as its super block's first element plus its data
  // block number times its size: for the blocks listed in the index block
  // the number counts from the array's first block, in a super block from
  // that super block's first (as the files h5py writes have it).
  const dataBlock = async (
    at: number,
    from: number,
    elems: number,
    expectOff: number,
    init?: Uint8Array,
  ) => {
    if (seen.has(at)) throw damaged(`a block reached twice (byte ${at})`);
    seen.add(at);
    const head = new Reader(await cache.get(at, prefix + offsetBytes), cache.label);
    blockOf(head, "EADB", cls, address, "data block", damaged);
    const off = uintLE(head.bytes(offsetBytes));
    if (off !== expectOff) throw damaged(`a data block's offset (${off} for ${expectOff})`);
    const body = at + prefix + offsetBytes;
    const put = (r: Reader, first: number, count: number) => {
      for (let i = 0; i < count; i++) {
        const e = element(r, elemSize, filtered);
        if (first + i < want) out[first + i] = e;
      }
    };
    if (elems <= pageElems) {
      put(new Reader(await cache.get(body, elems * elemSize), cache.label), from, elems);
      return;
    }
    // Paged: the header's checksum, then pages of elements and a checksum each.
    const pages = elems / pageElems;
    let p0 = body + 4;
    for (let p = 0; p < pages; p++) {
      const first = from + p * pageElems;
      if (first >= want) break;
      if (!init || init[p >> 3] & (0x80 >> (p & 7))) {
        put(new Reader(await cache.get(p0, pageElems * elemSize), cache.label), first, pageElems);
      }
      p0 += pageElems * elemSize + 4;
    }
  };
  for (let s = 0; s < nSuper; s++) {
    const sb = supers[s];
    const from = indexElems + sb.start;
    if (from >= want) break;
    if (s < inIndex) {
      for (let k = 0; k < sb.blocks; k++) {
        const a = dataAddrs[sb.firstBlock + k];
        const first = from + k * sb.elems;
        if (a !== undefined && first < want) {
          await dataBlock(a, first, sb.elems, sb.start + (sb.firstBlock + k) * sb.elems);
        }
      }
      continue;
    }
    const sa = superBlockAddrs[s - inIndex];
    if (sa === undefined) continue;
    if (seen.has(sa)) throw damaged(`a block reached twice (byte ${sa})`);
    seen.add(sa);
    const paged = sb.elems > pageElems;
    // The page-init bits of its data blocks, one after another (block k's
    // page p at bit k * pages + p: H5EA__lookup_elmt), in a bitmap sized as
    // whole bytes for each block (H5EA__sblock_alloc).
    const perBlock = paged ? sb.elems / pageElems : 0;
    const bitmap = sb.blocks * Math.ceil(perBlock / 8);
    const r = new Reader(
      await cache.get(sa, prefix + offsetBytes + bitmap + 8 * sb.blocks),
      cache.label,
    );
    blockOf(r, "EASB", cls, address, "super block", damaged);
    r.skip(offsetBytes);
    const init = r.bytes(bitmap);
    for (let k = 0; k < sb.blocks; k++) {
      const a = r.addr();
      const first = from + k * sb.elems;
      if (a === undefined || first >= want) continue;
      let blockInit: Uint8Array | undefined;
      if (paged) {
        blockInit = new Uint8Array(Math.ceil(perBlock / 8));
        for (let p = 0; p < perBlock; p++) {
          const bit = k * perBlock + p;
          if (init[bit >> 3] & (0x80 >> (bit & 7))) blockInit[p >> 3] |= 0x80 >> (p & 7);
        }
      }
      await dataBlock(a, first, sb.elems, sb.start + k * sb.elems, blockInit);
    }
  }
  return out;
}
