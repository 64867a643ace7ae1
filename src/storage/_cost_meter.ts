// The cost model of a remote backend instance: the one given in its
// options, else measured once on the first object big enough to time.
import { log } from "../_log.ts";
import { ValidationError } from "../errors.ts";
import { COST_MODEL_SHAPE, isCostModel } from "./_args.ts";
import { type CostModel, describeCostModel, measureCostModel, REMOTE_COST } from "./cost_model.ts";

/** Reads needed to measure: size and byte ranges of an object. */
interface Readable {
  readonly root: string;
  head(key: string): Promise<{ size: number } | undefined>;
  getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined>;
}

/** A backend's cost model, measured at most once (concurrent callers share the measurement). */
export function costMeter(
  backend: Readable,
  given?: CostModel,
): (key: string) => Promise<CostModel> {
  if (given !== undefined) {
    if (!isCostModel(given)) {
      throw new ValidationError(
        `${backend.root}: costModel is ${COST_MODEL_SHAPE}; omit it to have it measured`,
      );
    }
  }
  let measured: Promise<CostModel | undefined> | undefined;
  return async (key) => {
    if (given) return given;
    if (!measured) {
      const attempt = (async () => {
        const size = (await backend.head(key))?.size ?? 0;
        const m = await measureCostModel((o, n) => backend.getRange(key, o, n), size);
        // (A model describeCostModel refuses, e.g. an infinite bandwidth, is still kept.)
        if (m) log.debug(`${backend.root}: measured ${safeDescribe(m)}`);
        return m;
      })().catch((e) => {
        log.debug(`${backend.root}: could not measure request costs (${(e as Error).message})`);
        return undefined;
      });
      measured = attempt;
      // Too small to time (or failed): not kept, so a later, bigger object measures.
      if (!(await attempt)) measured = undefined;
      return (await attempt) ?? REMOTE_COST;
    }
    return (await measured) ?? REMOTE_COST;
  };
}

function safeDescribe(m: CostModel): string {
  try {
    return describeCostModel(m);
  } catch {
    return JSON.stringify(m);
  }
}
