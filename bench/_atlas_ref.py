# The reference side of bench/atlas.ts, timed in-process (best of `reps`):
#   python3 _atlas_ref.py <path> <queries json> <reps>
# For each query {obs, var}: anndata backed mode
# (read_h5ad(p, backed="r")[mask, vmask].to_memory(); for .zarr, which anndata
# 0.8 cannot open backed, read_zarr(p)[mask, vmask]), the rows selected, and
# per query the bytes "needed" and the bytes of a "time-optimal plan":
#   needed   = the selected rows' data+indices elements and indptr entries of
#              X and layers, the selected rows of obsm, plus obs/var whole.
#   optimal  = uncompressed: the selected element ranges of every array, a gap
#              of up to 16 KiB read through (a local pread costs ~4 us, 16 KiB
#              of page cache ~4 us), plus obs/var whole; chunked+compressed
#              (gzip h5ad, zarr): every chunk the selection touches, once, at
#              its stored size, plus obs/var whole.
# Then a whole load (read_h5ad / read_zarr), best of `reps` and the first.
import gc
import json
import os
import sys
import time

import fsspec  # noqa: F401  (before zarr: zarr 2 reads fsspec.FSMap lazily)
import anndata as ad
import numpy as np

path, queries, reps = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
COLD_WAIT = float(os.environ.get("COLD_WAIT", "3"))  # seconds before the whole loads
GAP = 16 * 1024
is_zarr = path.endswith(".zarr")

if is_zarr:
    import zarr
    root = zarr.open(path, "r")
else:
    import h5py
    root = h5py.File(path, "r")


def stored_size(ds):
    if is_zarr:
        return ds.nbytes_stored
    n = ds.id.get_storage_size()
    if h5py.check_string_dtype(ds.dtype) and ds.dtype.kind == "O":
        n += sum(16 + (len(s) + 7) // 8 * 8 for s in ds[()].ravel())
    return n


def whole_group(name):
    total = 0
    def add(_, obj):
        nonlocal total
        if (is_zarr and isinstance(obj, zarr.Array)) or (not is_zarr and isinstance(obj, h5py.Dataset)):
            total += stored_size(obj)
    root[name].visititems(add)
    return total


AXES = whole_group("obs") + whole_group("var")


def chunk_sizes(ds):
    """(first row, stored bytes) of every chunk along axis 0 (whole rows of chunks summed)."""
    if is_zarr:
        step = ds.chunks[0]
        n = -(-ds.shape[0] // step)
        per_row = np.zeros(n)
        base = os.path.join(path, ds.path)
        for f in os.listdir(base):
            if f.startswith("."):
                continue
            per_row[int(f.split(".")[0])] += os.path.getsize(os.path.join(base, f))
        return np.arange(n) * step, np.full(n, step), per_row
    step = ds.chunks[0]
    n = -(-ds.shape[0] // step)
    per_row = np.zeros(n)
    for i in range(ds.id.get_num_chunks()):
        info = ds.id.get_chunk_info(i)
        per_row[info.chunk_offset[0] // step] += info.size
    return np.arange(n) * step, np.full(n, step), per_row


def touched(starts, ends, c0, clen):
    """Which chunks [c0, c0+clen) intersect any range [starts, ends) (sorted, disjoint)."""
    i = np.searchsorted(ends, c0, "right")
    ok = i < len(starts)
    hit = np.zeros(len(c0), bool)
    hit[ok] = starts[i[ok]] < c0[ok] + clen[ok]
    return hit


def runs(idx):
    """Sorted indices -> (starts, ends) of their runs."""
    if len(idx) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    brk = np.flatnonzero(np.diff(idx) != 1) + 1
    s = idx[np.concatenate([[0], brk])]
    e = idx[np.concatenate([brk - 1, [len(idx) - 1]])] + 1
    return s.astype(np.int64), e.astype(np.int64)


def plan_bytes(ds, starts, ends, row_bytes):
    """Bytes of the time-optimal plan for element/row ranges of `ds`."""
    compressed = is_zarr or ds.compression is not None
    if compressed and ds.chunks is not None:
        c0, clen, size = chunk_sizes(ds)
        return float(size[touched(starts, ends, c0, clen)].sum())
    if len(starts) == 0:
        return 0.0
    gaps = (starts[1:] - ends[:-1]) * row_bytes
    keep = np.concatenate([[True], gaps > GAP])  # a new read starts here
    first = starts[keep]
    last = np.concatenate([ends[np.flatnonzero(keep)[1:] - 1], [ends[-1]]])
    return float(((last - first) * row_bytes).sum())


def matrix_cost(name, rows):
    g = root[name]
    if (is_zarr and isinstance(g, zarr.Array)) or (not is_zarr and isinstance(g, h5py.Dataset)):
        ds = g
        rb = ds.dtype.itemsize * int(np.prod(ds.shape[1:]))
        s, e = runs(rows)
        return len(rows) * rb, plan_bytes(ds, s, e, rb)
    ptr = g["indptr"][:]
    s, e = runs(rows)
    es, ee = ptr[s], ptr[e]
    nz = int((ptr[rows + 1] - ptr[rows]).sum())
    need = nopt = 0.0
    for k in ("data", "indices"):
        item = g[k].dtype.itemsize
        need += nz * item
        nopt += plan_bytes(g[k], es, ee, item)
    pi = g["indptr"].dtype.itemsize
    need += 2 * len(rows) * pi
    nopt += plan_bytes(g["indptr"], s, e + 1, pi)
    return need, nopt


MATRICES = ["X"] + [f"layers/{k}" for k in root["layers"].keys()] + \
    [f"obsm/{k}" for k in root["obsm"].keys()]
obs0 = ad.read_zarr(path).obs if is_zarr else ad.read_h5ad(path, backed="r").obs
var0 = ad.read_zarr(path).var if is_zarr else ad.read_h5ad(path, backed="r").var

out = []
for q in queries:
    mask = np.asarray(eval(q["obs"], {"obs": obs0, "np": np}), bool)
    vmask = np.asarray(eval(q["var"], {"var": var0}), bool) if q.get("var") else slice(None)
    best = 1e9
    for _ in range(reps):
        t = time.perf_counter()
        if is_zarr:
            sub = ad.read_zarr(path)[mask, vmask].copy()
        else:
            a = ad.read_h5ad(path, backed="r")
            sub = a[mask, vmask].to_memory()
            a.file.close()
        best = min(best, time.perf_counter() - t)
    rows = np.flatnonzero(mask)
    need, opt = float(AXES), float(AXES)
    for m in MATRICES:
        n, o = matrix_cost(m, rows)
        need += n
        opt += o
    out.append({"seconds": best, "rows": int(len(rows)), "shape": list(sub.shape),
                "needed": need, "optimal": opt})
    del sub

# The first whole load into memory as cold as ours gets: what the queries
# freed is handed back to the hypervisor after ~2 s on a VM with free page
# reporting (see bench/README.md, eighth and ninth sessions).
gc.collect()
time.sleep(COLD_WAIT)
whole, first = 1e9, None
for _ in range(reps):
    t = time.perf_counter()
    a = ad.read_zarr(path) if is_zarr else ad.read_h5ad(path)
    whole = min(whole, time.perf_counter() - t)
    first = whole if first is None else first
    del a
x = root["X/data"]
print(json.dumps({
    "queries": out, "whole": whole, "whole_first": first,
    "chunks": list(x.chunks) if x.chunks else None,
    "compression": ("blosc" if x.compressor else None) if is_zarr else x.compression,
}))
