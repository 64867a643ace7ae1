import type { Run } from "../registry/run.ts";
import type { Transform } from "../registry/transform.ts";

/**
 * The run and transform being tracked in this process, or `undefined`.
 * While a run is set, `load/stage/...` link files as its inputs and
 * `save()` sets `file.run`.
 *
 * @example Nothing is tracked at first
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * console.assert(ln.context.run === undefined);
 * ```
 */
export const context: { run: Run | undefined; transform: Transform | undefined } = {
  run: undefined,
  transform: undefined,
};
