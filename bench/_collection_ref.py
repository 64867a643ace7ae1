# The collection bench's Python side (bench/collection_s3.ts).
#
#   python3 _collection_ref.py gen <n_obs> <seed> <out.h5ad>
#     one shard, written by anndata 0.8 (h5py defaults, uncompressed): the
#     atlas of bench/_atlas.py, smaller: X CSR float32 (60-140 genes of 2,000
#     per cell), obsm X_pca (50 float32) and X_umap (2), obs with a barcode
#     string, cell_type (6 categories, scattered; "dendritic cell" is 5%),
#     donor (500 categories, stored together), ints, floats with NaN, bools;
#     var: gene ids, symbols, highly_variable, means (the same in every shard).
#     No counts layer (it would double the bytes the bench moves through the
#     proxy on 2 shared cores without changing what is compared).
#
#   python3 _collection_ref.py ref <query> <limit_s> <path_or_url>...
#     anndata concatenating backed subsets: for each shard, obs/var read
#     whole, the rows `query` selects (X rows through anndata's
#     SparseDataset, obsm rows by h5py), then anndata.concat. A path is read
#     by read_h5ad(backed="r")[mask].to_memory(); a URL through
#     fsspec.filesystem("http") (what lamindb's cloud open() does), bytes and
#     requests counted at fsspec's range fetches. Prints JSON.
import json
import os
import signal
import sys
import time

import numpy as np


def gen(n_obs, seed, out):
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp

    n_vars = 2_000
    rng = np.random.default_rng(seed)
    k = rng.integers(60, 141, n_obs).astype(np.int64)
    indptr = np.zeros(n_obs + 1, np.int64)
    np.cumsum(k, out=indptr[1:])
    nnz = int(indptr[-1])
    row = np.repeat(np.arange(n_obs), k)
    j = np.arange(nnz) - indptr[row]
    kk = k[row]
    indices = np.floor((j + rng.random(nnz)) * n_vars / kk).astype(np.int32)
    counts = rng.geometric(0.4, nnz).astype(np.int32)
    totals = np.add.reduceat(counts, indptr[:-1]).astype(np.float64)
    data = np.log1p(counts / totals[row] * 1e4).astype(np.float32)
    del row, j, kk
    X = sp.csr_matrix((data, indices, indptr), shape=(n_obs, n_vars))
    n_donors = 500
    cuts = np.sort(rng.choice(np.arange(1, n_obs), n_donors - 1, replace=False))
    sizes = np.diff(np.concatenate([[0], cuts, [n_obs]]))
    donor_names = np.array([f"S{seed}D{i:03d}" for i in range(n_donors)])
    qc = rng.random(n_obs)
    qc[rng.random(n_obs) < 0.01] = np.nan
    letters = np.array(list("ACGT"))
    bc = letters[rng.integers(0, 4, (n_obs, 16))].view("<U16").ravel()
    cell_types = ["T cell", "B cell", "NK cell", "monocyte", "dendritic cell", "platelet"]
    obs = pd.DataFrame(
        {
            "barcode": np.char.add(np.char.add(bc, "-"), str(seed)).astype(object),
            "cell_type": pd.Categorical.from_codes(
                rng.choice(6, n_obs, p=[0.4, 0.2, 0.1, 0.2, 0.05, 0.05]), cell_types
            ),
            "donor": pd.Categorical.from_codes(np.repeat(np.arange(n_donors), sizes), donor_names),
            "n_genes": k.astype(np.int32),
            "total_counts": totals.astype(np.int64),
            "qc_score": qc,
            "is_doublet": rng.random(n_obs) < 0.05,
        },
        index=np.char.add(f"s{seed}_cell_", np.arange(n_obs).astype(str)).astype(object),
    )
    vr = np.random.default_rng(0)
    var = pd.DataFrame(
        {
            "gene_symbol": np.char.add("GENE", np.arange(n_vars).astype(str)).astype(object),
            "highly_variable": vr.random(n_vars) < 0.1,
            "means": vr.random(n_vars),
        },
        index=np.char.add("ENSG", np.char.zfill(np.arange(n_vars).astype(str), 11)).astype(object),
    )
    a = ad.AnnData(
        X=X,
        obs=obs,
        var=var,
        obsm={
            "X_pca": rng.standard_normal((n_obs, 50), dtype=np.float32),
            "X_umap": rng.standard_normal((n_obs, 2), dtype=np.float32),
        },
        uns={"generator": "bench/_collection_ref.py"},
    )
    a.write_h5ad(out + ".tmp")
    os.rename(out + ".tmp", out)


class Timeout(Exception):
    pass


def ref(query, limit, sources):
    import anndata as ad
    import fsspec
    import h5py
    from anndata._core.sparse_dataset import SparseDataset
    from anndata._io.specs import read_elem
    from fsspec.implementations.http import HTTPFile

    stats = {"bytes": 0, "requests": 0}
    orig = HTTPFile._fetch_range

    def counted(self, start, end):
        stats["requests"] += 1
        out = orig(self, start, end)
        stats["bytes"] += len(out)
        return out

    HTTPFile._fetch_range = counted

    def alarm(*_):
        raise Timeout()

    signal.signal(signal.SIGALRM, alarm)

    def remote(url):
        with fsspec.filesystem("http").open(url, "rb") as fo, h5py.File(fo, "r") as f:
            obs = read_elem(f["obs"])
            var = read_elem(f["var"])
            rows = np.flatnonzero(np.asarray(eval(query, {"obs": obs}), bool))
            X = SparseDataset(f["X"])[rows]
            obsm = {k: f["obsm"][k][rows] for k in f["obsm"].keys()}
            return ad.AnnData(X=X, obs=obs.iloc[rows], var=var, obsm=obsm)

    def local(path):
        a = ad.read_h5ad(path, backed="r")
        mask = np.asarray(eval(query, {"obs": a.obs}), bool)
        out = a[mask].to_memory()
        a.file.close()
        return out

    t = time.perf_counter()
    r = {}
    try:
        signal.setitimer(signal.ITIMER_REAL, limit)
        parts = [remote(s) if s.startswith("http") else local(s) for s in sources]
        out = ad.concat(parts, join="inner", label="file", keys=[str(i) for i in range(len(parts))])
        signal.setitimer(signal.ITIMER_REAL, 0)
        r["seconds"] = time.perf_counter() - t
        r["shape"] = list(out.shape)
    except Timeout:
        r["seconds"] = None
    r.update(bytes=stats["bytes"], requests=stats["requests"], anndata=ad.__version__,
             fsspec=fsspec.__version__)
    print(json.dumps(r))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "ref":
        ref(sys.argv[2], float(sys.argv[3]), sys.argv[4:])
    else:
        raise SystemExit(f"unknown command {cmd}")
