# Realistic benchmark atlases, written by Python anndata 0.8 (Debian):
#   python3 _atlas.py <n_obs> <out_dir>
# writes <out_dir>/atlas_plain.h5ad (h5py defaults), atlas_gzip.h5ad
# (write_h5ad(compression="gzip")) and atlas.zarr (zarr v2 defaults).
#
# X: CSR float32 (log1p-normalised counts, 60-140 genes per cell out of 2,000,
# ~5%); layers["counts"]: the same pattern as int32; obsm: X_pca (50 float32),
# X_umap (2 float32). obs: a unique string column (barcode), cell_type (6
# categories, scattered), donor (5,000 categories, each donor's cells stored
# together: D0000 holds 1% of the cells, D0001 10%, D0002 50%, the rest share
# 39%), ints, floats with NaN (qc_score uniform in [0, 1), 1% NaN), bools.
# var: gene ids (strings), gene symbols, highly_variable (10%), means.
# Deterministic (seed 42), vectorised.
import os
import sys

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

n_obs, out = int(sys.argv[1]), sys.argv[2]
n_vars = 2_000
rng = np.random.default_rng(42)

k = rng.integers(60, 141, n_obs).astype(np.int64)  # genes per cell
indptr = np.zeros(n_obs + 1, np.int64)
np.cumsum(k, out=indptr[1:])
nnz = int(indptr[-1])
# Strictly increasing distinct columns per row: slot j of k gets
# floor((j + u) * n_vars / k), u uniform in [0, 1).
row = np.repeat(np.arange(n_obs), k)
j = np.arange(nnz) - indptr[row]
kk = k[row]
indices = np.floor((j + rng.random(nnz)) * n_vars / kk).astype(np.int32)
counts = (rng.geometric(0.4, nnz)).astype(np.int32)
totals = np.add.reduceat(counts, indptr[:-1]).astype(np.float64)
data = np.log1p(counts / totals[row] * 1e4).astype(np.float32)
del row, j, kk

X = sp.csr_matrix((data, indices, indptr), shape=(n_obs, n_vars))
C = sp.csr_matrix((counts, indices.copy(), indptr.copy()), shape=(n_obs, n_vars))

# donor: grouped. Sizes: 1%, 10%, 50%, then 4,997 donors sharing the rest.
first = [n_obs // 100, n_obs // 10, n_obs // 2]
rest = n_obs - sum(first)
cuts = np.sort(rng.choice(np.arange(1, rest), 4_996, replace=False))
sizes = np.concatenate([first, np.diff(np.concatenate([[0], cuts, [rest]]))])
donor_names = np.array([f"D{i:04d}" for i in range(5_000)])
donor_codes = np.repeat(np.arange(5_000), sizes)

qc = rng.random(n_obs)
qc[rng.random(n_obs) < 0.01] = np.nan
mito = (rng.random(n_obs) * 0.2).astype(np.float32)
mito[rng.random(n_obs) < 0.02] = np.nan
letters = np.array(list("ACGT"))
bc = letters[rng.integers(0, 4, (n_obs, 16))].view("<U16").ravel()
barcode = np.char.add(np.char.add(bc, "-"), (np.arange(n_obs) % 97).astype(str))
cell_types = ["T cell", "B cell", "NK cell", "monocyte", "dendritic cell", "platelet"]

obs = pd.DataFrame(
    {
        "barcode": barcode.astype(object),
        "cell_type": pd.Categorical.from_codes(
            rng.choice(6, n_obs, p=[0.4, 0.2, 0.1, 0.2, 0.05, 0.05]), cell_types
        ),
        "donor": pd.Categorical.from_codes(donor_codes, donor_names),
        "n_genes": k.astype(np.int32),
        "total_counts": totals.astype(np.int64),
        "qc_score": qc,
        "pct_mito": mito,
        "is_doublet": rng.random(n_obs) < 0.05,
    },
    index=np.char.add("cell_", np.arange(n_obs).astype(str)).astype(object),
)
var = pd.DataFrame(
    {
        "gene_symbol": np.char.add("GENE", np.arange(n_vars).astype(str)).astype(object),
        "highly_variable": rng.random(n_vars) < 0.1,
        "means": rng.random(n_vars),
    },
    index=np.char.add("ENSG", np.char.zfill(np.arange(n_vars).astype(str), 11)).astype(object),
)
a = ad.AnnData(
    X=X,
    obs=obs,
    var=var,
    layers={"counts": C},
    obsm={
        "X_pca": rng.standard_normal((n_obs, 50), dtype=np.float32),
        "X_umap": rng.standard_normal((n_obs, 2), dtype=np.float32),
    },
    uns={"generator": "bench/_atlas.py"},
)
os.makedirs(out, exist_ok=True)
a.write_h5ad(os.path.join(out, "atlas_plain.h5ad.tmp"))
os.rename(os.path.join(out, "atlas_plain.h5ad.tmp"), os.path.join(out, "atlas_plain.h5ad"))
a.write_h5ad(os.path.join(out, "atlas_gzip.h5ad.tmp"), compression="gzip")
os.rename(os.path.join(out, "atlas_gzip.h5ad.tmp"), os.path.join(out, "atlas_gzip.h5ad"))
a.write_zarr(os.path.join(out, "atlas.zarr.tmp"))
os.rename(os.path.join(out, "atlas.zarr.tmp"), os.path.join(out, "atlas.zarr"))
