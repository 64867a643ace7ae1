// Dense storage (HDF5 file format spec 3.0, III.A.2 and III.G): a group's
// links, or an object's attributes, as messages in a fractal heap, found
// through a version 2 B-tree of their names' hashes. HDF5 keeps a group's
// links this way once it has more than 8 and is "new style", which h5py's
// default files are as soon as one name is not ASCII (an obs column named
// "µ" among nine); attributes past 8, or too large for the header, with
// newer format versions. Every structure is checked as it is read (its
// signature, counts against what its header allows, each node visited
// once): a damaged file is a CorruptFileError, never a loop or a huge
// allocation.
import { CorruptFileError, UnsupportedFormatError } from "../../errors.ts";
import type { PageCache } from "./_bytes_io.ts";
import { Reader, uintLE } from "./_bytes_io.ts";

/** B-tree record types: huge objects (not filtered), link names (in a group), attribute names. */
const HUGE_OBJECTS = 1, LINK_NAMES = 5, ATTRIBUTE_NAMES = 8;
/** Shortest record of each type. */
const RECORD_MIN: Record<number, number> = { 1: 24, 5: 5, 8: 17, 10: 16, 11: 21 };
/** Largest huge object read (a message: an attribute of ~10 million names). */
const MOST_HUGE = 1 << 28;
/** Most records a dense index may hold (links or attributes of one object). */
const MOST_RECORDS = 10_000_000;
/** Deepest B-tree or chain of indirect blocks read. */
const MOST_DEPTH = 16;

/** A fractal heap's header, what finding its objects needs. */
interface Heap {
  address: number;
  /** The v2 B-tree of its huge objects (those past its largest managed object). */
  hugeIndex: number | undefined;
  idLength: number;
  width: number;
  startBlock: number;
  maxDirectBlock: number;
  /** Bytes of a heap offset (in heap IDs and block headers). */
  offsetBytes: number;
  /** Bytes of a managed object's length in its heap ID. */
  lengthBytes: number;
  rootAddress: number | undefined;
  rootRows: number;
  checksummedDirect: boolean;
  /** Rows of an indirect block that hold direct blocks. */
  directRows: number;
  /** Its huge objects' places by ID, once read. */
  huge?: Promise<Map<number, [number, number]>>;
}

/**
 * The messages (link or attribute, as `kind` says) kept densely in the
 * fractal heap at `heap`, in the order of the name index B-tree at `names`.
 */
export async function readDense(
  cache: PageCache,
  heap: number,
  names: number | undefined,
  kind: "links" | "attributes",
): Promise<Uint8Array[]> {
  if (names === undefined) return [];
  const label = cache.label;
  const damaged = (what: string) =>
    new CorruptFileError(`"${label}": dense ${kind} storage is damaged (${what})`);
  const h = await readHeap(cache, heap, damaged);
  const ids = await readIndex(
    cache,
    names,
    kind === "links" ? LINK_NAMES : ATTRIBUTE_NAMES,
    damaged,
  );
  const out: Uint8Array[] = [];
  for (const rec of ids) {
    const id = kind === "links" ? rec.subarray(4) : rec.subarray(0, 8);
    if (kind === "attributes" && rec[8] & 0x02) {
      throw new UnsupportedFormatError(
        `"${label}": shared attribute messages are not read by lamindeno's HDF5 reader`,
      );
    }
    out.push(await heapObject(cache, h, id, damaged));
  }
  return out;
}

async function readHeap(
  cache: PageCache,
  address: number,
  damaged: (what: string) => Error,
): Promise<Heap> {
  const r = new Reader(await cache.get(address, 146), cache.label);
  r.sig("FRHP");
  if (r.u8() !== 0) throw damaged("fractal heap version");
  const idLength = r.u16(), filterLength = r.u16(), flags = r.u8();
  const maxManaged = r.u32();
  r.skip(8); // next huge object ID
  const hugeIndex = r.addr();
  r.skip(8 * 10); // free space, managed space and object counts
  const width = r.u16(), startBlock = r.len(), maxDirectBlock = r.len();
  const maxHeapBits = r.u16();
  r.u16(); // starting rows of the root indirect block
  const rootAddress = r.addr();
  const rootRows = r.u16();
  if (filterLength > 0) {
    throw new UnsupportedFormatError(
      `"${cache.label}": a filtered fractal heap is not read by lamindeno's HDF5 reader`,
    );
  }
  const pow2 = (v: number) =>
    v >= 1 && Number.isSafeInteger(v) && (v & (v - 1)) === 0 &&
    v <= 2 ** 30;
  if (
    !(width >= 1 && pow2(startBlock) && pow2(maxDirectBlock) && maxDirectBlock >= startBlock &&
      maxHeapBits >= 1 && maxHeapBits <= 64 && idLength >= 1 && idLength <= 64)
  ) throw damaged("its fractal heap's table");
  const offsetBytes = Math.ceil(maxHeapBits / 8);
  const directBits = Math.log2(maxDirectBlock);
  const lengthBytes = Math.min(
    Math.ceil(directBits / 8),
    Math.floor(Math.log2(maxManaged || 1) / 8) + 1,
  );
  const directRows = directBits - Math.log2(startBlock) + 2;
  if (rootRows > 64) throw damaged("its root block's rows");
  return {
    address,
    hugeIndex,
    idLength,
    width,
    startBlock,
    maxDirectBlock,
    offsetBytes,
    lengthBytes,
    rootAddress,
    rootRows,
    checksummedDirect: (flags & 0x02) !== 0,
    directRows,
  };
}

/** The object a heap ID names: tiny ones are in the ID, managed ones in a direct block. */
async function heapObject(
  cache: PageCache,
  h: Heap,
  id: Uint8Array,
  damaged: (what: string) => Error,
): Promise<Uint8Array> {
  if (id.length < 1) throw damaged("an empty heap ID");
  const type = (id[0] >> 4) & 3;
  if (id[0] >> 6 !== 0) throw damaged("a heap ID's version");
  if (type === 2) {
    // Tiny: the object is the ID's own bytes.
    const extended = h.idLength > 18;
    const n = extended ? (((id[0] & 0x0f) << 8) | (id[1] ?? 0)) + 1 : (id[0] & 0x0f) + 1;
    const at = extended ? 2 : 1;
    if (at + n > id.length) throw damaged("a tiny object longer than its ID");
    return id.subarray(at, at + n);
  }
  if (type === 1) return await hugeObject(cache, h, id, damaged);
  if (type !== 0) throw damaged(`a heap ID of type ${type}`);
  if (1 + h.offsetBytes + h.lengthBytes > id.length) throw damaged("a heap ID too short");
  const offset = uintLE(id.subarray(1, 1 + h.offsetBytes));
  const length = uintLE(id.subarray(1 + h.offsetBytes, 1 + h.offsetBytes + h.lengthBytes));
  if (!(length >= 1 && length <= h.maxDirectBlock)) throw damaged("an object's length");
  const at = await managedAddress(cache, h, offset, length, damaged);
  return await cache.get(at, length);
}

/**
 * A huge object (larger than the heap's managed objects may be, e.g. an
 * attribute of thousands of column names): where it lies is in its ID when
 * the ID has room for an address and a length, otherwise in the heap's
 * huge-object B-tree under the ID's number.
 */
async function hugeObject(
  cache: PageCache,
  h: Heap,
  id: Uint8Array,
  damaged: (what: string) => Error,
): Promise<Uint8Array> {
  let address: number, length: number;
  if (id.length >= 1 + 8 + 8) {
    address = uintLE(id.subarray(1, 9));
    length = uintLE(id.subarray(9, 17));
  } else {
    if (h.hugeIndex === undefined) throw damaged("a huge object in a heap without any");
    const key = uintLE(id.subarray(1, Math.min(id.length, 9)));
    h.huge ??= readIndex(cache, h.hugeIndex, HUGE_OBJECTS, damaged).then((records) => {
      const at = new Map<number, [number, number]>();
      for (const rec of records) {
        at.set(uintLE(rec.subarray(16, 24)), [
          uintLE(rec.subarray(0, 8)),
          uintLE(rec.subarray(8, 16)),
        ]);
      }
      return at;
    });
    const found = (await h.huge).get(key);
    if (!found) throw damaged(`huge object ${key} is not in its index`);
    [address, length] = found;
  }
  if (!(length >= 1 && length <= MOST_HUGE)) throw damaged(`a huge object of ${length} bytes`);
  return await cache.get(address, length);
}

/** Size of the blocks of doubling-table row `r`. */
function rowSize(h: Heap, r: number): number {
  return r === 0 ? h.startBlock : h.startBlock * 2 ** (r - 1);
}

/** Heap offset (from its block's start) where row `r` begins. */
function rowStart(h: Heap, r: number): number {
  return r === 0 ? 0 : h.width * h.startBlock * 2 ** (r - 1);
}

/** The file address of a managed object: through the root and any indirect blocks to its direct block. */
async function managedAddress(
  cache: PageCache,
  h: Heap,
  offset: number,
  length: number,
  damaged: (what: string) => Error,
): Promise<number> {
  if (h.rootAddress === undefined) throw damaged("an object in an empty heap");
  let block = h.rootAddress, blockOffset = 0, rows = h.rootRows;
  for (let depth = 0; depth <= MOST_DEPTH; depth++) {
    if (rows === 0) {
      // A direct block: the object at its offset from the block's start
      // (the block's header counts: objects lie after it).
      return await inDirect(cache, h, block, blockOffset, h.startBlock, offset, length, damaged);
    }
    const rel = offset - blockOffset;
    if (!(rel >= 0)) throw damaged("an object's offset");
    // Its row: the first whose end lies past it.
    let r = 0;
    while (r < rows && rel >= rowStart(h, r + 1)) r++;
    if (r >= rows) throw damaged("an object past its indirect block");
    const col = Math.floor((rel - rowStart(h, r)) / rowSize(h, r));
    if (col >= h.width) throw damaged("an object past its row");
    const entry = r * h.width + col;
    const entries = rows * h.width;
    const headerBytes = 4 + 1 + 8 + h.offsetBytes;
    const r0 = new Reader(await cache.get(block, headerBytes + 8 * entries), cache.label);
    r0.sig("FHIB");
    if (r0.u8() !== 0) throw damaged("an indirect block's version");
    if (r0.addr() !== h.address) throw damaged("an indirect block of another heap");
    if (uintLE(r0.bytes(h.offsetBytes)) !== blockOffset) {
      throw damaged("an indirect block's offset");
    }
    r0.skip(8 * entry);
    const child = r0.addr();
    if (child === undefined) throw damaged("an object in a block never written");
    const childOffset = blockOffset + rowStart(h, r) + col * rowSize(h, r);
    if (r < h.directRows) {
      return await inDirect(cache, h, child, childOffset, rowSize(h, r), offset, length, damaged);
    }
    // An indirect block of its own: rows of the doubling table up to its size.
    block = child;
    blockOffset = childOffset;
    rows = Math.log2(rowSize(h, r)) - Math.log2(h.startBlock * h.width) + 1;
    if (!(rows >= 1 && rows <= 64)) throw damaged("an indirect block's rows");
  }
  throw damaged("indirect blocks nested too deep");
}

async function inDirect(
  cache: PageCache,
  h: Heap,
  block: number,
  blockOffset: number,
  size: number,
  offset: number,
  length: number,
  damaged: (what: string) => Error,
): Promise<number> {
  const header = 4 + 1 + 8 + h.offsetBytes + (h.checksummedDirect ? 4 : 0);
  const rel = offset - blockOffset;
  if (!(rel >= header && rel + length <= size)) throw damaged("an object outside its block");
  const r = new Reader(await cache.get(block, header), cache.label);
  r.sig("FHDB");
  if (r.u8() !== 0) throw damaged("a direct block's version");
  if (r.addr() !== h.address) throw damaged("a direct block of another heap");
  if (uintLE(r.bytes(h.offsetBytes)) !== blockOffset) throw damaged("a direct block's offset");
  return block + rel;
}

/** Bytes that hold counts up to `n` (HDF5's H5VM_limit_enc_size). */
function countBytes(n: number): number {
  return Math.floor(Math.log2(Math.max(1, n)) / 8) + 1;
}

/**
 * The records of the version 2 B-tree at `address`, of record type `type`
 * (1: huge objects, 5: link names, 8: attribute names, 10/11: chunks), in order.
 */
export async function readIndex(
  cache: PageCache,
  address: number,
  type: number,
  damaged: (what: string) => Error,
): Promise<Uint8Array[]> {
  const label = cache.label;
  const r = new Reader(await cache.get(address, 38), label);
  r.sig("BTHD");
  if (r.u8() !== 0) throw damaged("B-tree version");
  if (r.u8() !== type) throw damaged("a B-tree of another kind");
  const nodeSize = r.u32(), recordSize = r.u16(), depth = r.u16();
  r.skip(2);
  const root = r.addr();
  const rootRecords = r.u16(), total = r.len();
  if (root === undefined || total === 0) return [];
  const prefix = 4 + 1 + 1 + 4; // signature, version, type; checksum
  if (
    !(recordSize >= RECORD_MIN[type] && nodeSize > prefix + recordSize &&
      nodeSize <= 1 << 24 && depth <= MOST_DEPTH && total <= MOST_RECORDS)
  ) throw damaged("its B-tree header");
  // Records a node of each depth holds at most, and the bytes of the
  // counts its parent keeps of it (as HDF5's H5B2__hdr_init works them out).
  const maxRecords = [Math.floor((nodeSize - prefix) / recordSize)];
  const cumulative = [maxRecords[0]];
  const cumulativeBytes = [0];
  const recordsBytes = countBytes(maxRecords[0]);
  for (let d = 1; d <= depth; d++) {
    const pointer = 8 + recordsBytes + (d > 1 ? cumulativeBytes[d - 1] : 0);
    maxRecords[d] = Math.floor((nodeSize - prefix) / (recordSize + pointer));
    if (!(maxRecords[d] >= 1)) throw damaged("its B-tree node size");
    cumulative[d] = (maxRecords[d] + 1) * cumulative[d - 1] + maxRecords[d];
    cumulativeBytes[d] = countBytes(Math.min(cumulative[d], 2 ** 53));
  }
  const out: Uint8Array[] = [];
  const seen = new Set<number>();
  const visit = async (at: number, d: number, n: number): Promise<void> => {
    if (seen.has(at)) throw damaged(`a B-tree node reached twice (byte ${at})`);
    seen.add(at);
    if (!(n >= 0 && n <= maxRecords[d])) throw damaged(`a B-tree node of ${n} records`);
    const pointer = 8 + recordsBytes + (d > 1 ? cumulativeBytes[d - 1] : 0);
    const size = 6 + n * recordSize + (d > 0 ? (n + 1) * pointer : 0);
    const node = new Reader(await cache.get(at, size), label);
    node.sig(d > 0 ? "BTIN" : "BTLF");
    node.u8();
    if (node.u8() !== type) throw damaged("a B-tree node of another kind");
    const records: Uint8Array[] = [];
    for (let i = 0; i < n; i++) records.push(node.bytes(recordSize));
    if (d === 0) {
      out.push(...records);
    } else {
      const children: [number | undefined, number][] = [];
      for (let i = 0; i <= n; i++) {
        const child = node.addr();
        const count = uintLE(node.bytes(recordsBytes));
        if (d > 1) node.skip(cumulativeBytes[d - 1]);
        children.push([child, count]);
      }
      // In order: child 0, record 0, child 1, record 1, ...
      for (let i = 0; i <= n; i++) {
        const [child, count] = children[i];
        if (child === undefined) throw damaged("a B-tree child never written");
        await visit(child, d - 1, count);
        if (i < n) out.push(records[i]);
      }
    }
    if (out.length > total) throw damaged("more B-tree records than its header says");
  };
  await visit(root, depth, rootRecords);
  if (out.length !== total) throw damaged(`${out.length} B-tree records, its header says ${total}`);
  return out;
}
