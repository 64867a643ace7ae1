// MuData: .h5mu <-> MuData.
import { defineCodec } from "../codec.ts";
import { MuData, readH5mu, writeH5mu } from "../anndata/mudata.ts";

/**
 * The MuData codec: `.h5mu` files load as `MuData`; a MuData saves as h5mu.
 *
 * @example
 * ```ts
 * import { mudata } from "./mudata.ts";
 * console.assert(mudata.suffixes[0] === ".h5mu");
 * ```
 */
export const mudata = defineCodec<MuData>({
  name: "mudata",
  noun: "a MuData",
  suffixes: [".h5mu"],
  formats: { h5mu: [".h5mu"] },
  accepts: (x): x is MuData => x instanceof MuData,
  write: (m, path) => writeH5mu(m, path),
  read: (path) => readH5mu(path),
});
