// `collection.mapped()`: batches of rows across the AnnData files of a
// collection for training. One global order of all rows (file order, or a
// seeded permutation), cut into batches; worker i of n takes the i-th of
// n consecutive runs of batches (their counts differ by at most one), so in
// file order a worker's rows are one stretch of the files. Each batch reads only its rows (byte ranges), the next
// `prefetch` ones are read while the current one is used (so a store's
// latency is paid in parallel, not once per batch; shuffled on remote
// storage in pairs or more, one plan each; otherwise by default in groups
// of up to 16,384 rows, two groups at a time): memory holds `prefetch + 1`
// batches (two groups), the files' var names, the asked obs columns and
// each file's X indptr (kept by its BackedMatrix from the second read on).
import { ValidationError } from "../errors.ts";
import {
  assembleRows,
  columnMap,
  type Join,
  type MappedPart,
  type RowsLayout,
  rowsLayout,
} from "../formats/anndata/concat.ts";
import { byCodePoint } from "../formats/anndata/_code_points.ts";
import type { Matrix } from "../formats/anndata/matrix.ts";
import type { BackedAnnData, BackedMatrix } from "../query/backed.ts";
import type { IoStats } from "../storage/counting.ts";
import { frameColumns, readDataFrame } from "../formats/anndata/_decode.ts";
import { openBacked, openForRanges } from "./_file_open.ts";
import { fileLabel, filesKind, guard, joinVar, linkAll } from "./_collection_load.ts";
import { pool } from "../storage/_pool.ts";
import type { Collection } from "./collection.ts";
import type { File } from "./file.ts";
import { seededRandom } from "../_ids.ts";
import { checkJoin, checkKeysAndFlags, checkParallel, MAPPED_KEYS } from "./_collection_options.ts";

/** Options of `collection.mapped()`. */
export interface MappedOptions {
  /** Rows per batch (default 64); the last batch may be smaller unless `dropLast`. */
  batchSize?: number;
  /** Visit rows in a seeded random order (default `false`: file order). */
  shuffle?: boolean;
  /** The seed of the order (default 0): every worker must use the same. */
  seed?: number;
  /**
   * With `shuffle`: shuffle runs of `blockSize` consecutive rows (in file
   * order) instead of single rows, then the rows within each batch (default
   * 1: every row on its own). On remote storage a batch of single rows
   * scattered over the files costs a request (or a read-through gap) per
   * row; a batch of `batchSize / blockSize` runs costs a few requests and
   * reads about what it returns, at the price of neighbouring rows (often
   * one donor's cells) travelling together.
   */
  blockSize?: number;
  /** obs columns to return with each batch (checked in every file before X is read). */
  obsColumns?: string[];
  /** A layer instead of X. */
  layer?: string;
  /** How var is joined across files: `"inner"` (default) or `"outer"`. */
  join?: Join;
  /**
   * This worker's number, from 0 (default 0): it gets the `worker`-th of
   * `workers` consecutive runs of the batches (lengths differing by at most
   * one).
   */
  worker?: number;
  /** How many workers share the rows (default 1); every worker must pass the same options. */
  workers?: number;
  /** Skip a last batch smaller than `batchSize` (default `false`). */
  dropLast?: boolean;
  /** Files read at once for a batch: 1 to 64 (default 4). */
  parallel?: number;
  /**
   * Batches read ahead while the current one is used: memory holds
   * `prefetch + 1` batches. By default, batches are read in groups of up to
   * 16,384 rows (and about 32 MB of stored rows, from each file's average
   * row), one plan for each, two groups at a time, so that rows sharing a
   * compressed chunk decode it once (and, in
   * file order from remote storage, each group's rows are a few large
   * requests); shuffled from remote storage, where each batch waits for
   * round trips, 4. On remote storage the batches read ahead are read
   * `floor((prefetch + 1) / 2)` at a time in one plan, so neighbouring rows
   * share requests.
   */
  prefetch?: number;
  /**
   * Give each asked obs column as integer codes (the column's distinct
   * values across all files, sorted by code point as Python sorts them:
   * `batch.labels[column]`; `null` stays
   * `null`), the same in every worker.
   */
  encodeLabels?: boolean;
  /** Link the collection and its files as inputs of the tracked run (default: settings). */
  isRunInput?: boolean;
  /** Counters to add the bytes read and requests made to, when the iteration ends. */
  io?: Pick<IoStats, "bytesRead" | "requests">;
}

/** Rows a group of batches read at once has at most (see `mappedCollection`). */
const GROUP_ROWS = 16384;
/** Stored bytes of rows a group of batches has at most. */
const GROUP_BYTES = 32 << 20;
/** Batches a group has at most. */
const GROUP_MOST = 256;

/**
 * How many batches of `batchSize` rows of `rowBytes` stored bytes each a
 * group read at once has: up to GROUP_ROWS rows and GROUP_BYTES, at most
 * GROUP_MOST batches, at least one.
 */
export function batchesAtOnce(rowBytes: number, batchSize: number): number {
  const rows = Math.min(GROUP_ROWS, Math.floor(GROUP_BYTES / Math.max(1, rowBytes)));
  return Math.max(1, Math.min(GROUP_MOST, Math.floor(rows / batchSize)));
}

/** One batch of `collection.mapped()`. */
export interface Batch {
  /**
   * The rows' values: `batch x joined var`, in every batch as `load()` gives
   * X (or the layer): CSR when any file's is sparse, else dense, of the
   * dtype numpy gives the files' dtypes stacked; what a file lacks (outer
   * join) empty when CSR, NaN when dense float, 0 when dense integer.
   */
  X: Matrix;
  /** The asked obs columns, one value per row (codes with `encodeLabels`). */
  obs: Record<string, unknown[]>;
  /** With `encodeLabels`: each column's values, code `i` meaning `labels[column][i]`. */
  labels: Record<string, string[]>;
  /** The file each row came from. */
  fileIds: string[];
  /** Each row's position in the collection (file after file, from 0). */
  index: number[];
  /** The joined var names (X's columns). */
  varNames: string[];
}

function wholeAtLeast(v: unknown, min: number, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || (v as number) < min) {
    throw new ValidationError(`${name} is a whole number >= ${min}, got ${String(v)}`);
  }
  return v as number;
}

/** `a[from..to)` shuffled in place by `r` (Fisher-Yates). */
function shuffleRange(a: Uint32Array | Float64Array, from: number, to: number, r: () => number) {
  for (let i = to - 1; i > from; i--) {
    const j = from + Math.floor(r() * (i - from + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/**
 * 0..n-1, shuffled by `seed` when asked: single rows (Fisher-Yates), or
 * with `blockSize > 1` runs of `blockSize` consecutive rows, then the rows
 * within each batch of `batchSize`. Always a permutation of 0..n-1.
 */
export function globalOrder(
  n: number,
  shuffle: boolean,
  seed: number,
  blockSize = 1,
  batchSize = 1,
): Uint32Array | Float64Array {
  const order = n < 2 ** 32 ? new Uint32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!shuffle) return order;
  const r = seededRandom(seed);
  if (blockSize <= 1) {
    shuffleRange(order, 0, n, r);
    return order;
  }
  const blocks = new Float64Array(Math.ceil(n / blockSize));
  for (let i = 0; i < blocks.length; i++) blocks[i] = i;
  shuffleRange(blocks, 0, blocks.length, r);
  let k = 0;
  for (const b of blocks) {
    for (let g = b * blockSize; g < Math.min(n, (b + 1) * blockSize); g++) order[k++] = g;
  }
  for (let s = 0; s < n; s += batchSize) shuffleRange(order, s, Math.min(n, s + batchSize), r);
  return order;
}

function checkOptions(o: MappedOptions) {
  const call = "collection.mapped(options)";
  checkKeysAndFlags(o, MAPPED_KEYS, call, ["shuffle", "dropLast", "encodeLabels", "isRunInput"]);
  const workers = wholeAtLeast(o.workers, 1, "workers", 1);
  const worker = wholeAtLeast(o.worker, 0, "worker", 0);
  if (worker >= workers) {
    throw new ValidationError(`worker is 0..${workers - 1} for ${workers} workers, got ${worker}`);
  }
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) {
    throw new ValidationError(`seed is a whole number, got ${String(o.seed)}`);
  }
  if (
    o.obsColumns !== undefined &&
    (!Array.isArray(o.obsColumns) || o.obsColumns.some((c) => typeof c !== "string"))
  ) {
    throw new ValidationError("obsColumns is an array of obs column names");
  }
  if (
    o.io !== undefined &&
    (o.io === null || typeof o.io !== "object" || typeof o.io.bytesRead !== "number" ||
      typeof o.io.requests !== "number")
  ) {
    throw new ValidationError("io is an object of counters { bytesRead, requests }");
  }
  if (o.layer !== undefined && typeof o.layer !== "string") {
    throw new ValidationError("layer is the name of a layer");
  }
  return {
    batchSize: wholeAtLeast(o.batchSize, 1, "batchSize", 64),
    parallel: checkParallel(o.parallel),
    prefetch: o.prefetch === undefined
      ? undefined
      : Math.min(wholeAtLeast(o.prefetch, 0, "prefetch", 1), 64),
    shuffle: Boolean(o.shuffle),
    seed: o.seed ?? 0,
    blockSize: wholeAtLeast(o.blockSize, 1, "blockSize", 1),
    obsColumns: o.obsColumns ?? [],
    join: checkJoin(o.join),
    dropLast: Boolean(o.dropLast),
    worker,
    workers,
  };
}

/** The batches of `c`; see `Collection.mapped`. */
export async function* mappedCollection(
  c: Collection,
  options: MappedOptions,
): AsyncGenerator<Batch> {
  const o = checkOptions(options);
  const files = await c.files.all();
  if (filesKind(files, `collection "${c.name}"`) !== "anndata") {
    throw new ValidationError(
      `collection "${c.name}" holds tables; mapped() reads AnnData (.h5ad .zarr): use load()`,
    );
  }
  const backed: BackedAnnData[] = [];
  try {
    await pool(files, o.parallel, async (f, i) => {
      backed[i] = await guard(f, () => openBacked(f));
    });
    const names = await pool(files, o.parallel, (f, i) => guard(f, () => backed[i].varNames()));
    const joined = joinVar(files, names, o.join);
    const matrices = backed.map((b, i) => matrixOf(b, files[i], options.layer));
    // Every batch of the epoch has the dtype and layout load() gives the
    // files' matrices stacked, whichever files its rows come from.
    const layout = rowsLayout(
      await pool(files, o.parallel, (f, i) => guard(f, () => matrices[i].layout())),
    );
    const obs = await pool(files, o.parallel, (f) => obsColumns(f, o.obsColumns));
    const labels = options.encodeLabels ? encode(obs, o.obsColumns) : {};
    const maps = names.map((n) => columnMap(n, joined));
    const offsets = [0];
    for (const b of backed) offsets.push(offsets[offsets.length - 1] + b.nObs);
    const total = offsets[offsets.length - 1];
    const order = globalOrder(total, o.shuffle, o.seed, o.blockSize, o.batchSize);
    const nBatches = o.dropLast ? Math.floor(total / o.batchSize) : Math.ceil(total / o.batchSize);
    await linkAll(c, files, options.isRunInput);
    const ctx = {
      files,
      matrices,
      maps,
      offsets,
      obs,
      labels,
      joined,
      layout,
      parallel: o.parallel,
    };
    const rowsOf = (b: number) =>
      order.subarray(b * o.batchSize, Math.min(total, (b + 1) * o.batchSize));
    // The next `prefetch` batches are read while the current one is used.
    // A consumer that stops early (or never resumes) leaves those reads:
    // their failures are handled here rather than unhandled.
    const remote = files.some((f) => !f._inst.backendFor(f.storageId!).capabilities.localPaths);
    // Unless `prefetch` is given, batches are read in groups of up to
    // GROUP_ROWS rows and GROUP_BYTES of stored rows, two groups at a time,
    // from local storage (rows that share a compressed chunk decode it once
    // for the group, not once for each batch: shuffled batches of 64 rows of
    // a 200k-cell zarr atlas each decoded part of a chunk for nearly every
    // row) and, in file order, from remote storage (a group's rows are one
    // run of each file: a few large requests). Shuffled from remote
    // storage, batches read ahead are read in pairs (or more): one plan for
    // their rows, so neighbouring rows (runs of `blockSize`) share requests
    // (a group's plan read through the gaps between its runs: 3.5x the
    // bytes, and slower with four workers); memory holds `depth + 1` batches.
    let together = 1, depth = o.prefetch ?? (remote ? 4 : 1), grouped = false;
    if (remote && (o.shuffle || o.prefetch !== undefined)) {
      together = Math.max(1, Math.floor((depth + 1) / 2));
    } else if (o.prefetch === undefined) {
      const rowBytes = await pool(
        files,
        o.parallel,
        (f, i) => guard(f, () => matrices[i].rowBytes()),
      );
      together = batchesAtOnce(rowBytes.reduce((a, r) => Math.max(a, r), 0), o.batchSize);
      depth = 2 * together - 1;
      grouped = true;
    }
    const queue: Promise<Batch>[] = [];
    // This worker's share: one run of consecutive batches (of the file
    // order or of the seeded one), not every n-th batch, so that in file
    // order a group's rows are one stretch of each file even with several
    // workers (every n-th batch made a group read through the others'
    // batches from remote storage: 2.4 KB a cell with four workers against
    // 1.0 with one).
    let b = Math.floor((o.worker * nBatches) / o.workers);
    const end = Math.floor(((o.worker + 1) * nBatches) / o.workers);
    const fill = (size: number) => {
      // Whole groups only (the queue refills when a group's room is free).
      while (queue.length + together <= size && b < end) {
        const rows: ArrayLike<number>[] = [];
        for (; rows.length < together && b < end; b++) rows.push(rowsOf(b));
        const group = readBatches(rows, ctx);
        group.catch(() => {});
        for (let i = 0; i < rows.length; i++) {
          const p = group.then((got) => got[i]);
          p.catch(() => {});
          queue.push(p);
        }
      }
    };
    try {
      // Groups: the first one alone (its batches come sooner), the next one
      // once it is read.
      fill(grouped ? together : depth + 1);
      while (queue.length) {
        const current = await queue.shift()!;
        fill(depth);
        yield current;
        fill(depth + 1);
      }
    } finally {
      await Promise.allSettled(queue);
    }
  } finally {
    for (const b of backed) {
      if (!b) continue;
      if (options.io) {
        options.io.bytesRead += b.io.bytesRead;
        options.io.requests += b.io.requests;
      }
      b.close();
    }
  }
}

/** Replace each column's values by codes into its sorted distinct values (across files). */
function encode(obs: Record<string, unknown[]>[], columns: string[]): Record<string, string[]> {
  const labels: Record<string, string[]> = {};
  for (const col of columns) {
    const values = new Set<string>();
    for (const o of obs) {
      for (const v of o[col]) if (v !== null && v !== undefined) values.add(String(v));
    }
    const sorted = [...values].sort(byCodePoint);
    const code = new Map(sorted.map((v, i) => [v, i]));
    for (const o of obs) {
      o[col] = o[col].map((v) => (v === null || v === undefined ? null : code.get(String(v))!));
    }
    labels[col] = sorted;
  }
  return labels;
}

function matrixOf(b: BackedAnnData, f: File, layer: string | undefined): BackedMatrix {
  const m = layer === undefined ? b.X : b.layers[layer];
  if (!m) {
    throw new ValidationError(
      `${fileLabel(f)} has no ${layer === undefined ? "X" : `layer "${layer}"`}` +
        `${layer === undefined ? "" : ` (layers: ${Object.keys(b.layers).join(", ") || "none"})`}` +
        `; nothing was read`,
    );
  }
  return m;
}

/** The asked obs columns of `f`, read alone (not the whole obs). */
async function obsColumns(f: File, columns: string[]): Promise<Record<string, unknown[]>> {
  if (columns.length === 0) return {};
  const df = await guard(f, async () => {
    const { src } = await openForRanges(f);
    try {
      const have = (await frameColumns(src.store, "obs")).columns;
      const missing = columns.filter((c) => !have.includes(c));
      if (missing.length) {
        throw new ValidationError(
          `${fileLabel(f)} has no obs column ${missing.map((m) => `"${m}"`).join(", ")} (it has ` +
            `${have.slice(0, 10).join(", ") || "none"}); nothing was read`,
        );
      }
      return (await readDataFrame(src.store, "obs", undefined, columns)).df;
    } finally {
      src.close();
    }
  });
  return Object.fromEntries(columns.map((c) => [c, df.getColumn(c).toArray() as unknown[]]));
}

interface Ctx {
  files: File[];
  matrices: BackedMatrix[];
  maps: Int32Array[];
  offsets: number[];
  obs: Record<string, unknown[]>[];
  labels: Record<string, string[]>;
  joined: string[];
  layout: RowsLayout;
  parallel: number;
}

/** The file holding global row `g` (binary search over `offsets`). */
function fileOf(offsets: number[], g: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= g) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Batches of the global rows `batches[i]`, read together: each file's rows
 * of all of them in one read (one plan), then each batch assembled.
 */
async function readBatches(batches: ArrayLike<number>[], ctx: Ctx): Promise<Batch[]> {
  const byFile = new Map<number, number[]>();
  const wheres = batches.map((rows) => {
    const where: [number, number][] = [];
    for (let k = 0; k < rows.length; k++) {
      const g = rows[k];
      const fi = fileOf(ctx.offsets, g);
      const r = g - ctx.offsets[fi];
      where.push([fi, r]);
      (byFile.get(fi) ?? byFile.set(fi, []).get(fi)!).push(r);
    }
    return where;
  });
  const fileIdx = [...byFile.keys()];
  const sorted = fileIdx.map((fi) => Int32Array.from(new Set(byFile.get(fi)!)).sort());
  const parts: MappedPart[] = await pool(fileIdx, ctx.parallel, async (fi, k) => ({
    m: await guard(ctx.files[fi], () => ctx.matrices[fi].get(sorted[k])),
    cols: ctx.maps[fi],
  }));
  const partOf = new Map(fileIdx.map((fi, k) => [fi, k]));
  return wheres.map((where, i) => {
    const picks = where.map(([fi, r]) => {
      const k = partOf.get(fi)!;
      return [k, binarySearch(sorted[k], r)];
    });
    const obs: Record<string, unknown[]> = {};
    for (const col of Object.keys(ctx.obs[0] ?? {})) {
      obs[col] = where.map(([fi, r]) => ctx.obs[fi][col][r]);
    }
    return {
      X: assembleRows(parts, ctx.joined.length, picks, ctx.layout),
      obs,
      labels: ctx.labels,
      fileIds: where.map(([fi]) => ctx.files[fi].id),
      index: Array.from(batches[i]),
      varNames: ctx.joined,
    };
  });
}

function binarySearch(a: Int32Array, v: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
