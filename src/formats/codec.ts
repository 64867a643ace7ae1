// What a format family declares: the suffixes it loads, the in-memory data
// it saves and as which formats, and optionally range reads for streaming.
import type { StorageBackend } from "../storage/storage.ts";
import type { ElementStore } from "./anndata/_store.ts";
import type { RangeArray } from "./ranges.ts";

/** What `write`/`encode` are told: the format picked from the `format` option or key suffix. */
export interface WriteOptions {
  /** One of the codec's `formats` keys. */
  format: string;
}

/** What `read` is told. */
export interface ReadOptions {
  /** The file's suffix (lower case), one of the codec's `suffixes`. */
  suffix: string;
  /** Another in-memory form asked with `load({ as })`, one of the codec's `readAs`. */
  as?: string;
}

/** Where `openRanges` reads from, and how to name it in messages. */
export interface OpenRangesOptions {
  /** How messages name the file (its path or URI). */
  label: string;
  /** The instance's cache folder, for a fallback that needs a local copy. */
  cacheDir?: string;
}

/** A stored file opened for range reads: its element tree and arrays read by row ranges. */
export interface RangeReader {
  /** The element tree (attributes, small arrays read whole). */
  store: ElementStore;
  /** The array at `path`, readable by ranges of its first dimension. */
  array(path: string): Promise<RangeArray>;
  /** Release file handles. */
  close(): void;
  /** Bytes and requests read outside the storage backend (a local file read directly). */
  stats?: () => { bytesRead: number; requests: number } | undefined;
}

/**
 * A format family: everything lamindeno knows about it, in one object.
 * The table in `codecs.ts` lists them; `load()`, `save()` and `stream()`
 * dispatch through that table only.
 *
 * - `suffixes`: what `load()` hands to this codec (lower case, with the dot;
 *   each suffix belongs to one codec). A codec with suffixes but no `read`
 *   names known formats without an in-memory form.
 * - `accepts` + `formats` + `write` (or `encode`): in-memory data it saves.
 *   `formats` maps each `format` option value to its suffixes (the first is
 *   the one a saved file gets); the first format is the default.
 *
 * @example A codec for text files as lines
 * ```ts
 * import { defineCodec } from "./codec.ts";
 * const lines = defineCodec<string[]>({
 *   name: "lines",
 *   noun: "a string[]",
 *   suffixes: [".lines"],
 *   formats: { lines: [".lines"] },
 *   accepts: (x): x is string[] => Array.isArray(x) && x.every((s) => typeof s === "string"),
 *   encode: (data) => Promise.resolve(new TextEncoder().encode(data.join("\n"))),
 *   read: async (path) => (await Deno.readTextFile(path)).split("\n"),
 * });
 * console.assert(lines.accepts!(["a"]) && !lines.accepts!([1]));
 * ```
 */
export interface Codec<T = unknown> {
  /** The family's name (messages, temp folders), e.g. `"table"`. */
  readonly name: string;
  /** What it holds in memory, for messages: `"a DataFrame"`. */
  readonly noun: string;
  /** Suffixes `load()` dispatches here (lower case, with the dot). */
  readonly suffixes: readonly string[];
  /** For saving: `format` option values -> suffixes; the first format is the default. */
  readonly formats?: Readonly<Record<string, readonly string[]>>;
  /** True for in-memory data this codec saves. */
  accepts?(data: unknown): data is T;
  /** Check accepted data when a File is made (sync, no I/O); throws `ValidationError`. */
  check?(data: T): void;
  /** Serialize to bytes (single-file formats); preferred over `write` when saving. */
  encode?(data: T, options: WriteOptions): Promise<Uint8Array>;
  /** Write to `path` (a file, or a folder for stores); nothing is at `path` before. */
  write?(data: T, path: string, options: WriteOptions): Promise<void>;
  /** Read a local file or folder into its in-memory form. */
  read?(path: string, options: ReadOptions): Promise<unknown>;
  /** Other in-memory forms `read` gives with `load({ as })`. */
  readonly readAs?: readonly string[];
  /** Open a stored object for range reads (`file.stream()`, `file.backed()`). */
  openRanges?(
    backend: StorageBackend,
    key: string,
    options: OpenRangesOptions,
  ): Promise<RangeReader>;
}

/**
 * Type a codec's functions by the data it accepts, then erase that type so
 * codecs of different data sit in one table (`accepts` guards the rest).
 *
 * @example
 * ```ts
 * import { defineCodec } from "./codec.ts";
 * const none = defineCodec({ name: "bed", noun: "nothing", suffixes: [".bed"] });
 * console.assert(none.read === undefined);
 * ```
 */
export function defineCodec<T>(codec: Codec<T>): Codec {
  return codec as unknown as Codec;
}
