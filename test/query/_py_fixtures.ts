// The stream-test AnnData fixtures written once per test process by Python
// anndata (csr/csc/dense x h5ad/h5ad-gzip/zarr, 60 x 25, with obs/var
// columns, a layer, obsm, obsp and uns).
import { tempDir } from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";

/** Test options that skip when Python's anndata stack is missing. */
export const py = needsPython("streaming", "anndata", "h5py", "scipy", "pandas", "zarr");

const SCRIPT = new URL("./_stream_fixture.py", import.meta.url).pathname;
let fixtures: Promise<string> | undefined;

/** The folder holding the fixtures (written on first call). */
export function pyFixtures(): Promise<string> {
  fixtures ??= (async () => {
    const dir = await tempDir("lamindeno-stream-");
    await python(await Deno.readTextFile(SCRIPT), "write", dir);
    return dir;
  })();
  return fixtures;
}
