// Version 1 B-trees (file format spec 3.0, III.A.1): the symbol table of an
// old-style group (type 0, down to symbol table nodes, III.C) and the chunk
// index of a chunked dataset (type 1).
import { CorruptFileError } from "../../errors.ts";
import { type PageCache, Reader } from "./_source.ts";
import { readLocalHeap } from "./_structures.ts";

/** A chunk of a dataset: its offset (in elements), address, stored size and filter mask. */
export interface ChunkRef {
  offset: number[];
  address: number;
  size: number;
  mask: number;
}

const dec = new TextDecoder();

/** An old-style group's links (name -> object header address). */
export async function readSymbolTable(
  cache: PageCache,
  table: { btree: number; heap: number },
): Promise<Map<string, number>> {
  const label = cache.label;
  const out = new Map<string, number>();
  const names = await readLocalHeap(cache, table.heap);
  const nameAt = (off: number) => {
    let end = off;
    while (end < names.length && names[end] !== 0) end++;
    return dec.decode(names.subarray(off, end));
  };
  const visit = async (addr: number): Promise<void> => {
    const r = new Reader(await cache.get(addr, 24), label);
    r.sig("TREE");
    r.u8();
    const level = r.u8(), used = r.u16();
    const body = new Reader(await cache.get(addr + 24, 8 + used * 16), label);
    body.skip(8);
    for (let i = 0; i < used; i++) {
      const child = body.addr()!;
      body.skip(8);
      if (level > 0) await visit(child);
      else {
        const sr = new Reader(await cache.get(child, 8), label);
        sr.sig("SNOD");
        sr.skip(2);
        const n = sr.u16();
        const entries = new Reader(await cache.get(child + 8, n * 40), label);
        for (let k = 0; k < n; k++) {
          const nameOff = entries.len();
          const header = entries.addr()!;
          entries.skip(24);
          out.set(nameAt(nameOff), header);
        }
      }
    }
  };
  await visit(table.btree);
  return out;
}

/** A dataset's chunk B-tree (type 1) leaves, in order. */
export async function readChunkTree(
  cache: PageCache,
  address: number,
  rank: number,
): Promise<ChunkRef[]> {
  const label = cache.label;
  const keySize = 8 + 8 * (rank + 1);
  const out: ChunkRef[] = [];
  const visit = async (addr: number): Promise<void> => {
    const h = new Reader(await cache.get(addr, 24), label);
    h.sig("TREE");
    if (h.u8() !== 1) throw new CorruptFileError(`"${label}": not a chunk B-tree`);
    const level = h.u8(), used = h.u16();
    const r = new Reader(await cache.get(addr + 24, used * (keySize + 8)), label);
    const children: number[] = [];
    for (let i = 0; i < used; i++) {
      const size = r.u32(), mask = r.u32();
      const offset: number[] = [];
      for (let d = 0; d < rank; d++) offset.push(r.len());
      r.skip(8);
      const child = r.addr()!;
      if (level === 0) out.push({ offset, address: child, size, mask });
      else children.push(child);
    }
    for (const c of children) await visit(c);
  };
  await visit(address);
  return out;
}
