// BackedAnnData: an AnnData file opened without reading it; obs/var load on
// first use, X and layers read rows/columns on demand.
import type { AnnData } from "../formats/anndata/anndata.ts";
import { allocate, type Dtype, type Matrix } from "../formats/anndata/matrix.ts";
import { readDataFrame } from "../formats/anndata/_decode.ts";
import type { DataFrame } from "../formats/tables.ts";
import { ValidationError } from "../errors.ts";
import type { IoStats } from "../storage/counting.ts";
import { storedMatrix, streamAnnData } from "./stream.ts";
import type { RangeReader } from "../formats/codec.ts";
import { subsetMatrix } from "./subset.ts";
import type { Expression } from "./expr.ts";
import { showBacked } from "./_repr.ts";
import { asFloat64 } from "../formats/_int64.ts";

function indices(
  sel: ArrayLike<number> | undefined,
  n: number,
  what: string,
): Uint32Array | undefined {
  if (sel === undefined) return undefined;
  const out = Uint32Array.from(sel as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isInteger(sel[i]) || sel[i] < 0 || sel[i] >= n) {
      throw new ValidationError(`${what} index ${sel[i]} is out of range 0..${n - 1}`);
    }
    if (i > 0 && out[i] <= out[i - 1]) {
      throw new ValidationError(`${what} indices must be ascending and unique`);
    }
  }
  return out;
}

/** The most bytes of indptr (as 8-byte numbers) a BackedMatrix keeps. */
const INDPTR_KEPT = 64 << 20;

/** A matrix of a backed AnnData (X or a layer), read on demand. */
export class BackedMatrix {
  readonly #src: RangeReader;
  readonly #path: string;
  /** `[nObs, nVars]`. */
  readonly shape: [number, number];

  /** @internal */
  constructor(src: RangeReader, path: string, shape: [number, number]) {
    this.#src = src;
    this.#path = path;
    this.shape = shape;
  }

  /**
   * Rows and columns (ascending indices; all when omitted), reading only
   * what they need. A sparse matrix read again keeps its whole indptr
   * (up to 64 MiB of it) from the second read on, so each
   * later read plans its lines without a round trip for their indptr.
   */
  async get(rows?: ArrayLike<number>, cols?: ArrayLike<number>): Promise<Matrix> {
    const r = indices(rows, this.shape[0], "row"), c = indices(cols, this.shape[1], "column");
    const m = await storedMatrix(this.#src, this.#path);
    if (!m) throw new ValidationError(`no matrix at /${this.#path}`);
    if (m.kind === "csr" || m.kind === "csc") {
      const lines = m.kind === "csr" ? r : c;
      if (lines && this.#reads++ > 0 && m.indptr.shape[0] * 8 <= INDPTR_KEPT) {
        this.#indptr ??= m.indptr.readRanges([[0, m.indptr.shape[0]]]).then((v) =>
          v instanceof Int32Array ? v : asFloat64(v)
        );
        // A failed read is not kept: the next get tries again.
        const v = await this.#indptr.catch((e) => {
          this.#indptr = undefined;
          throw e;
        });
        return await subsetMatrix({ ...m, indptrValues: v }, r, c);
      }
    }
    return await subsetMatrix(m, r, c);
  }
  #reads = 0;
  #indptr?: Promise<Int32Array | Float64Array>;

  /**
   * @internal The bytes a row takes as stored, on average: its values (and
   * indices, when sparse), what a read of rows returns for each.
   */
  async rowBytes(): Promise<number> {
    const m = await storedMatrix(this.#src, this.#path);
    if (!m) return 0;
    const bytes = (a: { dtype: Dtype }) => allocate(a.dtype, 0).BYTES_PER_ELEMENT;
    if (m.kind === "dense") return this.shape[1] * bytes(m.values);
    const perRow = m.data.shape[0] / Math.max(1, this.shape[0]);
    return perRow * (bytes(m.data) + bytes(m.indices));
  }

  /**
   * @internal The stored dtype, and whether the matrix is sparse (CSR or
   * CSC), from its metadata (no values read).
   */
  async layout(): Promise<{ dtype: Dtype; sparse: boolean }> {
    const m = await storedMatrix(this.#src, this.#path);
    if (!m) throw new ValidationError(`no matrix at /${this.#path}`);
    return m.kind === "dense"
      ? { dtype: m.values.dtype, sparse: false }
      : { dtype: m.data.dtype, sparse: true };
  }

  /** The whole matrix in memory. */
  async toMemory(): Promise<Matrix> {
    return await this.get();
  }
}

/**
 * An `.h5ad` or `.zarr` AnnData opened lazily (`file.backed()`): nothing is
 * read until asked. `io` counts the bytes and requests so far.
 */
export class BackedAnnData {
  readonly #src: RangeReader;
  #obs?: Promise<{ df: DataFrame; index: string[] }>;
  #var?: Promise<{ df: DataFrame; index: string[] }>;
  /** `[nObs, nVars]`. */
  readonly shape: [number, number];
  /** X, when the file has one. */
  readonly X: BackedMatrix | undefined;
  /** The layers. */
  readonly layers: Record<string, BackedMatrix>;
  /** Bytes read and requests made so far (through the storage). */
  readonly io: Pick<IoStats, "bytesRead" | "requests">;

  /** @internal */
  constructor(
    src: RangeReader,
    shape: [number, number],
    hasX: boolean,
    layers: string[],
    io: Pick<IoStats, "bytesRead" | "requests">,
  ) {
    this.#src = src;
    this.shape = shape;
    this.X = hasX ? new BackedMatrix(src, "X", shape) : undefined;
    this.layers = Object.fromEntries(
      layers.map((l) => [l, new BackedMatrix(src, `layers/${l}`, shape)]),
    );
    this.io = io;
  }

  /** Number of observations. */
  get nObs(): number {
    return this.shape[0];
  }
  /** Number of variables. */
  get nVars(): number {
    return this.shape[1];
  }

  /** obs, read on first call. */
  async obs(): Promise<DataFrame> {
    this.#obs ??= readDataFrame(this.#src.store, "obs");
    return (await this.#obs).df;
  }
  /** var, read on first call. */
  async var(): Promise<DataFrame> {
    this.#var ??= readDataFrame(this.#src.store, "var");
    return (await this.#var).df;
  }
  /** Observation names. */
  async obsNames(): Promise<string[]> {
    this.#obs ??= readDataFrame(this.#src.store, "obs");
    return (await this.#obs).index;
  }
  /** Variable names. */
  async varNames(): Promise<string[]> {
    this.#var ??= readDataFrame(this.#src.store, "var");
    return (await this.#var).index;
  }

  /** The subset `subsetObs`/`subsetVar` select (as `file.stream()`), or everything. */
  async toMemory(
    options: { subsetObs?: Expression; subsetVar?: Expression } = {},
  ): Promise<AnnData> {
    return await streamAnnData(this.#src, {
      obs: options.subsetObs?.node,
      var: options.subsetVar?.node,
    });
  }

  /** Release the file. */
  close(): void {
    this.#src.close();
  }
}

showBacked(BackedAnnData, BackedMatrix);
