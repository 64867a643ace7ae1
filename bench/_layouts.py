# The layouts of bench/layouts.ts, written by Python anndata 0.8 the way
# other writers and pipelines leave them (once, into the folder argv[1]):
#   dense.h5ad / dense_gzip.h5ad / dense.zarr: dense float32 X, 90% zeros
#       (scaled or imputed data), 50,000 x 2,000
#   csc.h5ad: the same matrix as CSC
#   csr64.h5ad: CSR with float64 values and int64 indices and indptr
#       (scanpy and h5py write int64 for large matrices)
#   scanpy.h5ad / scanpy_gzip.h5ad / scanpy.zarr: 100,000 x 3,000 CSR of a
#       processed scanpy object: obsp (connectivities, distances: 15
#       neighbours a cell), obsm X_pca/X_umap, varm PCs, uns colours, raw
#       (the full gene set, before a highly-variable subset)
#   scanpy_zstd.zarr: the same, every numeric array blosc zstd (clevel 5, byte shuffle)
import os, sys, shutil
import numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad, h5py
import warnings
warnings.filterwarnings("ignore")

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)

n, m = 50_000, 2_000
obs = pd.DataFrame({
    "donor": pd.Categorical([f"D{i // 5000:04d}" for i in range(n)]),
    "qc_score": rng.random(n),
    "cell_type": pd.Categorical(rng.choice([f"t{i}" for i in range(30)], n)),
}, index=[f"cell{i}" for i in range(n)])
var = pd.DataFrame({"highly_variable": rng.random(m) < 0.2}, index=[f"g{i}" for i in range(m)])
dense = (rng.random((n, m), dtype=np.float32) * (rng.random((n, m)) < 0.1)).astype(np.float32)
ad.AnnData(dense, obs=obs, var=var).write_h5ad(f"{d}/dense.h5ad")
ad.AnnData(dense, obs=obs, var=var).write_h5ad(f"{d}/dense_gzip.h5ad", compression="gzip")
shutil.rmtree(f"{d}/dense.zarr", ignore_errors=True)
ad.AnnData(dense, obs=obs, var=var).write_zarr(f"{d}/dense.zarr")
ad.AnnData(sp.csc_matrix(dense), obs=obs, var=var).write_h5ad(f"{d}/csc.h5ad")
csr = sp.csr_matrix(dense)
ad.AnnData(csr, obs=obs, var=var).write_h5ad(f"{d}/csr64.h5ad")
with h5py.File(f"{d}/csr64.h5ad", "a") as f:
    for k, t in [("indices", np.int64), ("indptr", np.int64), ("data", np.float64)]:
        v = f[f"X/{k}"][()].astype(t); del f[f"X/{k}"]; f.create_dataset(f"X/{k}", data=v)

n, m = 100_000, 3_000
obs = pd.DataFrame({
    "donor": pd.Categorical([f"D{i // 10000:04d}" for i in range(n)]),
    "qc_score": rng.random(n),
    "leiden": pd.Categorical(rng.integers(0, 40, n).astype(str)),
}, index=[f"AAAC{i:08d}-1" for i in range(n)])
var = pd.DataFrame({"highly_variable": rng.random(m) < 0.2,
                    "gene_ids": [f"ENSG{j:011d}" for j in range(m)]},
                   index=[f"GENE{j}" for j in range(m)])
x = sp.random(n, m, density=0.05, format="csr", dtype=np.float32, random_state=rng)
a = ad.AnnData(x, obs=obs, var=var)
k = 15
rows = np.repeat(np.arange(n), k)
cols = rng.integers(0, n, n * k)
for name in ["distances", "connectivities"]:
    a.obsp[name] = sp.csr_matrix((rng.random(n * k).astype(np.float32), (rows, cols)), shape=(n, n))
a.obsm["X_pca"] = rng.standard_normal((n, 50)).astype(np.float32)
a.obsm["X_umap"] = rng.standard_normal((n, 2)).astype(np.float32)
a.varm["PCs"] = rng.standard_normal((m, 50)).astype(np.float32)
a.uns["leiden"] = {"params": {"resolution": 1.0}}
a.uns["leiden_colors"] = np.array([f"#{i:06x}" for i in range(40)], dtype=object)
a.raw = a
a = a[:, a.var.highly_variable.values | (np.arange(m) < 1500)].copy()
a.write_h5ad(f"{d}/scanpy.h5ad")
a.write_h5ad(f"{d}/scanpy_gzip.h5ad", compression="gzip")
shutil.rmtree(f"{d}/scanpy.zarr", ignore_errors=True)
a.write_zarr(f"{d}/scanpy.zarr")
shutil.rmtree(f"{d}/scanpy_zstd.zarr", ignore_errors=True)
a.write_zarr(f"{d}/scanpy_zstd.zarr")
import zarr, numcodecs
z = zarr.open(f"{d}/scanpy_zstd.zarr", "a")
names = []
z.visititems(lambda n, o: names.append(n) if isinstance(o, zarr.Array) and o.dtype != object else None)
for n in names:
    v, attrs, chunks = z[n][...], dict(z[n].attrs), z[n].chunks
    del z[n]
    z.create_dataset(n, data=v, chunks=chunks, compressor=numcodecs.Blosc(cname="zstd", clevel=5, shuffle=1)).attrs.update(attrs)
