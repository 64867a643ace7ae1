// The dtype numpy gives arrays of several dtypes stacked together
// (`np.result_type`, numpy 1.x, as `np.concatenate` and scipy's `vstack`
// use it): the smallest dtype that holds every value of each.
import type { Dtype } from "./matrix.ts";

type Kind = "b" | "u" | "i" | "f";

function kindBits(d: Dtype): [Kind, number] {
  if (d === "bool") return ["b", 8];
  const bits = Number(d.replace(/\D+/g, ""));
  return [d.startsWith("float") ? "f" : d.startsWith("uint") ? "u" : "i", bits];
}

function named(kind: Kind, bits: number): Dtype {
  return `${kind === "f" ? "float" : kind === "u" ? "uint" : "int"}${bits}` as Dtype;
}

/** `np.promote_types(a, b)` for the dtypes lamindeno has. */
function promote(a: Dtype, b: Dtype): Dtype {
  if (a === b) return a;
  const [ka, ba] = kindBits(a), [kb, bb] = kindBits(b);
  if (ka === "b") return b;
  if (kb === "b") return a;
  if (ka === kb) return named(ka, Math.max(ba, bb));
  if (ka === "f" || kb === "f") {
    // A float that holds every integer of the other: float32 for 8 and 16 bits.
    const [fb, ib] = ka === "f" ? [ba, bb] : [bb, ba];
    return named("f", Math.max(fb, ib <= 16 ? 32 : 64));
  }
  // Signed and unsigned: a signed integer wider than the unsigned one.
  const [ub, sb] = ka === "u" ? [ba, bb] : [bb, ba];
  return ub >= 64 ? "float64" : named("i", Math.max(sb, 2 * ub));
}

/** The dtype of the stacked values of `dtypes` (numpy's `result_type`); float64 when empty. */
export function resultDtype(dtypes: Iterable<Dtype>): Dtype {
  let out: Dtype | undefined;
  for (const d of dtypes) out = out === undefined ? d : promote(out, d);
  return out ?? "float64";
}
