/**
 * The zod schemas of `File`'s options (zod loads on first use): what
 * `file.stream()` and `file.backed()` check their options with, and
 * `FileOptionsSchema` for the constructor's (which checks by hand, being
 * synchronous). `parse` throws a `ValidationError` naming the field, what
 * was expected and what was got.
 *
 * @module
 */
import { showValue } from "../_display.ts";
import { ValidationError } from "../errors.ts";
import { checkKnownOptions, LazySchema } from "../storage/_validate.ts";
import { Expression } from "../query/expr.ts";
import type { OnProgress } from "../storage/_progress.ts";
import { Features } from "./features.ts";
import type { File, FileOptions } from "./file.ts";
import type { Projection } from "../query/projection.ts";
import type { IoStats } from "../storage/counting.ts";
import { Instance } from "./instance.ts";
import { Run } from "./run.ts";

/** Options of `file.replace()`. */
export interface ReplaceOptions {
  /** The run that made the new version. */
  run?: Run;
  /** Serialization format for in-memory data. */
  format?: string;
}

/** Options of `file.stream()`. */
export interface StreamOptions extends Projection {
  /** Which obs rows to read; all when omitted. */
  subsetObs?: Expression;
  /** Which var rows (columns of X) to read; all when omitted. */
  subsetVar?: Expression;
  /** Link the file as an input of the tracked run (default: `ln.settings.trackRunInputs`). */
  isRunInput?: boolean;
  /** Counters to add this call's bytes read and requests to. */
  io?: Pick<IoStats, "bytesRead" | "requests">;
  /** Told the bytes read (phase `"download"`); the last report's total is the bytes read. */
  onProgress?: OnProgress;
}

/** Options of `file.save()`. */
export interface SaveOptions {
  /**
   * Told the progress of hashing and of copying (local storage) or
   * uploading (S3), phase by phase; each phase ends with `done === total`.
   */
  onProgress?: OnProgress;
}

/** Options of `file.stage()`. */
export interface StageOptions {
  /** Link the file as an input of the tracked run (default: `ln.settings.trackRunInputs`). */
  isRunInput?: boolean;
  /** Told the progress of copying a remote object into the cache (phase `"stage"`). */
  onProgress?: OnProgress;
}

/**
 * A ValidationError unless `options` is a plain object of the options
 * `known` (default: `onProgress` alone), whose `onProgress` is a function
 * and `isRunInput` a boolean, when given.
 */
export function checkOptions(
  options: unknown,
  call: string,
  known: readonly string[] = ["onProgress"],
): void {
  checkKnownOptions(`file.${call}(options)`, options, known);
  const cb = (options as { onProgress?: unknown }).onProgress;
  if (cb !== undefined && typeof cb !== "function") {
    throw new ValidationError(
      `${call}({ onProgress }) takes a function ({ phase, done, total }) => void, got ${typeof cb}`,
    );
  }
  const isRunInput = (options as { isRunInput?: unknown }).isRunInput;
  if (isRunInput !== undefined && typeof isRunInput !== "boolean") {
    throw new ValidationError(
      `file.${call}({ isRunInput }) takes true or false, got ${showValue(isRunInput)}`,
    );
  }
}

/** Options of `file.batches()`: those of `file.stream()`, and the rows per batch. */
export interface BatchOptions extends StreamOptions {
  /** Rows per batch (a positive integer); the last batch may be smaller. */
  batchSize: number;
}

/** Options of `file.backed()` and `file.open()`. */
export interface BackedOptions {
  /** Link the file as an input of the tracked run (default: `ln.settings.trackRunInputs`). */
  isRunInput?: boolean;
}

/**
 * The zod schema of `FileOptions` (`new ln.File(data, options)`).
 *
 * @example
 * ```ts
 * import { FileOptionsSchema } from "@lamindeno/lamindb";
 * console.assert((await FileOptionsSchema.safeParse({ key: "a.csv", format: "csv" })).success);
 * const bad = await FileOptionsSchema.safeParse({ id: "short" });
 * console.assert(!bad.success && bad.error.message.includes("id"));
 * ```
 */
export const FileOptionsSchema: LazySchema<FileOptions> = new LazySchema(
  "new ln.File() options",
  (z) =>
    z.strictObject({
      key: z.string().min(1).optional(),
      name: z.string().optional(),
      description: z.string().optional(),
      run: z.instanceof(Run, { error: "a Run record" }).optional(),
      format: z.string({ error: 'a format like "csv"' }).min(1, 'a format like "csv"')
        .optional(),
      features: z.array(
        z.custom<Features>((v) => v instanceof Features, { error: "a Features record" }),
      ).optional(),
      id: z.string().regex(/^[0-9A-Za-z]{20}$/, "a File id of 20 base62 characters").optional(),
      inputOf: z.array(z.instanceof(Run, { error: "a Run record" })).optional(),
      instance: z.instanceof(Instance, { error: "an Instance from ln.connect()" }).optional(),
      // A saved File (checked by its shape: this module is below file.ts).
      revises: z.custom<File>(
        (v) => typeof v === "object" && v !== null && (v as { _saved?: unknown })._saved === true,
        { error: "a saved File record (the file to version)" },
      ).optional(),
      version: z.string().regex(
        /^\S(.{0,98}\S)?$/su,
        'a label of 1-100 characters without surrounding spaces, like "2"',
      ).optional(),
    }, { error: 'an object like { key: "data/a.csv" }' }),
);

const SUBSET = 'an expression from file.subsetter(), e.g. df.cell_type.eq("T cell")';

/**
 * The zod schema of `StreamOptions` (`file.stream(options)`).
 *
 * @example
 * ```ts
 * import { StreamOptionsSchema } from "@lamindeno/lamindb";
 * console.assert((await StreamOptionsSchema.safeParse({ isRunInput: false })).success);
 * const bad = await StreamOptionsSchema.safeParse({ subsetObs: "cell_type == 'T'" });
 * console.assert(!bad.success && bad.error.message.includes("subsetter"));
 * ```
 */
export const StreamOptionsSchema: LazySchema<StreamOptions> = new LazySchema(
  "file.stream() options",
  (z) => z.strictObject(streamShape(z), { error: "an object like { subsetObs, subsetVar }" }),
);

const NAMES = "an array of names, or false for none";

/** The fields of `file.stream()`'s options (also `file.batches()`'s). */
function streamShape(z: typeof import("zod")) {
  const names = z.array(z.string(), { error: "an array of names" }).optional();
  const namesOrNone = z.union([z.array(z.string()), z.literal(false)], { error: NAMES })
    .optional();
  return {
    subsetObs: z.instanceof(Expression, { error: SUBSET }).optional(),
    subsetVar: z.instanceof(Expression, { error: SUBSET }).optional(),
    obsColumns: names,
    varColumns: names,
    layers: namesOrNone,
    obsm: namesOrNone,
    X: z.boolean({ error: "true or false" }).optional(),
    raw: z.boolean({ error: "true or false" }).optional(),
    isRunInput: z.boolean().optional(),
    onProgress: z.custom<OnProgress>((v) => typeof v === "function", {
      error: "a function ({ phase, done, total }) => void",
    }).optional(),
    io: z.custom<StreamOptions["io"]>(
      (v) =>
        typeof v === "object" && v !== null &&
        typeof (v as Record<string, unknown>).bytesRead === "number" &&
        typeof (v as Record<string, unknown>).requests === "number",
      { error: "counters { bytesRead, requests }" },
    ).optional(),
  };
}

/**
 * The zod schema of {@linkcode BatchOptions} (`file.batches(options)`).
 *
 * @example
 * ```ts
 * import { BatchOptionsSchema } from "@lamindeno/lamindb";
 * console.assert((await BatchOptionsSchema.safeParse({ batchSize: 100, X: false })).success);
 * console.assert(!(await BatchOptionsSchema.safeParse({ batchSize: 0 })).success);
 * ```
 */
export const BatchOptionsSchema: LazySchema<BatchOptions> = new LazySchema(
  "file.batches() options",
  (z) =>
    z.strictObject({
      ...streamShape(z),
      batchSize: z.number().int().positive({ error: "a positive integer (rows per batch)" }),
    }, { error: "an object like { subsetObs, batchSize: 10000 }" }),
);

/**
 * The zod schema of {@linkcode BackedOptions} (`file.backed(options)`).
 *
 * @example
 * ```ts
 * import { BackedOptionsSchema } from "@lamindeno/lamindb";
 * console.assert(!(await BackedOptionsSchema.safeParse({ isRunInput: "no" })).success);
 * ```
 */
export const BackedOptionsSchema: LazySchema<BackedOptions> = new LazySchema(
  "file.backed() options",
  (z) =>
    z.strictObject({ isRunInput: z.boolean().optional() }, {
      error: "an object like { isRunInput: false }",
    }),
);
