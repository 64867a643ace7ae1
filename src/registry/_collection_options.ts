// Checking the options of `collection.load()`, `stream()` and `mapped()`
// before anything is read or linked: only known keys, each of its type.
import { ValidationError } from "../errors.ts";
import type { Join } from "../formats/anndata/concat.ts";
import { Expression } from "../query/expr.ts";
import { checkKnownOptions, describeValue } from "../storage/_validate.ts";

/** The options `collection.load()` takes. */
export const LOAD_KEYS = ["join", "isRunInput"];
/** The options `collection.stream()` takes. */
export const STREAM_KEYS = [...LOAD_KEYS, "subsetObs", "subsetVar", "parallel"];
/** The options `collection.mapped()` takes. */
export const MAPPED_KEYS = [
  "batchSize",
  "shuffle",
  "seed",
  "blockSize",
  "obsColumns",
  "layer",
  "join",
  "worker",
  "workers",
  "dropLast",
  "parallel",
  "prefetch",
  "encodeLabels",
  "isRunInput",
  "io",
];

/** A ValidationError unless `options` is an object of `known` keys and its booleans are booleans. */
export function checkKeysAndFlags(
  options: unknown,
  known: readonly string[],
  call: string,
  flags: readonly string[],
): Record<string, unknown> {
  if (options === undefined || options === null) {
    throw new ValidationError(`${call}: options must be an object like { ${known.join(", ")} }`);
  }
  checkKnownOptions(call, options, known);
  const o = options as Record<string, unknown>;
  for (const f of flags) {
    if (o[f] !== undefined && typeof o[f] !== "boolean") {
      throw new ValidationError(`${call}: ${f} is true or false, got ${describeValue(o[f])}`);
    }
  }
  return o;
}

/** `join` checked: `"inner"` when omitted. */
export function checkJoin(join: unknown): Join {
  if (join === undefined) return "inner";
  if (join !== "inner" && join !== "outer") {
    throw new ValidationError(`join is "inner" or "outer", got ${describeValue(join)}`);
  }
  return join;
}

/** `parallel` checked: a whole number from 1 to 64, 4 when omitted. */
export function checkParallel(p: unknown): number {
  if (p === undefined) return 4;
  if (!Number.isSafeInteger(p) || (p as number) < 1 || (p as number) > 64) {
    throw new ValidationError(`parallel is a whole number from 1 to 64, got ${describeValue(p)}`);
  }
  return p as number;
}

/** A ValidationError unless each of `names` in `o` is an expression of `subsetter()` (or absent). */
export function checkExpressions(o: Record<string, unknown>, names: string[], call: string): void {
  for (const n of names) {
    if (o[n] !== undefined && !(o[n] instanceof Expression)) {
      throw new ValidationError(
        `${call}: ${n} is an expression from file.subsetter(), e.g. ` +
          `df.cell_type.eq("T cell"), got ${describeValue(o[n])}`,
      );
    }
  }
}
