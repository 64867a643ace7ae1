"""Write AnnData fixtures with Python anndata and h5py, and a JSON description
of each (what Python reports), for the TypeScript tests to compare against.

usage: python3 _fixtures.py OUT_DIR | python3 _fixtures.py describe FILE
"""
import json
import sys
import warnings

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

warnings.filterwarnings("ignore")


def obs_frame(n, seed):
    rng = np.random.default_rng(seed)
    ct = pd.Categorical(
        rng.choice(["T cell", "B cell", "dendritic cell", None], n),
        categories=["B cell", "T cell", "dendritic cell", "unused"],
        ordered=seed % 2 == 0,
    )
    return pd.DataFrame(
        {
            "cell_type": ct,
            "n_genes": rng.integers(0, 2000, n).astype(np.int32),
            "score": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
            "flag": rng.random(n) < 0.5,
            "donor": pd.Categorical(rng.choice(["D1", "D2", "D3"], n)),
            "label": [f"lbl-{i}-ü" for i in range(n)],
            "nint": pd.array([None if i % 5 == 0 else i for i in range(n)], dtype="Int64"),
            "nbool": pd.array([None if i % 4 == 0 else i % 3 == 0 for i in range(n)], dtype="boolean"),
        },
        index=[f"cell{i}" for i in range(n)],
    )


def describe_frame(df):
    cols = {}
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cols[c] = {
                "kind": "categorical",
                "values": [None if pd.isna(v) else str(v) for v in s],
                "categories": [str(x) for x in s.cat.categories],
                "ordered": bool(s.cat.ordered),
            }
        elif s.dtype == bool:
            cols[c] = {"kind": "bool", "values": [bool(v) for v in s]}
        elif str(s.dtype) in ("Int64", "Int32", "boolean"):
            cols[c] = {"kind": str(s.dtype), "values": [None if pd.isna(v) else (bool(v) if str(s.dtype) == "boolean" else int(v)) for v in s]}
        elif s.dtype.kind in "iuf":
            cols[c] = {"kind": str(s.dtype), "values": [None if pd.isna(v) else float(v) for v in s]}
        else:
            cols[c] = {"kind": "string", "values": [None if v is None else str(v) for v in s]}
    return {"columns": list(df.columns), "index": [str(i) for i in df.index], "cols": cols}


def dense(m):
    return np.asarray(m.todense() if sp.issparse(m) else m).tolist()


def describe(a):
    return {
        "shape": list(a.shape),
        "obs": describe_frame(a.obs),
        "var": describe_frame(a.var),
        "X": None if a.X is None else dense(a.X),
        "X_kind": None if a.X is None else ("csr" if sp.isspmatrix_csr(a.X) else "csc" if sp.isspmatrix_csc(a.X) else "dense"),
        "X_dtype": None if a.X is None else str(a.X.dtype),
        "layers": {k: dense(v) for k, v in a.layers.items()},
        "obsm": {k: dense(v) for k, v in a.obsm.items()},
        "obsp": {k: dense(v) for k, v in a.obsp.items()},
        "uns": jsonable(dict(a.uns)),
        "raw_var": None if a.raw is None else [str(x) for x in a.raw.var_names],
    }


def jsonable(x):
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    return x


def make(n_obs, n_vars, kind, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    m = sp.random(n_obs, n_vars, density=0.3, format="csr", dtype=np.float64, random_state=seed)
    m.data = np.round(m.data * 10, 2)
    m = m.astype(dtype)
    X = {"csr": m, "csc": m.tocsc(), "dense": m.toarray()}[kind]
    var = pd.DataFrame({"highly_variable": rng.random(n_vars) < 0.5, "mean": rng.random(n_vars)}, index=[f"g{i}" for i in range(n_vars)])
    a = ad.AnnData(
        X=X,
        obs=obs_frame(n_obs, seed),
        var=var,
        layers={"counts": m.toarray().astype(np.int32)},
        obsm={"X_pca": rng.random((n_obs, 3))},
        obsp={"distances": sp.random(n_obs, n_obs, density=0.2, format="csr", random_state=seed)},
        uns={"title": "fixture ü", "n": 3, "pi": 3.5, "arr": np.arange(4), "strs": np.array(["a", "b"]), "nested": {"k": 1.25, "deep": {"z": "zz"}}},
    )
    return a


if sys.argv[1] == "describe":
    path = sys.argv[2]
    a = ad.read_zarr(path) if path.endswith(".zarr") else ad.read_h5ad(path)
    print(json.dumps(describe(a)))
    sys.exit(0)

out = sys.argv[1]
fixtures = {}
for kind in ["csr", "csc", "dense"]:
    a = make(40, 12, kind, seed={"csr": 1, "csc": 2, "dense": 3}[kind])
    a.write_h5ad(f"{out}/{kind}.h5ad")
    a.write_h5ad(f"{out}/{kind}_gzip.h5ad", compression="gzip")
    a.write_zarr(f"{out}/{kind}.zarr")
    d = describe(ad.read_h5ad(f"{out}/{kind}.h5ad"))
    for name in [f"{kind}.h5ad", f"{kind}_gzip.h5ad", f"{kind}.zarr"]:
        fixtures[name] = d

# raw, and float64 X
a = make(10, 5, "csr", seed=4, dtype=np.float64)
a.raw = a
a = a[:, :3].copy()
a.write_h5ad(f"{out}/raw.h5ad")
fixtures["raw.h5ad"] = describe(ad.read_h5ad(f"{out}/raw.h5ad"))

# anndata 0.7's layout, built with h5py: no encoding attrs on columns,
# categorical codes with categories in __categories/, h5sparse X.
with h5py.File(f"{out}/legacy07.h5ad", "w") as f:
    f.attrs["encoding-type"] = "anndata"
    f.attrs["encoding-version"] = "0.1.0"
    obs = f.create_group("obs")
    obs.attrs["_index"] = "_index"
    obs.attrs.create("column-order", np.array(["ct", "n"], dtype=object), dtype=h5py.string_dtype())
    obs.attrs["encoding-type"] = "dataframe"
    obs.attrs["encoding-version"] = "0.1.0"
    obs.create_dataset("_index", data=np.array(["c0", "c1", "c2"], dtype=object), dtype=h5py.string_dtype())
    cats = obs.create_group("__categories")
    cats.create_dataset("ct", data=np.array(["A", "B"], dtype=object), dtype=h5py.string_dtype())
    ct = obs.create_dataset("ct", data=np.array([1, -1, 0], dtype=np.int8))
    ct.attrs["categories"] = cats["ct"].ref
    obs.create_dataset("n", data=np.array([1.5, 2.5, 3.5]))
    var = f.create_group("var")
    var.attrs["_index"] = "_index"
    var.attrs["column-order"] = np.array([], dtype="float64")
    var.attrs["encoding-type"] = "dataframe"
    var.attrs["encoding-version"] = "0.1.0"
    var.create_dataset("_index", data=np.array(["g0", "g1"], dtype=object), dtype=h5py.string_dtype())
    X = f.create_group("X")
    X.attrs["h5sparse_format"] = "csr"
    X.attrs["h5sparse_shape"] = np.array([3, 2])
    X.create_dataset("data", data=np.array([1.0, 2.0], dtype=np.float32))
    X.create_dataset("indices", data=np.array([0, 1], dtype=np.int32))
    X.create_dataset("indptr", data=np.array([0, 1, 1, 2], dtype=np.int32))
fixtures["legacy07.h5ad"] = describe(ad.read_h5ad(f"{out}/legacy07.h5ad"))

# MuData's layout, written with h5py and anndata's element writer.
from anndata.experimental import write_elem

rna = make(8, 5, "csr", seed=5)
prot = make(8, 3, "dense", seed=6)
with h5py.File(f"{out}/multi.h5mu", "w") as f:
    f.attrs["encoding-type"] = "MuData"
    f.attrs["encoding-version"] = "0.1.0"
    mod = f.create_group("mod")
    for name, a in [("rna", rna), ("prot", prot)]:
        g = mod.create_group(name)
        g.attrs["encoding-type"] = "anndata"
        g.attrs["encoding-version"] = "0.1.0"
        for k in ["X", "obs", "var", "uns"]:
            write_elem(g, k, getattr(a, k))
        for k in ["obsm", "varm", "obsp", "varp", "layers"]:
            write_elem(g, k, dict(getattr(a, k)))
    write_elem(f, "obs", pd.DataFrame({"batch": pd.Categorical(["a", "b"] * 4)}, index=rna.obs_names))
    write_elem(f, "var", pd.DataFrame(index=list(rna.var_names) + list(prot.var_names)))
    write_elem(f, "obsm", {"X_joint": np.arange(16.0).reshape(8, 2)})
    write_elem(f, "uns", {"study": "multi"})
fixtures["multi.h5mu"] = {
    "mod": {"rna": describe(rna), "prot": describe(prot)},
    "obs_batch": ["a", "b"] * 4,
    "var_names": list(rna.var_names) + list(prot.var_names),
}

with open(f"{out}/fixtures.json", "w") as fh:
    json.dump(fixtures, fh)
print(json.dumps(sorted(fixtures)))
