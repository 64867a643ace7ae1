// The codec table: every format lamindeno knows, one codec per family. Save,
// load and stream dispatch through it; adding a format is its codec file plus
// one line in CODECS (or one `registerCodec` call).
import { UnsupportedFormatError, ValidationError } from "../errors.ts";
import type { Codec } from "./codec.ts";
import { table } from "./codecs/table.ts";
import { arrow } from "./codecs/arrow.ts";
import { h5ad } from "./codecs/anndata_h5ad.ts";
import { anndataZarr } from "./codecs/anndata_zarr.ts";
import { mudata } from "./codecs/mudata.ts";
import { image } from "./codecs/image.ts";
import { tensor } from "./codecs/tensor.ts";
import { noMemory } from "./codecs/no_memory.ts";

/**
 * The built-in codecs. For in-memory data the first codec that accepts it
 * (and has the asked format) saves it, so `h5ad` before `anndataZarr` makes
 * h5ad an AnnData's default.
 *
 * @example
 * ```ts
 * import { CODECS } from "./codecs.ts";
 * console.assert(CODECS.some((c) => c.suffixes.includes(".h5ad")));
 * ```
 */
export const CODECS = [table, arrow, h5ad, anndataZarr, mudata, image, tensor, noMemory] as const;

/** Codecs added with registerCodec, after the built-in ones. */
const registered: Codec[] = [];

/** All codecs, built-in first. */
export function codecs(): readonly Codec[] {
  return registered.length ? [...CODECS, ...registered] : CODECS;
}

/** Refuse a codec that contradicts itself or claims a suffix another codec has. */
function checkCodec(codec: Codec, others: readonly Codec[]): void {
  const bad = (what: string) => {
    throw new ValidationError(`codec "${codec.name}": ${what}`);
  };
  for (const s of codec.suffixes) {
    if (!/^\.[a-z0-9][a-z0-9.]*$/.test(s)) bad(`suffix "${s}" is not lower case with a dot`);
    const owner = others.find((c) => c.suffixes.includes(s));
    if (owner) bad(`suffix ${s} already belongs to codec "${owner.name}"`);
  }
  if (others.some((c) => c.name === codec.name)) bad("a codec of that name exists");
  if (codec.accepts) {
    const formats = Object.entries(codec.formats ?? {});
    if (!formats.length) bad("accepts data but declares no formats");
    if (formats.some(([, suffixes]) => !suffixes.length)) bad("a format without a suffix");
    if (!codec.encode && !codec.write) bad("accepts data but has neither encode nor write");
  }
}

/**
 * Add a codec to the table (load, save and stream then dispatch to it);
 * disposing the result removes it again. Its suffixes must be new.
 *
 * @example
 * ```ts
 * import { defineCodec } from "./codec.ts";
 * import { codecForSuffix, registerCodec } from "./codecs.ts";
 * {
 *   using _ = registerCodec(defineCodec({ name: "bed12", noun: "nothing", suffixes: [".bed12"] }));
 *   console.assert(codecForSuffix(".BED12")?.name === "bed12");
 * }
 * console.assert(codecForSuffix(".bed12") === undefined);
 * ```
 */
export function registerCodec(codec: Codec): Disposable {
  checkCodec(codec, codecs());
  registered.push(codec);
  return {
    [Symbol.dispose]() {
      const i = registered.indexOf(codec);
      if (i >= 0) registered.splice(i, 1);
    },
  };
}

/**
 * The codec that loads files with `suffix` (any case), or undefined for a
 * suffix no codec knows.
 *
 * @example
 * ```ts
 * import { codecForSuffix } from "./codecs.ts";
 * console.assert(codecForSuffix(".CSV")?.name === "table");
 * console.assert(codecForSuffix(".xyz") === undefined);
 * ```
 */
export function codecForSuffix(suffix: string): Codec | undefined {
  const s = suffix.toLowerCase();
  return codecs().find((c) => c.suffixes.includes(s));
}

/** How in-memory data is saved: its codec, the format, and the suffix the file gets. */
export interface Encoding {
  /** The codec that writes it. */
  codec: Codec;
  /** A key of the codec's `formats`. */
  format: string;
  /** The saved file's suffix (the key's, else the format's first). */
  suffix: string;
}

/** `format` (e.g. `"jpeg"` or `"jpg"`) as a key of one of `cands`' formats. */
function findFormat(cands: readonly Codec[], f: string) {
  for (const codec of cands) {
    for (const [format, suffixes] of Object.entries(codec.formats ?? {})) {
      if (format === f || suffixes.includes(`.${f}`)) return { codec, format, suffixes };
    }
  }
  return undefined;
}

/**
 * How to save in-memory `data`: the first codec that accepts it, in the
 * `format` asked (or the key suffix's, or the codec's default), checked
 * against `keySuffix`. Undefined when no codec accepts the data. An unknown
 * format: `UnsupportedFormatError` listing the formats; a key suffix that
 * contradicts the format: `ValidationError`.
 *
 * @example
 * ```ts
 * import { codecForData } from "./codecs.ts";
 * const img = { data: new Uint8Array(3), shape: [1, 1, 3] };
 * console.assert(codecForData(img)?.suffix === ".png");
 * console.assert(codecForData(img, undefined, ".jpeg")?.format === "jpg");
 * console.assert(codecForData("not data") === undefined);
 * ```
 */
export function codecForData(
  data: unknown,
  format?: string,
  keySuffix = "",
): Encoding | undefined {
  const cands = codecs().filter((c) => c.accepts?.(data));
  if (!cands.length) return undefined;
  const noun = cands[0].noun;
  const key = keySuffix.toLowerCase();
  const all = () =>
    cands.flatMap((c) => Object.keys(c.formats ?? {})).filter((f, i, a) => a.indexOf(f) === i);
  let found;
  if (format !== undefined) {
    found = findFormat(cands, String(format).toLowerCase());
    if (!found) {
      throw new UnsupportedFormatError(
        `cannot save ${noun} as "${format}"; formats: ${all().join(", ")}`,
      );
    }
    if (key && !found.suffixes.includes(key)) {
      throw new ValidationError(
        `key suffix ${keySuffix} does not match format "${found.format}"; make them agree`,
      );
    }
  } else if (key) {
    found = findFormat(cands, key.slice(1));
    if (!found || !found.suffixes.includes(key)) {
      throw new UnsupportedFormatError(
        `cannot save ${noun} with key suffix ${keySuffix}; formats: ${all().join(", ")}`,
      );
    }
  } else {
    const [f, suffixes] = Object.entries(cands[0].formats!)[0];
    found = { codec: cands[0], format: f, suffixes };
  }
  found.codec.check?.(data);
  return { codec: found.codec, format: found.format, suffix: key || found.suffixes[0] };
}

/** Suffixes that `load()` reads into memory, for messages. */
export function loadableSuffixes(): string[] {
  return codecs().filter((c) => c.read).flatMap((c) => c.suffixes);
}

/** Suffixes that can be streamed (range reads), for messages. */
export function streamableSuffixes(): string[] {
  return codecs().filter((c) => c.openRanges).flatMap((c) => c.suffixes);
}
