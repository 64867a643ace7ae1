import { maybeDefaultInstance } from "../registry/instance.ts";
import type { Run } from "../registry/run.ts";
import type { Transform } from "../registry/transform.ts";

/** The shape of {@linkcode context}. */
export interface Context {
  /** The run being tracked in the default instance, or `undefined`. */
  readonly run: Run | undefined;
  /** Its transform, or `undefined`. */
  readonly transform: Transform | undefined;
}

/**
 * The run and transform being tracked in the default instance, or
 * `undefined` (a view of `instance.run`; `ln.track()` and `ln.finish()`
 * change it). While a run is set, `load/stage/...` link files as its inputs
 * and `save()` sets `file.run`.
 *
 * @example Nothing is tracked at first
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * console.assert(ln.context.run === undefined);
 * ```
 */
export const context: Context = {
  get run(): Run | undefined {
    return maybeDefaultInstance()?.run;
  },
  get transform(): Transform | undefined {
    return maybeDefaultInstance()?.transform;
  },
};
