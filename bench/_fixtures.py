# Benchmark inputs, written by Python (anndata 0.8 / pandas from Debian).
#   atlas <path>  200,000 x 2,000 CSR float32 h5ad, 5% density, h5py default chunking
#   table <path>  1,000,000-row csv
import sys
import numpy as np

what, path = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(42)
if what == "atlas":
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp
    n_obs, n_vars, density = 200_000, 2_000, 0.05
    nnz_per_row = int(n_vars * density)
    indptr = np.arange(0, (n_obs + 1) * nnz_per_row, nnz_per_row, dtype=np.int64)
    indices = np.concatenate(
        [np.sort(rng.choice(n_vars, nnz_per_row, replace=False)) for _ in range(n_obs)]
    ).astype(np.int32)
    data = rng.random(n_obs * nnz_per_row, dtype=np.float32)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_obs, n_vars))
    cell_types = ["T cell", "B cell", "NK cell", "monocyte", "dendritic cell", "neutrophil",
                  "erythrocyte", "platelet", "macrophage", "mast cell"]
    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical(rng.choice(cell_types, n_obs, p=[.3, .15, .1, .15, .05, .1, .05, .03, .05, .02])),
            "disease": pd.Categorical(rng.choice(["normal", "Alzheimer's", "COVID-19"], n_obs, p=[.5, .3, .2])),
            "donor": pd.Categorical(rng.choice([f"D{i}" for i in range(1, 13)], n_obs)),
            "n_genes": rng.integers(0, 2000, n_obs, dtype=np.int64),
            "qc_pass": rng.random(n_obs) > 0.1,
        },
        index=[f"cell_{i}" for i in range(n_obs)],
    )
    # ~8% of cells from D3: set it exactly, so the query's selectivity is known.
    donor = obs["donor"].astype(str).to_numpy()
    donor[: int(n_obs * 0.08)] = "D3"
    donor[int(n_obs * 0.08):][donor[int(n_obs * 0.08):] == "D3"] = "D1"
    obs["donor"] = pd.Categorical(rng.permutation(donor))
    # ~1% with n_genes > 1980.
    obs["n_genes"] = np.where(rng.random(n_obs) < 0.01, rng.integers(1981, 2000, n_obs), rng.integers(0, 1981, n_obs))
    var = pd.DataFrame(
        {"highly_variable": rng.random(n_vars) < 0.2, "mean": rng.random(n_vars)},
        index=[f"gene_{i}" for i in range(n_vars)],
    )
    ad.AnnData(X=X, obs=obs, var=var).write_h5ad(path)
elif what == "table":
    import pandas as pd
    n = 1_000_000
    pd.DataFrame(
        {
            "cell": [f"cell_{i}" for i in range(n)],
            "n_genes": rng.integers(0, 5000, n),
            "score": rng.random(n),
            "cell_type": rng.choice(["T cell", "B cell", "NK cell"], n),
        }
    ).to_csv(path, index=False)
