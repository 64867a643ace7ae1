# A large CSR h5ad written block by block with h5py (never whole in memory),
# in anndata's on-disk layout (encoding-type attributes, as anndata 0.8):
#   <path> <n_obs> <n_vars> <nnz_per_row>
# obs: cell_type (categorical, 10 types, "T cell" exactly 10%), n_genes (int32);
# X: float32 data, int32 indices, int64 indptr, h5py chunks of 64Ki elements.
import sys
import h5py
import numpy as np

path, n_obs, n_vars, per_row = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(1)
STR = h5py.string_dtype()
BLOCK = 20_000
TYPES = ["T cell", "B cell", "NK cell", "monocyte", "dendritic cell", "neutrophil",
         "erythrocyte", "platelet", "macrophage", "mast cell"]


def enc(obj, kind, version):
    obj.attrs["encoding-type"] = kind
    obj.attrs["encoding-version"] = version


with h5py.File(path, "w") as f:
    enc(f, "anndata", "0.1.0")
    obs = f.create_group("obs")
    enc(obs, "dataframe", "0.2.0")
    obs.attrs["_index"] = "_index"
    obs.attrs["column-order"] = np.array(["cell_type", "n_genes"], dtype=object)
    idx = obs.create_dataset("_index", (n_obs,), dtype=STR, chunks=(min(n_obs, BLOCK),))
    enc(idx, "string-array", "0.2.0")
    ct = obs.create_group("cell_type")
    enc(ct, "categorical", "0.2.0")
    ct.attrs["ordered"] = False
    cats = ct.create_dataset("categories", data=np.array(TYPES, dtype=object), dtype=STR)
    enc(cats, "string-array", "0.2.0")
    # Exactly every 10th cell is a T cell (code 0), the rest spread over the others.
    codes = (1 + rng.integers(0, 9, n_obs)).astype(np.int8)
    codes[::10] = 0
    c = ct.create_dataset("codes", data=codes, chunks=(min(n_obs, 1 << 20),))
    enc(c, "array", "0.2.0")
    ng = obs.create_dataset("n_genes", (n_obs,), dtype=np.int32, chunks=(min(n_obs, 1 << 18),))
    enc(ng, "array", "0.2.0")
    var = f.create_group("var")
    enc(var, "dataframe", "0.2.0")
    var.attrs["_index"] = "_index"
    var.attrs["column-order"] = np.array([], dtype=object).astype(STR)
    vi = var.create_dataset("_index", data=np.array([f"gene_{j}" for j in range(n_vars)], dtype=object), dtype=STR)
    enc(vi, "string-array", "0.2.0")
    X = f.create_group("X")
    enc(X, "csr_matrix", "0.1.0")
    X.attrs["shape"] = np.array([n_obs, n_vars], dtype=np.int64)
    nnz = n_obs * per_row
    data = X.create_dataset("data", (nnz,), dtype=np.float32, chunks=(min(nnz, 1 << 16),))
    indices = X.create_dataset("indices", (nnz,), dtype=np.int32, chunks=(min(nnz, 1 << 16),))
    X.create_dataset("indptr", data=np.arange(0, nnz + 1, per_row, dtype=np.int64))
    for s in range(0, n_obs, BLOCK):
        e = min(s + BLOCK, n_obs)
        n = e - s
        idx[s:e] = np.array([f"cell_{i}" for i in range(s, e)], dtype=object)
        ng[s:e] = rng.integers(0, n_vars, n, dtype=np.int32)
        # One column in each of per_row equal strides: sorted and unique.
        stride = n_vars // per_row
        cols = np.arange(per_row) * stride + rng.integers(0, stride, (n, per_row))
        indices[s * per_row:e * per_row] = cols.astype(np.int32).ravel()
        data[s * per_row:e * per_row] = rng.random(n * per_row, dtype=np.float32)
    for g in ["layers", "obsm", "obsp", "varm", "varp", "uns"]:
        enc(f.create_group(g), "dict", "0.1.0")
