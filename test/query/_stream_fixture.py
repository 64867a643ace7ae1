# Stream-test fixtures and their pandas answers.
#   write <dir>                       small AnnData as csr/csc/dense x h5ad/h5ad-gzip/zarr
#   answer <file> <queries.json>      for each {obs, var} pandas expression: selected names, X
import json, sys
import numpy as np

if sys.argv[1] == "write":
    import anndata as ad, pandas as pd, scipy.sparse as sp
    d = sys.argv[2]
    rng = np.random.default_rng(7)
    n, m = 60, 25
    X = rng.random((n, m)).astype(np.float32)
    X[X < 0.7] = 0
    ct = pd.Categorical(rng.choice(["B cell", "T cell", "dendritic cell", "NK cell"], n))
    ct[rng.random(n) < 0.15] = np.nan
    score = rng.random(n) * 10
    score[rng.random(n) < 0.1] = np.nan
    obs = pd.DataFrame({
        "cell_type": ct,
        "disease": pd.Categorical(rng.choice(["normal", "Alzheimer's"], n)),
        "grade": pd.Categorical(rng.choice(["low", "mid", "high"], n), categories=["low", "mid", "high"], ordered=True),
        "n_genes": rng.integers(0, 3000, n),
        "score": score,
        "qc": rng.random(n) < 0.7,
        "donor": rng.choice(["D1", "D2", "D3"], n).astype(object),
    }, index=[f"cell{i}" for i in range(n)])
    var = pd.DataFrame({"highly_variable": rng.random(m) < 0.4, "mean": rng.random(m)},
                       index=[f"g{i}" for i in range(m)])
    obsm = {"X_pca": rng.random((n, 3)).astype(np.float32)}
    layers = {"counts": sp.csr_matrix((X * 10).round())}
    obsp = {"distances": sp.csr_matrix(np.where(rng.random((n, n)) < 0.1, rng.random((n, n)), 0))}
    for kind, mat in [("csr", sp.csr_matrix(X)), ("csc", sp.csc_matrix(X)), ("dense", X)]:
        a = ad.AnnData(X=mat, obs=obs, var=var, obsm=obsm, layers=layers, obsp=obsp, uns={"note": "hi"})
        a.write_h5ad(f"{d}/{kind}.h5ad")
        a.write_h5ad(f"{d}/{kind}_gzip.h5ad", compression="gzip")
        a.write_zarr(f"{d}/{kind}.zarr", chunks=(7, 4) if kind == "dense" else (50,))
else:
    import anndata as ad
    a = ad.read_h5ad(sys.argv[2]) if sys.argv[2].endswith(".h5ad") else ad.read_zarr(sys.argv[2])
    out = []
    for q in json.loads(open(sys.argv[3]).read()):
        env = {"obs": a.obs, "var": a.var, "np": np}
        om = eval(q["obs"], env) if q.get("obs") else np.ones(a.n_obs, bool)
        vm = eval(q["var"], env) if q.get("var") else np.ones(a.n_vars, bool)
        sub = a[np.asarray(om, bool)][:, np.asarray(vm, bool)]
        X = sub.X.toarray() if hasattr(sub.X, "toarray") else np.asarray(sub.X)
        out.append({
            "obs": list(map(str, sub.obs_names)), "var": list(map(str, sub.var_names)),
            "X": X.ravel().tolist(),
            "pca": np.asarray(sub.obsm["X_pca"]).ravel().tolist(),
            "counts": sub.layers["counts"].toarray().ravel().tolist(),
            "dist": sub.obsp["distances"].toarray().ravel().tolist(),
            "cell_type": [None if v != v else str(v) for v in sub.obs["cell_type"].astype(object)],
        })
    print(json.dumps(out))
