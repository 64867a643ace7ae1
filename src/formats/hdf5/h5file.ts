// A read-only HDF5 file over byte-range reads: groups, attributes, and
// datasets read whole or by row ranges. Row ranges of contiguous datasets
// and of uncompressed chunks are read as just those bytes; compressed
// chunks are read whole, once. Nearby reads are coalesced; metadata is
// cached per file. What it does not read raises UnsupportedFormatError so
// callers can fall back to h5wasm.
//
// The layers below: _bytes_io.ts (byte readers, page cache, cursor),
// _structures.ts (superblock, heaps), _parse.ts (object headers),
// _btree.ts (group and chunk B-trees), _filters.ts (filter pipeline),
// _scheduler.ts (coalesced, concurrent reads), _decode.ts (values),
// _heap_cache.ts and _vstrings.ts (variable-length strings).
import { CorruptFileError, UnsupportedFormatError } from "../../errors.ts";
import type { Dtype } from "../anndata/matrix.ts";
import { type BTreeStats, type ChunkRef, ChunkTree, readSymbolTable } from "./_btree.ts";
import { type ChunkIndex, ListedChunks, readChunkIndex } from "./_chunk_index.ts";
import { copyRowRuns, copyRowRunsAcross, pickRows } from "./_copy_row.ts";
import { readSpans } from "./_spans.ts";
import { decodeValues, type H5Values, numeric } from "./_decode.ts";
import {
  intoWorthIt,
  poolRunning,
  undoFileInto,
  type UndoIntoJob,
  unfilterAll,
  unfilterFiles,
} from "./_unfilter_pool.ts";
import { type PickBlock, pickBlocks, pickSpanBlocks } from "./_pick.ts";
import { checkClaims } from "./_claims.ts";
import { type DType, type ObjectInfo, readObject, sizeOf } from "./_parse.ts";
import { fetchPieces, guard, type Piece, type ReadOptions } from "./_scheduler.ts";
import { type ByteReader, PageCache } from "./_bytes_io.ts";
import { readSuperblock } from "./_structures.ts";
import { HeapCache } from "./_heap_cache.ts";
import { largeArray } from "../_memory.ts";

export type { ByteReader } from "./_bytes_io.ts";
export { fileBytes } from "./_bytes_io.ts";
export type { H5Values } from "./_decode.ts";
export type { ReadOptions } from "./_scheduler.ts";

/** A group of an {@linkcode H5File}. */
export interface H5Group {
  kind: "group";
  path: string;
  info: ObjectInfo;
  /** Its object header's address. */
  address: number;
}

export { HEAP_CACHE_BYTES } from "./_heap_cache.ts";

/** A dataset of an {@linkcode H5File}. */
export class H5Dataset {
  readonly kind = "dataset";
  readonly #file: H5File;
  readonly path: string;
  readonly info: ObjectInfo;
  #chunks?: Promise<ChunkRef[]>;
  /** Chunks by chunk row number (first-dimension offset / chunk extent), found so far. */
  readonly #rows = new Map<number, ChunkRef[]>();
  /** Chunks of whole rows: address by chunk row (NaN: not looked up yet; -1: never written). */
  #rowAt?: Float64Array;

  /** @internal */
  constructor(file: H5File, path: string, info: ObjectInfo) {
    this.#file = file;
    this.path = path;
    this.info = info;
  }

  /** The shape (`[]` for a scalar). */
  get shape(): number[] {
    return this.info.shape ?? [];
  }
  /** The element type. */
  get type(): DType {
    if (!this.info.type) {
      throw new CorruptFileError(`"${this.#file.label}": /${this.path} has no datatype`);
    }
    return this.info.type;
  }
  /** numpy-style dtype name, `"bool"` or `"str"`. */
  get dtype(): Dtype | "str" {
    const t = this.type;
    if (t.kind === "bool") return "bool";
    if (t.kind === "fstring" || t.kind === "vstring") return "str";
    const n = numeric(t);
    if (!n) {
      throw new UnsupportedFormatError(
        `"${this.#file.label}": /${this.path}: unsupported datatype`,
      );
    }
    return n.dtype;
  }
  /** Chunk shape, or undefined when not chunked. */
  get chunks(): number[] | undefined {
    return this.info.layout?.kind === "chunked" ? this.info.layout.chunk : undefined;
  }

  /** The whole dataset. */
  async read(options?: ReadOptions): Promise<H5Values> {
    const n = this.shape.length ? this.shape[0] : 1;
    const rows = this.shape.length ? [[0, n] as const] : [[0, 1] as const];
    return await this.#file.decode(this.type, await this.readRows(rows, options), this.#count(n));
  }

  #count(rows: number): number {
    return rows * this.shape.slice(1).reduce((a, b) => a * b, 1);
  }

  /** Rows `[start, end)` of the first dimension, concatenated, decoded. */
  async readRanges(
    ranges: readonly (readonly [number, number])[],
    options: ReadOptions = {},
  ): Promise<H5Values> {
    let n = 0;
    for (const [s, e] of ranges) n += e - s;
    return await this.#file.decode(this.type, await this.readRows(ranges, options), this.#count(n));
  }

  /** Rows `[starts[k], ends[k])` (ascending, disjoint) as typed arrays, decoded. */
  async readSpans(starts: Float64Array, ends: Float64Array, n: number, options?: ReadOptions) {
    const raw = await readSpans(this, this.#file, starts, ends, n, options ?? {});
    return await this.#file.decode(this.type, raw, raw.length / sizeOf(this.type));
  }

  /** @internal Chunk addresses by chunk row (-1: none), those `ranges` touch looked up. */
  async chunkAddresses(ranges: [number, number][], extent: number): Promise<Float64Array> {
    await this.#findChunks(ranges, extent);
    return this.#rowAt ?? new Float64Array(0);
  }

  /**
   * Raw element bytes of row ranges (scalars: `[[0, 1]]`), which ascend
   * and do not overlap (the chunked paths rely on it: every caller reads
   * sorted spans).
   */
  async readRows(
    ranges: readonly (readonly [number, number])[],
    options: ReadOptions = {},
  ): Promise<Uint8Array> {
    const layout = this.info.layout;
    const label = this.#file.label;
    if (!layout) throw new CorruptFileError(`"${label}": /${this.path} has no data layout`);
    const elem = sizeOf(this.type);
    const rowLen = this.shape.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = rowLen * elem;
    let total = 0;
    const rows = this.shape.length ? this.shape[0] : 1;
    for (const [s, e] of ranges) {
      if (!(s >= 0 && e <= rows)) {
        throw new CorruptFileError(
          `"${label}": rows ${s}..${e} of /${this.path} are asked, it has ${rows} ` +
            `(its shape disagrees with the rest of the file)`,
        );
      }
      total += (e - s) * rowBytes;
    }
    if (total === 0) return new Uint8Array(0);
    const first = ranges[0][0], last = ranges[ranges.length - 1][1];
    const span = (last - first) * rowBytes;
    const direct = layout.kind === "contiguous" ||
      (layout.kind === "chunked" && !(this.info.filters ?? []).length);
    if (
      direct && ranges.length > 64 && (span - total) / (ranges.length - 1) <= (options.gap ?? 4096)
    ) {
      // Many ranges a small gap apart (obs columns of a dense selection):
      // one read of their span, then the rows picked out of it, rather than
      // a piece per range only to merge them again.
      return pickRows(await this.readRows([[first, last]], options), ranges, rowBytes, total);
    }
    let out = largeArray(Uint8Array, total);
    if (layout.kind === "compact") {
      let o = 0;
      for (const [s, e] of ranges) {
        out.set(layout.data.subarray(s * rowBytes, e * rowBytes), o);
        o += (e - s) * rowBytes;
      }
      return out;
    }
    // Uncompressed int32 sparse indices of a local file: read and checked on
    // the workers (the check costs this thread ~1.5 ns an index). Not int64
    // ones: one worker reading twice the bytes in pieces was slower than the
    // runtime's parallel reads and their check here (csr64.h5ad whole ~110
    // -> ~125 ms); compressed ones are checked where a worker undoes them.
    // (From a megabyte on: a smaller read reads the rows asked for, here. And
    // once the workers run: a first read of a plain file starts none.)
    const checked = this.#file.source.path !== undefined && elem === 4 &&
      this.#indexBound(options) !== undefined && intoWorthIt(out) && poolRunning();
    if (layout.kind === "contiguous") {
      if (layout.address === undefined) return out; // never written: fill value (zeros)
      if (checked && ranges.length === 1) {
        const into = await this.#spanChecked(layout.address + first * rowBytes, out, options);
        if (into) return into;
        if (out.byteLength !== total) out = largeArray(Uint8Array, total); // moved, and lost
      }
      const pieces: Piece[] = [];
      let o = 0;
      for (const [s, e] of ranges) {
        pieces.push({ offset: layout.address + s * rowBytes, length: (e - s) * rowBytes, into: o });
        o += (e - s) * rowBytes;
      }
      await this.#file.fetch(pieces, out, options);
      return out;
    }
    // Chunked.
    const chunk = layout.chunk;
    const filtered = (this.info.filters ?? []).length > 0;
    const fullRows = chunk.slice(1).every((c, i) => c >= this.shape[i + 1]);
    const chunkRowBytes = chunk.slice(1).reduce((a, b) => a * b, 1) * elem;
    // Compressed chunks holding whole rows (1-D, or 2-D chunked by rows
    // only): the rows a read wants of one chunk are one block of the output
    // (ranges ascend), picked out where the chunk is undone.
    // Uncompressed int32 sparse indices too (see `checked`).
    if ((filtered || checked) && fullRows && chunkRowBytes === rowBytes) {
      return await this.#pickedChunks(pickBlocks(ranges, chunk[0], rowBytes), out, options);
    }
    await this.#findChunks(ranges, chunk[0]);
    if (!filtered && fullRows && chunkRowBytes === rowBytes) {
      // Sub-ranges of uncompressed chunks of whole rows: just the rows asked
      // for (in a chunk wider than the dataset, rows lie a chunk row apart:
      // read whole below).
      const at = this.#rowAt ?? new Float64Array(0);
      const pieces: Piece[] = [];
      let o = 0;
      for (const [s, e] of ranges) {
        for (let r = s; r < e;) {
          const q = Math.floor(r / chunk[0]);
          const c0 = q * chunk[0];
          const stop = Math.min(e, c0 + chunk[0]);
          const address = q < at.length ? at[q] : -1;
          if (address >= 0) {
            pieces.push({
              offset: address + (r - c0) * chunkRowBytes,
              length: (stop - r) * rowBytes,
              into: o,
            });
          }
          o += (stop - r) * rowBytes;
          r = stop;
        }
      }
      await this.#file.fetch(pieces, out, options);
      return out;
    }
    // Whole chunks (compressed, split across columns): read each once, copy rows.
    const needed = new Map<number, ChunkRef[]>();
    for (const [s, e] of ranges) {
      for (let q = Math.floor(s / chunk[0]); q * chunk[0] < e; q++) {
        if (!needed.has(q * chunk[0])) needed.set(q * chunk[0], this.#rows.get(q) ?? []);
      }
    }
    const refs = [...needed.values()].flat();
    // The runs of rows each row of chunks gives (ascending, so a chunk row's
    // runs are consecutive, and so is their output), then every chunk of that
    // row (one per column block) copies all its runs at once.
    let runs = new Float64Array(3 * Math.max(16, ranges.length));
    const rowOf: number[] = [];
    let nr = 0, o = 0;
    for (const [s, e] of ranges) {
      for (let r = s; r < e;) {
        const c0 = Math.floor(r / chunk[0]) * chunk[0];
        const stop = Math.min(e, c0 + chunk[0]);
        if (3 * nr + 3 > runs.length) {
          const grown = new Float64Array(2 * runs.length);
          grown.set(runs);
          runs = grown;
        }
        runs[3 * nr] = r - c0;
        runs[3 * nr + 1] = stop - c0;
        runs[3 * nr + 2] = o;
        rowOf.push(c0);
        nr++;
        o += (stop - r) * rowBytes;
        r = stop;
      }
    }
    if (this.shape.length === 2) {
      // Of a local file: each chunk's rows written to their columns of the
      // output on the workers (no chunk comes back here whole).
      const into = await this.#columnsInto(needed, runs, rowOf, nr, out, rowBytes, options);
      if (into) {
        options.watch?.(into);
        return into;
      }
      if (out.byteLength !== total) out = largeArray(Uint8Array, total); // moved, and lost
    }
    const decoded = await this.#undone(refs, undefined, out, options);
    const raw = new Map<ChunkRef, Uint8Array>();
    refs.forEach((c, i) => raw.set(c, decoded[i]));
    for (let k = 0; k < nr;) {
      let j = k + 1;
      while (j < nr && rowOf[j] === rowOf[k]) j++;
      const group = runs.subarray(3 * k, 3 * j);
      const refs = needed.get(rowOf[k]) ?? [];
      const datas = refs.map((c) => raw.get(c)!);
      if (!copyRowRunsAcross(datas, refs, group, j - k, out, rowBytes, this.shape, chunk, elem)) {
        refs.forEach((c, i) =>
          copyRowRuns(datas[i], c, group, j - k, out, rowBytes, this.shape, chunk, elem)
        );
      }
      const first = runs[3 * k + 2];
      const end = runs[3 * (j - 1) + 2] + (runs[3 * (j - 1) + 1] - runs[3 * (j - 1)]) * rowBytes;
      options.watch?.(out.subarray(first, end));
      k = j;
    }
    return out;
  }

  /**
   * @internal Rows `[starts[k], ends[k])` (ascending, disjoint) of a
   * filtered dataset chunked by whole rows, as raw element bytes: each
   * touched chunk read once and only the rows asked for kept where it is
   * undone. Undefined for any other layout (use `readRows`).
   */
  async readPickedSpans(
    starts: Float64Array,
    ends: Float64Array,
    n: number,
    options: ReadOptions = {},
  ): Promise<Uint8Array | undefined> {
    const layout = this.info.layout;
    if (layout?.kind !== "chunked" || !(this.info.filters ?? []).length || !this.shape.length) {
      return undefined;
    }
    // Chunks of whole rows, as readRows picks them.
    if (!layout.chunk.slice(1).every((c, i) => c === this.shape[i + 1])) return undefined;
    const rowBytes = this.shape.slice(1).reduce((a, b) => a * b, 1) * sizeOf(this.type);
    let total = 0;
    for (let k = 0; k < n; k++) {
      if (
        !(starts[k] >= (k ? ends[k - 1] : 0) && ends[k] >= starts[k] && ends[k] <= this.shape[0])
      ) {
        throw new CorruptFileError(
          `"${this.#file.label}": rows ${starts[k]}..${ends[k]} of /${this.path} are asked, ` +
            `it has ${this.shape[0]} (its shape disagrees with the rest of the file)`,
        );
      }
      total += (ends[k] - starts[k]) * rowBytes;
    }
    if (total === 0) return new Uint8Array(0);
    const blocks = pickSpanBlocks(starts, ends, n, layout.chunk[0], rowBytes);
    return await this.#pickedChunks(blocks, largeArray(Uint8Array, total), options);
  }

  /** The blocks of rows `blocks` asks of each chunk, undone and picked, into `out`. */
  async #pickedChunks(
    blocks: Map<number, PickBlock>,
    out: Uint8Array,
    options: ReadOptions,
  ): Promise<Uint8Array> {
    const extent = (this.info.layout as { chunk: number[] }).chunk[0];
    await this.#findChunks([...blocks.keys()].map((q) => [q * extent, q * extent + 1]), extent);
    const refs: ChunkRef[] = [], picks: PickBlock[] = [];
    for (const [q, b] of blocks) {
      for (const c of this.#rows.get(q) ?? []) {
        refs.push(c);
        picks.push(b);
      }
    }
    const size = out.byteLength;
    // Sparse indices: checked on the worker that writes them, when one does.
    const watch = options.watch;
    const check = this.#indexBound(options);
    const into = await this.#undoneInto(refs, picks, out, options, check);
    if (into) out = into;
    else {
      // No pool, or a small read: the chunks undone (by several workers), copied in here.
      if (out.byteLength !== size) out = largeArray(Uint8Array, size); // moved, and lost
      const decoded = await this.#undone(refs, picks, out, options);
      for (let i = 0; i < refs.length; i++) out.set(decoded[i], picks[i].at);
    }
    // Never-written chunks' blocks too (zeros): the watcher counts every byte.
    const written = new Set(into && check !== undefined ? picks : []);
    for (const b of blocks.values()) {
      const part = out.subarray(b.at, b.at + b.length);
      if (written.has(b)) watch!.checked!(part);
      else watch?.(part);
    }
    return out;
  }

  /**
   * `out.length` bytes of a contiguous dataset from file byte `address`
   * (int32 sparse indices), read in pieces of 4 MiB and checked against the
   * watch's bound on the workers, straight into `out`; null when not (see
   * `#undoneInto`: then `out` may have been moved and lost).
   */
  async #spanChecked(
    address: number,
    out: Uint8Array,
    options: ReadOptions,
  ): Promise<Uint8Array | null> {
    // A contiguous dataset has no filters (a file that says so is read as it is, elsewhere).
    if ((this.info.filters ?? []).length) return null;
    const refs: ChunkRef[] = [], picks: PickBlock[] = [];
    for (let o = 0; o < out.length; o += SPAN_PIECE) {
      const n = Math.min(SPAN_PIECE, out.length - o);
      refs.push({ offset: [o], address: address + o, size: n, mask: 0 });
      picks.push({ pick: [0, n], at: o, length: n });
    }
    const watch = options.watch!;
    const check = this.#indexBound(options);
    const into = await this.#undoneInto(refs, picks, out, options, check, undefined, 0);
    if (into) watch.checked!(into);
    return into;
  }

  /**
   * The bound a read's sparse index watch gives this dataset's values (int32
   * ones against `int32Below`, 64-bit ones against its wide watch's
   * `int64Below`), when a worker that writes them can check them; else
   * undefined (the watch is told the parts here).
   */
  #indexBound(options: ReadOptions): number | undefined {
    const watch = options.watch;
    if (!watch?.checked || this.type.kind !== "int") return undefined;
    const size = sizeOf(this.type);
    return size === 4 ? watch.int32Below : size === 8 ? watch.int64Below : undefined;
  }

  /**
   * A 2-D dataset's chunks (`needed`: by their first row) that split its
   * columns, undone on the workers straight into `out`: each chunk's rows of
   * the runs `runs` (row in chunk from, to, output byte; `rowOf`: each run's
   * chunk row) to its columns of the output's rows. Null when not (see
   * `#undoneInto`).
   */
  async #columnsInto(
    needed: Map<number, ChunkRef[]>,
    runs: Float64Array,
    rowOf: number[],
    nr: number,
    out: Uint8Array,
    rowBytes: number,
    options: ReadOptions,
  ): Promise<Uint8Array | null> {
    const chunk = (this.info.layout as { chunk: number[] }).chunk, elem = sizeOf(this.type);
    const stride = chunk[1] * elem;
    const refs: ChunkRef[] = [], picks: PickBlock[] = [], widths: number[] = [];
    for (let k = 0; k < nr;) {
      let j = k + 1;
      while (j < nr && rowOf[j] === rowOf[k]) j++;
      // The runs' rows of this row of chunks, as byte ranges of each chunk,
      // land in consecutive rows of the output from the first run's.
      const pick: number[] = [];
      for (let q = k; q < j; q++) pick.push(runs[3 * q] * stride, runs[3 * q + 1] * stride);
      for (const c of needed.get(rowOf[k]) ?? []) {
        const width = Math.min(chunk[1], this.shape[1] - c.offset[1]) * elem;
        if (!(width > 0)) continue;
        refs.push(c);
        picks.push({ pick, at: runs[3 * k + 2] + c.offset[1] * elem, length: 0 });
        widths.push(width);
      }
      k = j;
    }
    return await this.#undoneInto(refs, picks, out, options, undefined, {
      src: stride,
      dst: rowBytes,
      widths,
    });
  }

  /**
   * Of a local file, from a megabyte on: chunks `refs` read, undone and
   * picked from (`picks`) on one worker straight into `out` (moved there and
   * back: the array returned replaces it; a read's datasets go to the
   * workers in turn). Null when not (too small, not local, no pool).
   */
  async #undoneInto(
    refs: ChunkRef[],
    picks: PickBlock[],
    out: Uint8Array,
    options: ReadOptions,
    check?: number,
    rows?: UndoIntoJob["into"]["rows"],
    expected?: number,
  ): Promise<Uint8Array | null> {
    const src = this.#file.source;
    if (
      !src.path || options.cost || refs.length < 2 || !intoWorthIt(out)
    ) return null;
    this.#inFile(refs);
    const elem = sizeOf(this.type);
    const chunk = (this.info.layout as { chunk?: number[] }).chunk ?? [];
    return await undoFileInto(
      {
        path: src.path,
        offsets: refs.map((c) => c.address),
        sizes: refs.map((c) => c.size),
        masks: refs.map((c) => c.mask),
        filters: this.info.filters ?? [],
        elem,
        expected: expected ?? chunk.reduce((a, b) => a * b, 1) * elem,
        where: `"${this.#file.label}": /${this.path}`,
        picks: picks.map((b) => b.pick),
        ats: picks.map((b) => b.at),
        check,
        ...(check !== undefined && elem === 8 ? { checkWide: true } : {}),
        cut: this.shape.length > 1,
        ...(rows ? { rows } : {}),
      },
      out,
      src.counted?.bind(src),
    );
  }

  /** Throw `CorruptFileError` if a chunk of `refs` lies past the end of the file. */
  #inFile(refs: ChunkRef[]): void {
    for (const c of refs) {
      if (c.address + c.size > this.#file.size) {
        throw new CorruptFileError(
          `"${this.#file.label}": /${this.path}: a chunk claims ${c.size} bytes at byte ${c.address}, ` +
            `past the end of the file (${this.#file.size} bytes); the file is damaged`,
        );
      }
    }
  }

  /** Chunks `refs` read and undone (with `picks`, only those rows of each). */
  async #undone(
    refs: ChunkRef[],
    picks: PickBlock[] | undefined,
    out: Uint8Array,
    options: ReadOptions,
  ): Promise<Uint8Array[]> {
    const label = this.#file.label;
    this.#inFile(refs);
    const elem = sizeOf(this.type);
    const chunk = (this.info.layout as { chunk: number[] }).chunk;
    const chunkBytes = chunk.reduce((a, b) => a * b, 1) * elem;
    const job = (c: ChunkRef, i: number) => ({
      filters: this.info.filters ?? [],
      mask: c.mask,
      ctx: { elem, expected: chunkBytes, where: `"${label}": /${this.path}`, address: c.address },
      ...(picks ? { pick: picks[i].pick } : {}),
    });
    // A local file: the workers read the chunks themselves.
    const src = this.#file.source;
    if (src.path && !options.cost) {
      const path = src.path;
      const got = await unfilterFiles(
        refs.map((c, i) => ({ ...job(c, i), path, offset: c.address, size: c.size })),
        src.counted?.bind(src),
      );
      if (got) return got;
    }
    const bufs = refs.map((c) => new Uint8Array(c.size));
    await this.#file.fetch(
      refs.map((c, i) => ({ offset: c.address, length: c.size, into: 0, target: bufs[i] })),
      out,
      options,
    );
    // Undone in parallel on a worker pool when there is much to do.
    return await unfilterAll(refs.map((c, i) => ({ bytes: bufs[i], ...job(c, i) })));
  }

  /**
   * Look up, in the chunk index, the chunks of the rows of `ranges` not
   * looked up before (one descent for all of them).
   */
  async #findChunks(ranges: readonly (readonly [number, number])[], extent: number) {
    const layout = this.info.layout;
    if (layout?.kind !== "chunked") return;
    const n = Math.ceil((this.shape[0] ?? 0) / extent);
    const at = this.#rowAt ??= new Float64Array(n).fill(NaN);
    const missing: number[] = [];
    let sorted = true;
    for (const [s, e] of ranges) {
      for (let q = Math.floor(s / extent); q * extent < e; q++) {
        // Known: a number in `at` (NaN is the one value unequal to itself).
        if (q < n ? at[q] === at[q] : this.#rows.has(q)) continue;
        const last = missing.length ? missing[missing.length - 1] : -1;
        if (q === last) continue;
        if (q < last) sorted = false;
        missing.push(q);
      }
    }
    if (!missing.length) return;
    if (!sorted) {
      missing.sort((a, b) => a - b);
      let k = 0;
      for (const q of missing) if (k === 0 || missing[k - 1] !== q) missing[k++] = q;
      missing.length = k;
    }
    // Collected apart and stored when complete: a concurrent read of the
    // same rows may be looking them up too.
    const found = new Map<number, ChunkRef[]>();
    const tree = this.#lookup();
    if (tree) {
      await guard(this.#file.label, () =>
        tree.find(missing.map((q) => q * extent), (c) => {
          const q = c.offset[0] / extent;
          const list = found.get(q);
          if (list) list.push(c);
          else found.set(q, [c]);
        }));
    }
    for (const q of missing) {
      if (this.#rows.has(q)) continue;
      const refs = found.get(q) ?? [];
      this.#rows.set(q, refs);
      if (q < n) {
        const whole = refs.find((c) => c.offset.every((x, d) => d === 0 || x === 0));
        at[q] = whole ? whole.address : -1;
      }
    }
  }

  /** The chunk index (a v1 B-tree, or a version 4 index), read once. */
  chunkIndex(): Promise<ChunkRef[]> {
    const tree = this.#lookup();
    this.#chunks ??= tree ? guard(this.#file.label, () => tree.all()) : Promise.resolve([]);
    return this.#chunks;
  }

  /** What finds this dataset's chunks: its v1 B-tree, or its version 4 index. */
  #lookup(): ChunkTree | ListedChunks | undefined {
    const layout = this.info.layout;
    if (layout?.kind !== "chunked") return undefined;
    if (layout.btree !== undefined) {
      return this.#file.chunkTree(layout.btree, layout.chunk.length, this.path);
    }
    const index = layout.index;
    if (!index) return undefined;
    return this.#listed ??= this.#file.listedChunks(
      index,
      this.shape,
      layout.chunk,
      sizeOf(this.type),
      (this.info.filters ?? []).length > 0,
      this.path,
      this.info.maxShape,
    );
  }
  #listed?: ListedChunks;
}

/** Pieces a contiguous dataset read on the workers is read in (see `#spanChecked`). */
const SPAN_PIECE = 4 << 20;

/** Bytes read from a remote file's start with its size (the superblock and what follows it). */
const FIRST_PAGES = 8192;

/** An HDF5 file read through byte ranges. */
export class H5File {
  readonly label: string;
  readonly #src: ByteReader;
  readonly #cache: PageCache;
  #root = 0;
  readonly #objects = new Map<number, Promise<ObjectInfo>>();
  readonly #children = new Map<number, Promise<Map<string, number>>>();
  /** Global heap collections (variable-length strings), the recently used ones kept. */
  readonly #heaps: HeapCache;
  readonly #trees = new Map<number, ChunkTree>();
  /** Chunk index work so far: B-tree nodes visited, entries examined (for tests and benchmarks). */
  readonly stats: BTreeStats = { nodes: 0, entries: 0 };

  private constructor(src: ByteReader, label: string, block?: number) {
    this.#src = src;
    this.label = label;
    this.#cache = new PageCache(src, label, block);
    this.#heaps = new HeapCache(src, label, () => this.#cache.size);
  }

  /**
   * Open a file: reads the superblock; CorruptFileError if it is not HDF5.
   * Metadata is read in aligned blocks of `block` bytes (default 4 KiB).
   */
  static async open(src: ByteReader, label: string, block?: number): Promise<H5File> {
    const f = new H5File(src, label, block);
    await guard(label, async () => {
      // Remote (metadata read in blocks): the superblock's pages asked
      // together with the size, one round trip instead of two in a row
      // (few: the cache's blocks stay under 1/256 of the file, whose size
      // is not known yet).
      const ahead = block ? src.read(0, Math.min(block, FIRST_PAGES)) : undefined;
      ahead?.catch(() => {});
      f.#cache.size = await src.size();
      const first = await ahead?.catch(() => undefined);
      if (first) f.#cache.seed(first);
      f.#root = await readSuperblock(f.#cache);
    });
    return f;
  }

  #object(address: number): Promise<ObjectInfo> {
    if (!this.#objects.has(address)) this.#objects.set(address, readObject(this.#cache, address));
    return this.#objects.get(address)!;
  }

  /** Children of a group (name -> object header address). */
  children(info: ObjectInfo, address: number): Promise<Map<string, number>> {
    if (!this.#children.has(address)) {
      this.#children.set(
        address,
        guard(this.label, async () => {
          const links = info.links ??
            (info.symbolTable ? await readSymbolTable(this.#cache, info.symbolTable) : new Map());
          for (const name of links.keys()) {
            // HDF5 link names are never empty and never hold "/": a damaged name would make a
            // path that leads back to the group itself.
            if (name === "" || name.includes("/") || name === ".") {
              throw new CorruptFileError(
                `"${this.label}": the group at byte ${address} has a link named ${
                  JSON.stringify(name)
                }, which HDF5 does not allow: the file is damaged`,
              );
            }
          }
          return links;
        }),
      );
    }
    return this.#children.get(address)!;
  }

  /** The object at `path` ("" or "/" is the root), or undefined. */
  async get(path: string): Promise<H5Group | H5Dataset | undefined> {
    return await guard(this.label, async () => {
      let address = this.#root;
      let info = await this.#object(address);
      const parts = path.split("/").filter(Boolean);
      // The groups passed through: a path through one twice follows a cycle
      // of hard links, which a reader walking the tree would never leave.
      const passed = [address];
      for (const [i, part] of parts.entries()) {
        if (info.kind !== "group") return undefined;
        const next = (await this.children(info, address)).get(part);
        if (next === undefined) return undefined;
        const back = passed.indexOf(next);
        if (back >= 0) {
          throw new CorruptFileError(
            `"${this.label}": /${parts.slice(0, i + 1).join("/")} links back to /${
              parts.slice(0, back).join("/")
            } (a cycle of groups); lamindeno does not follow such cycles`,
          );
        }
        passed.push(next);
        address = next;
        info = await this.#object(address);
      }
      const clean = parts.join("/");
      if (info.kind === "group") return { kind: "group", path: clean, info, address };
      checkClaims(info, this.size, `"${this.label}": /${clean}`);
      return new H5Dataset(this, clean, info);
    });
  }

  /** Names of a group's children, sorted (as h5py lists them). */
  async keys(path: string): Promise<string[]> {
    const node = await this.get(path);
    if (!node || node.kind !== "group") return [];
    return [...(await this.children(node.info, node.address)).keys()].sort();
  }

  /** Decode raw element bytes. */
  async decode(type: DType, raw: Uint8Array, n: number): Promise<H5Values> {
    return await guard(
      this.label,
      () => decodeValues(type, raw, n, this.label, this.#heaps),
    );
  }

  /** @internal The global heap collections (variable-length strings), cached. */
  get heaps(): HeapCache {
    return this.#heaps;
  }

  /** The chunk index (v1 B-tree of type 1) at `address` of the dataset at `path`, made once. */
  /** A dataset's version 4 chunk index (read whole on first use). */
  listedChunks(
    index: ChunkIndex,
    shape: readonly number[],
    chunk: readonly number[],
    elem: number,
    filtered: boolean,
    path: string,
    maxShape?: readonly (number | undefined)[],
  ): ListedChunks {
    const where = `"${this.label}": /${path}`;
    return new ListedChunks(() =>
      readChunkIndex(this.#cache, index, shape, chunk, elem, filtered, where, maxShape)
    );
  }

  chunkTree(address: number, rank: number, path: string): ChunkTree {
    let tree = this.#trees.get(address);
    if (!tree) {
      tree = new ChunkTree(this.#cache, address, rank, `"${this.label}": /${path}`, this.stats);
      this.#trees.set(address, tree);
    }
    return tree;
  }

  /** Read pieces (coalesced, bounded concurrency) into `out` (or each piece's own target). */
  async fetch(pieces: Piece[], out: Uint8Array, options: ReadOptions = {}): Promise<void> {
    await fetchPieces(this.#src, this.label, pieces, out, options);
  }

  /** Where the bytes come from. */
  get source(): ByteReader {
    return this.#src;
  }

  /** The file's size in bytes. */
  get size(): number {
    return this.#cache.size;
  }

  /** The root's object header address. */
  get root(): number {
    return this.#root;
  }
}
