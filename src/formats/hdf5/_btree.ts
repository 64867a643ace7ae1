// Version 1 B-trees (file format spec 3.0, III.A.1): the symbol table of an
// old-style group (type 0, down to symbol table nodes, III.C) and the chunk
// index of a chunked dataset (type 1).
import { CorruptFileError } from "../../errors.ts";
import { type PageCache, Reader } from "./_bytes_io.ts";
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
  // Each node once, each child one level below its parent: a damaged tree
  // pointing back up cannot loop.
  const seen = new Set<number>();
  const damaged = (what: string) =>
    new CorruptFileError(`"${label}": a group's symbol table is damaged (${what})`);
  const visit = async (addr: number, expected: number | undefined): Promise<void> => {
    if (seen.has(addr)) throw damaged(`byte ${addr} is reached twice`);
    seen.add(addr);
    const r = new Reader(await cache.get(addr, 24), label);
    r.sig("TREE");
    r.u8();
    const level = r.u8(), used = r.u16();
    if (expected !== undefined && level !== expected) {
      throw damaged(`the node at byte ${addr} has level ${level} where ${expected} is expected`);
    }
    const body = new Reader(await cache.get(addr + 24, 8 + used * 16), label);
    body.skip(8);
    for (let i = 0; i < used; i++) {
      const child = body.addr()!;
      body.skip(8);
      if (level > 0) await visit(child, level - 1);
      else {
        if (seen.has(child)) throw damaged(`byte ${child} is reached twice`);
        seen.add(child);
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
  await visit(table.btree, undefined);
  return out;
}

/** Work done on chunk B-trees: nodes visited and entries examined (for tests and benchmarks). */
export interface BTreeStats {
  nodes: number;
  entries: number;
}

/** A parsed node of a chunk B-tree: `keys[i]` is the offset of child (or chunk) `i`. */
interface ChunkNode {
  level: number;
  keys: number[][];
  children: number[];
  sizes: number[];
  masks: number[];
}

/** Node reads in flight per tree (a targeted walk may want hundreds of nodes at once). */
const NODE_READS = 16;

/** Lexicographic order of chunk offsets. */
function compare(a: readonly number[], b: readonly number[]): number {
  for (let d = 0; d < a.length; d++) if (a[d] !== b[d]) return a[d] - b[d];
  return 0;
}

/** First index in `xs[from, to)` whose value is >= `x` (or > `x` when `after`). */
function bound(xs: readonly number[], x: number, from: number, to: number, after: boolean): number {
  while (from < to) {
    const mid = (from + to) >>> 1;
    if (xs[mid] < x || (after && xs[mid] === x)) from = mid + 1;
    else to = mid;
  }
  return from;
}

/**
 * A dataset's chunk index (a v1 B-tree of type 1), read lazily: a lookup
 * descends only into the subtrees whose key range holds a wanted chunk row,
 * each node parsed once. A node reached twice, a child whose level is not
 * one below its parent's, or keys out of order are CorruptFileError, so a
 * damaged tree can neither loop nor hide chunks.
 */
export class ChunkTree {
  readonly #cache: PageCache;
  readonly #address: number;
  readonly #rank: number;
  readonly #where: string;
  readonly #stats: BTreeStats;
  readonly #nodes = new Map<number, Promise<ChunkNode>>();
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  /** `where` names file and dataset in errors; `stats` is added to as nodes are visited. */
  constructor(
    cache: PageCache,
    address: number,
    rank: number,
    where: string,
    stats: BTreeStats = { nodes: 0, entries: 0 },
  ) {
    this.#cache = cache;
    this.#address = address;
    this.#rank = rank;
    this.#where = where;
    this.#stats = stats;
  }

  #corrupt(what: string): CorruptFileError {
    return new CorruptFileError(
      `${this.#where}: the chunk index is damaged (${what}); the file cannot be read`,
    );
  }

  /** The node at `address`, read and parsed once (a few reads in flight at a time). */
  #node(address: number): Promise<ChunkNode> {
    let node = this.#nodes.get(address);
    if (!node) {
      node = this.#limited(() => this.#parse(address));
      this.#nodes.set(address, node);
    }
    return node;
  }

  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= NODE_READS) await new Promise<void>((r) => this.#waiting.push(r));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }

  async #parse(address: number): Promise<ChunkNode> {
    const label = this.#cache.label, rank = this.#rank;
    const h = new Reader(await this.#cache.get(address, 24), label);
    h.sig("TREE");
    if (h.u8() !== 1) throw this.#corrupt(`the node at byte ${address} is not a chunk B-tree node`);
    const level = h.u8(), used = h.u16();
    const keySize = 8 + 8 * (rank + 1);
    const r = new Reader(await this.#cache.get(address + 24, used * (keySize + 8)), label);
    const node: ChunkNode = { level, keys: [], children: [], sizes: [], masks: [] };
    for (let i = 0; i < used; i++) {
      node.sizes.push(r.u32());
      node.masks.push(r.u32());
      const offset: number[] = [];
      for (let d = 0; d < rank; d++) offset.push(r.len());
      r.skip(8);
      node.children.push(r.addr()!);
      if (i > 0 && compare(node.keys[i - 1], offset) >= 0) {
        throw this.#corrupt(`keys out of order in the node at byte ${address}`);
      }
      node.keys.push(offset);
    }
    return node;
  }

  /**
   * Visit the node at `address` (expected at `level`, keys within
   * `[lo, hi)`), once per walk.
   */
  async #visit(
    address: number,
    level: number | undefined,
    lo: number[] | undefined,
    hi: number[] | undefined,
    seen: Set<number>,
  ): Promise<ChunkNode> {
    if (seen.has(address)) throw this.#corrupt(`the node at byte ${address} is reached twice`);
    seen.add(address);
    const node = await this.#node(address);
    this.#stats.nodes++;
    if (level !== undefined && node.level !== level) {
      throw this.#corrupt(
        `the node at byte ${address} has level ${node.level} where ${level} is expected`,
      );
    }
    const n = node.keys.length;
    if (
      n && ((lo && compare(node.keys[0], lo) < 0) || (hi && compare(node.keys[n - 1], hi) >= 0))
    ) {
      throw this.#corrupt(`the node at byte ${address} holds keys outside its parent's range`);
    }
    return node;
  }

  /** Every chunk, in order of offset. */
  async all(): Promise<ChunkRef[]> {
    const seen = new Set<number>();
    const walk = async (
      address: number,
      level: number | undefined,
      lo: number[] | undefined,
      hi: number[] | undefined,
    ): Promise<ChunkRef[]> => {
      const node = await this.#visit(address, level, lo, hi, seen);
      const n = node.keys.length;
      this.#stats.entries += n;
      if (node.level === 0) return node.keys.map((offset, i) => this.#ref(node, i, offset));
      const parts = await Promise.all(
        node.children.map((c, i) =>
          walk(c, node.level - 1, node.keys[i], i + 1 < n ? node.keys[i + 1] : hi)
        ),
      );
      return parts.flat();
    };
    return await walk(this.#address, undefined, undefined, undefined);
  }

  /**
   * Call `found` with each chunk whose first-dimension offset is one of
   * `starts` (sorted, without repeats). Visits only the nodes whose key
   * range holds one: O(chunks found · depth) nodes.
   */
  async find(starts: readonly number[], found: (chunk: ChunkRef) => void): Promise<void> {
    const seen = new Set<number>();
    const walk = async (
      address: number,
      level: number | undefined,
      lo: number[] | undefined,
      hi: number[] | undefined,
      a: number,
      b: number,
    ): Promise<void> => {
      const node = await this.#visit(address, level, lo, hi, seen);
      const n = node.keys.length;
      if (node.level === 0) {
        // Entries and wanted offsets are both in order: one merged pass.
        let i = 0;
        for (let j = a; i < n && j < b; i++) {
          const c0 = node.keys[i][0];
          while (j < b && starts[j] < c0) j++;
          if (j < b && starts[j] === c0) found(this.#ref(node, i, node.keys[i]));
        }
        this.#stats.entries += i;
        return;
      }
      // Child i holds offsets in [keys[i], keys[i + 1]): first dimensions
      // from keys[i][0] to keys[i + 1][0] inclusive (chunks of a row of
      // chunks may span children).
      const visits: Promise<void>[] = [];
      for (let i = 0, j = a; i < n && j < b; i++) {
        this.#stats.entries++;
        const next = i + 1 < n ? node.keys[i + 1] : hi;
        j = bound(starts, node.keys[i][0], j, b, false);
        const end = next ? bound(starts, next[0], j, b, true) : b;
        if (j < end) {
          visits.push(walk(node.children[i], node.level - 1, node.keys[i], next, j, end));
        }
      }
      await Promise.all(visits);
    };
    if (starts.length) await walk(this.#address, undefined, undefined, undefined, 0, starts.length);
  }

  #ref(node: ChunkNode, i: number, offset: number[]): ChunkRef {
    return { offset, address: node.children[i], size: node.sizes[i], mask: node.masks[i] };
  }
}
