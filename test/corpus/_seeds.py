# Valid seed files for the damaged-file corpus, written by the reference
# Python libraries (deterministic: fixed seeds):
#   csr.h5ad, csr_gzip.h5ad, dense.h5ad   anndata (h5py underneath; csr's uns holds record arrays)
#   csr.zarr, dense.zarr                  anndata write_zarr (zarr v2, blosc)
#   loop.h5ad                             h5py: a valid h5ad whose uns links to its own parent
#   bomb.h5ad                             h5py: a gzip chunk that inflates far beyond its chunk
#   table.csv                             pandas
#   image.png                             PIL
# Usage: python3 _seeds.py <dir>
import sys, zlib
import numpy as np
import anndata as ad, h5py, pandas as pd, scipy.sparse as sp
from PIL import Image

d = sys.argv[1]
rng = np.random.default_rng(11)
n, m = 40, 12
X = rng.random((n, m)).astype(np.float32)
X[X < 0.6] = 0
obs = pd.DataFrame({
    "cell_type": pd.Categorical(rng.choice(["B cell", "T cell", "NK cell"], n)),
    "n_genes": rng.integers(0, 3000, n),
    "donor": rng.choice(["D1", "D2"], n).astype(object),
}, index=[f"cell{i}" for i in range(n)])
var = pd.DataFrame({"mean": rng.random(m)}, index=[f"g{i}" for i in range(m)])

# uns with a record array (scanpy's rank_genes_groups): strings and floats per record.
rgg = {"names": np.rec.fromarrays([np.array(["g1", "g2", "g3"], dtype=object),
                                   np.array(["g4", "g5", "g6"], dtype=object)], names=["B", "T"]),
       "scores": np.rec.fromarrays([rng.random(3).astype(np.float32)], names=["B"])}
a = ad.AnnData(X=sp.csr_matrix(X), obs=obs, var=var, uns={"note": "seed", "rgg": rgg})
a.write_h5ad(f"{d}/csr.h5ad")
a.write_h5ad(f"{d}/csr_gzip.h5ad", compression="gzip")
a.write_zarr(f"{d}/csr.zarr", chunks=(64,))
b = ad.AnnData(X=X, obs=obs, var=var)
b.write_h5ad(f"{d}/dense.h5ad")
b.write_zarr(f"{d}/dense.zarr", chunks=(16, 6))

# A group cycle: /uns/sub/up is /uns again (anndata raises on it).
b.write_h5ad(f"{d}/loop.h5ad")
with h5py.File(f"{d}/loop.h5ad", "a") as f:
    g = f["uns"].create_group("sub")
    g["up"] = f["uns"]

# A decompression bomb: X chunked (8 x 12 float32 = 384 bytes a chunk), one
# chunk replaced by 64 MiB of zeros deflated (about 64 KB).
b.write_h5ad(f"{d}/bomb.h5ad")
with h5py.File(f"{d}/bomb.h5ad", "a") as f:
    del f["X"]
    x = f.create_dataset("X", data=X, chunks=(8, m), compression="gzip")
    x.attrs["encoding-type"] = "array"
    x.attrs["encoding-version"] = "0.2.0"
    x.id.write_direct_chunk((8, 0), zlib.compress(bytes(64 << 20), 9))

pd.DataFrame({
    "cell": [f"c{i}" for i in range(30)],
    "value": rng.random(30).round(4),
    "count": rng.integers(0, 100, 30),
}).to_csv(f"{d}/table.csv", index=False)

img = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
Image.fromarray(img, "RGB").save(f"{d}/image.png")
