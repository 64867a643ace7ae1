/**
 * Typed errors. Every error the library throws on purpose extends
 * {@linkcode LaminError} and has a stable `name`, so callers can branch on
 * `err.name` or `instanceof`.
 *
 * @module
 */

/**
 * Base class of every error lamindeno throws on purpose.
 *
 * @example Branch on the kind of error
 * ```ts
 * import { LaminError, NotFoundError } from "@lamindeno/lamindb";
 * const err: Error = new NotFoundError("no file with id abc");
 * console.assert(err instanceof LaminError && err.name === "NotFoundError");
 * ```
 */
export class LaminError extends Error {
  /** Create an error; `cause` keeps the underlying error, if any. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The API was used before `ln.init()` (or after `ln.close()`).
 *
 * @example
 * ```ts
 * import { NotInitializedError } from "@lamindeno/lamindb";
 * console.assert(new NotInitializedError("x").name === "NotInitializedError");
 * ```
 */
export class NotInitializedError extends LaminError {}

/**
 * A record, path or object that was asked for does not exist.
 *
 * @example
 * ```ts
 * import { NotFoundError } from "@lamindeno/lamindb";
 * console.assert(new NotFoundError("x").name === "NotFoundError");
 * ```
 */
export class NotFoundError extends LaminError {}

/**
 * `get()` matched more than one record.
 *
 * @example
 * ```ts
 * import { MultipleResultsError } from "@lamindeno/lamindb";
 * console.assert(new MultipleResultsError("x").name === "MultipleResultsError");
 * ```
 */
export class MultipleResultsError extends LaminError {}

/**
 * A storage key is not a relative POSIX path inside the storage root.
 *
 * @example
 * ```ts
 * import { InvalidKeyError } from "@lamindeno/lamindb";
 * console.assert(new InvalidKeyError("x").name === "InvalidKeyError");
 * ```
 */
export class InvalidKeyError extends LaminError {}

/**
 * The file has no in-memory representation (e.g. `.fastq`); use
 * `file.path()` or `file.stage()` instead of `load()`.
 *
 * @example
 * ```ts
 * import { NoInMemoryRepresentationError } from "@lamindeno/lamindb";
 * const e = new NoInMemoryRepresentationError("x");
 * console.assert(e.name === "NoInMemoryRepresentationError");
 * ```
 */
export class NoInMemoryRepresentationError extends LaminError {}

/**
 * A suffix or format that lamindeno cannot read or write. It extends
 * {@linkcode NoInMemoryRepresentationError}: a file of an unknown format
 * has no in-memory representation either.
 *
 * @example
 * ```ts
 * import { NoInMemoryRepresentationError, UnsupportedFormatError } from "@lamindeno/lamindb";
 * const e = new UnsupportedFormatError("x");
 * console.assert(e.name === "UnsupportedFormatError" && e instanceof NoInMemoryRepresentationError);
 * ```
 */
export class UnsupportedFormatError extends NoInMemoryRepresentationError {}

/**
 * A query names a column that does not exist.
 *
 * @example
 * ```ts
 * import { ColumnNotFoundError } from "@lamindeno/lamindb";
 * console.assert(new ColumnNotFoundError("x").name === "ColumnNotFoundError");
 * ```
 */
export class ColumnNotFoundError extends LaminError {}

/**
 * A file's bytes are not what its format says they should be.
 *
 * @example
 * ```ts
 * import { CorruptFileError } from "@lamindeno/lamindb";
 * console.assert(new CorruptFileError("x").name === "CorruptFileError");
 * ```
 */
export class CorruptFileError extends LaminError {}

/**
 * Reading or writing the storage backend failed.
 *
 * @example
 * ```ts
 * import { StorageError } from "@lamindeno/lamindb";
 * console.assert(new StorageError("x").name === "StorageError");
 * ```
 */
export class StorageError extends LaminError {}

/**
 * The registry and the objects disagree, or an operation would break a
 * uniqueness rule (a key already taken, a hash that changed mid-copy).
 *
 * @example
 * ```ts
 * import { IntegrityError } from "@lamindeno/lamindb";
 * console.assert(new IntegrityError("x").name === "IntegrityError");
 * ```
 */
export class IntegrityError extends LaminError {}

/**
 * An argument has the wrong type or shape (an unknown field in a `where`,
 * an option of the wrong type). Extends the API.md list.
 *
 * @example
 * ```ts
 * import { ValidationError } from "@lamindeno/lamindb";
 * console.assert(new ValidationError("x").name === "ValidationError");
 * ```
 */
export class ValidationError extends LaminError {}

/**
 * The registry was written by a newer lamindeno whose schema this version
 * does not know. Nothing was changed; upgrade lamindeno. Extends the API.md
 * list.
 *
 * @example
 * ```ts
 * import { SchemaVersionError } from "@lamindeno/lamindb";
 * console.assert(new SchemaVersionError("x").name === "SchemaVersionError");
 * ```
 */
export class SchemaVersionError extends LaminError {}
