import {
  NoInMemoryRepresentationError,
  UnsupportedFormatError,
  ValidationError,
} from "../errors.ts";
import { codecForSuffix, codecs, loadableSuffixes } from "./codecs.ts";

/** Options of `file.load()`. */
export interface LoadOptions {
  /** Link the file as an input of the tracked run (default: `ln.settings.trackRunInputs`). */
  isRunInput?: boolean;
  /** For tables: `"arrow"` returns an apache-arrow `Table` instead of a polars DataFrame. */
  as?: "arrow";
}

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
  if (as !== undefined && !codec?.readAs?.includes(as)) {
    const can = codecs().filter((c) => c.read && c.readAs?.includes(as));
    if (!can.length) {
      const known = [...new Set(codecs().flatMap((c) => c.readAs ?? []))];
      throw new ValidationError(
        `load({ as }) takes ${known.map((a) => `"${a}"`).join(" or ")}, got ${JSON.stringify(as)}`,
      );
    }
    throw new UnsupportedFormatError(
      `cannot load "${path}" as "${as}": only ${
        can.map((c) => `${c.name}s (${c.suffixes.join(" ")})`).join(", ")
      } can; ${
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
  return await codec.read(path, { suffix: suffix.toLowerCase(), as });
}
