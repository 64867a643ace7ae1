# The reference side of bench/layouts.ts: anndata backed mode
# (read_h5ad(p, backed="r")[mask].to_memory(), then the var subset in
# memory: h5py takes one fancy index a read), or for .zarr, which anndata
# 0.8 cannot open backed, read_zarr(p)[mask, vmask]; then read_h5ad /
# read_zarr whole. Best of `reps`, in seconds, as JSON.
#   python3 _layouts_ref.py <path> <reps> [query,query,...]
import json, sys, time
import anndata as ad

path, reps = sys.argv[1], int(sys.argv[2])
zarr = path.endswith(".zarr")
QUERIES = {
    "scattered 10%": ("qc_score", 0.1, None),
    "grouped 10%": ("donor", "D0001", None),
    "scattered 10% +var": ("qc_score", 0.1, "highly_variable"),
    "scattered 50%": ("qc_score", 0.5, None),
}
if len(sys.argv) > 3:
    QUERIES = {q: QUERIES[q] for q in sys.argv[3].split(",")}
out = {}
for name, (col, v, var) in QUERIES.items():
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a = ad.read_zarr(path) if zarr else ad.read_h5ad(path, backed="r")
        c = a.obs[col]
        mask = (c < v).values if isinstance(v, float) else (c == v).values
        vmask = a.var[var].values if var else slice(None)
        b = a[mask, vmask].copy() if zarr else a[mask].to_memory()[:, vmask].copy()
        best = min(best, time.perf_counter() - t)
        if not zarr:
            a.file.close()
    out[name] = best
best = float("inf")
for _ in range(reps):
    t = time.perf_counter()
    (ad.read_zarr if zarr else ad.read_h5ad)(path)
    best = min(best, time.perf_counter() - t)
out["whole load"] = best
print(json.dumps(out))
