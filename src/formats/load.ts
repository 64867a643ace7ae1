import {
  NoInMemoryRepresentationError,
  UnsupportedFormatError,
  ValidationError,
} from "../errors.ts";
import { codecForSuffix, codecs, loadableSuffixes } from "./codecs.ts";
import type { OnProgress } from "../storage/_progress.ts";
import { AnnData } from "./anndata/anndata.ts";
import { MuData } from "./anndata/mudata.ts";
import { type DataFrame, isDataFrame } from "./tables.ts";
import { type ArrowTable, isArrowTable } from "./arrow.ts";
import { type ImageArray, isImageArray } from "./image.ts";
import { isZarrArray, type ZarrArray } from "./tensor.ts";

/** What `file.load({ as })` returns for each `as`. */
export interface LoadTypes {
  /** Tables (`.csv .tsv .parquet .ipc .feather .arrow`) as a polars DataFrame. */
  dataframe: DataFrame;
  /** Tables as an apache-arrow Table. */
  arrow: ArrowTable;
  /** `.h5ad` and AnnData `.zarr` stores. */
  anndata: AnnData;
  /** `.h5mu`. */
  mudata: MuData;
  /** `.png`, `.jpg`/`.jpeg`. */
  image: ImageArray;
  /** A zarr array store (`.zarr`) as a zarrita array. */
  array: ZarrArray;
}

/** A value of `load({ as })`: `"dataframe"`, `"arrow"`, `"anndata"`, `"mudata"`, `"image"`, `"array"`. */
export type LoadAs = keyof LoadTypes;

/**
 * What `file.load()` returns without `as`: one of the built-in in-memory
 * types (narrow it with `instanceof` or a type guard; a codec added with
 * `registerCodec` may return something else).
 */
export type LoadResult = LoadTypes[LoadAs];

/** Options of `file.load()`. */
export interface LoadOptions {
  /** Link the file as an input of the tracked run (default: `ln.settings.trackRunInputs`). */
  isRunInput?: boolean;
  /**
   * The type to load as (and to type the result as): a file that does not
   * load as that is refused with `UnsupportedFormatError`. For tables,
   * `"arrow"` gives an apache-arrow Table instead of a polars DataFrame.
   */
  as?: LoadAs;
  /** Told the progress of downloading a remote object into the cache (phase `"download"`). */
  onProgress?: OnProgress;
}

/** Each `as`: how to recognize the value, and what loads as it (for messages). */
const KINDS: Record<LoadAs, { is: (x: unknown) => boolean; what: string }> = {
  dataframe: { is: isDataFrame, what: "tables" },
  arrow: { is: isArrowTable, what: "tables" },
  anndata: { is: (x) => x instanceof AnnData, what: "AnnData files" },
  mudata: { is: (x) => x instanceof MuData, what: "MuData files" },
  image: { is: isImageArray, what: "images" },
  array: { is: isZarrArray, what: "zarr array stores" },
};

/** The codecs whose files load as `as` (by default or through `readAs`). */
const CODECS_OF: Record<LoadAs, readonly string[]> = {
  dataframe: ["table"],
  arrow: ["table"],
  anndata: ["anndata_h5ad", "anndata_zarr"],
  mudata: ["mudata"],
  image: ["image"],
  array: ["anndata_zarr"],
};

/**
 * Load the local file or folder at `path` through the codec of `suffix`.
 * Unknown suffix: `UnsupportedFormatError`; a known format without an
 * in-memory form: `NoInMemoryRepresentationError`; both point to
 * `path()` / `stage()`.
 */
export async function loadObject(path: string, suffix: string, as?: string): Promise<unknown> {
  if (as !== undefined && typeof as !== "string") {
    throw new ValidationError(`load({ as }) takes a string such as "arrow", got ${typeof as}`);
  }
  const codec = codecForSuffix(suffix);
  const kind = as !== undefined && Object.hasOwn(KINDS, as) ? KINDS[as as LoadAs] : undefined;
  const able = (c: typeof codec) =>
    !!c && (c.readAs?.includes(as!) || (kind !== undefined && CODECS_OF[as as LoadAs]
      .includes(c.name)));
  if (as !== undefined && !able(codec)) {
    const can = codecs().filter((c) => c.read && able(c));
    if (!can.length) {
      const known = [
        ...new Set([...Object.keys(KINDS), ...codecs().flatMap((c) => c.readAs ?? [])]),
      ];
      throw new ValidationError(
        `load({ as }) takes ${known.map((a) => `"${a}"`).join(", ")}; got ${JSON.stringify(as)}`,
      );
    }
    const suffixes = [...new Set(can.flatMap((c) => c.suffixes))].join(" ");
    throw new UnsupportedFormatError(
      `cannot load "${path}" as "${as}": only ${kind?.what ?? "some files"} (${suffixes}) can; ${
        !codec
          ? `${suffix || "a file without suffix"} is not a supported format`
          : codec.read
          ? `${suffix} files load as ${codec.noun}`
          : `${suffix} files have no in-memory representation`
      }`,
    );
  }
  if (!codec) {
    throw new UnsupportedFormatError(
      `cannot load "${path}": ${
        suffix ? `the suffix ${suffix} is` : "a file without suffix is"
      } not a supported format; load() reads ${
        loadableSuffixes().join(" ")
      }; for anything else use file.path() or file.stage()`,
    );
  }
  if (!codec.read) {
    throw new NoInMemoryRepresentationError(
      `cannot load "${path}": ${suffix} files have no in-memory representation; ` +
        `use file.path() or file.stage()`,
    );
  }
  const value = await codec.read(path, {
    suffix: suffix.toLowerCase(),
    as: codec.readAs?.includes(as!) ? as : undefined,
  });
  if (kind && !kind.is(value)) {
    throw new UnsupportedFormatError(
      `cannot load "${path}" as "${as}": it holds ${describe(value)}, not one of ${kind.what}; ` +
        `load it without as, or as what it holds`,
    );
  }
  return value;
}

function describe(x: unknown): string {
  if (x instanceof AnnData) return "an AnnData";
  if (isZarrArray(x)) return "a zarr array";
  return `a ${(x as object)?.constructor?.name ?? typeof x}`;
}
