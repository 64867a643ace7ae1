// The dataset at a path of an open HDF5 file (a failed assertion otherwise).
import { assert } from "../../_helpers.ts";
import { H5Dataset, type H5File } from "../../../src/formats/hdf5/h5file.ts";

/** The dataset at `p` of `f`. */
export async function ds(f: H5File, p: string): Promise<H5Dataset> {
  const node = await f.get(p);
  assert(node instanceof H5Dataset, `${p} is a dataset`);
  return node;
}
