# Layouts bench/layouts.ts does not cover, written by Python anndata 0.8,
# h5py and zarr 2 the way pipelines leave files (once, into argv[1]; the
# names in argv[2:] only, all by default). Every file has obs `donor`
# (grouped: 10 donors of 10% each), `qc_score` (uniform) and var
# `highly_variable`, for bench/hunt.ts's queries.
#   chunked.h5ad: 100k x 3k CSR (5%) + layers counts, uncompressed but
#       chunked (h5py chunks=True), as h5py's resizable writers leave them
#   gzip_small.h5ad: the same, gzip in chunks of 1,000 elements
#   gzip_big.h5ad: the same, gzip in chunks of 4,000,000 elements (16 MB)
#   lzf_layers.h5ad: X plain, layers spliced/unspliced/ambiguous lzf
#       (scVelo's loom-derived files)
#   csc_layer.h5ad: X CSC, layers counts CSR
#   f64.h5ad: CSR float64 data, int32 indices, int64 indptr
#   zstd_small.zarr: every numeric array numcodecs Zstd, 10,000-element chunks
#   zlib_big.zarr: X and layers zlib in 4,000,000-element chunks
#   wide.h5ad / wide_gzip.h5ad / wide.zarr: CELLxGENE-like: 100k x 30k
#       (~300 genes a cell), raw (counts), 12 string obs columns, 10
#       categoricals (one of 50,000 categories), obsm X_umap float64 and 5
#       more, obsp; 2,000 highly variable genes; gzip: h5py's own chunks
#   dense_f16.h5ad: dense float16 X, 50k x 2k
#   rgg.h5ad / rgg.zarr: 50k x 20k CSR after scanpy's clustering and
#       marker genes: uns rank_genes_groups (rec-arrays of 40 groups x
#       20,000 genes: names, scores, pvals, pvals_adj, logfoldchanges),
#       dendrogram, neighbors, pca; obsm X_pca/X_umap, obsp
#   uns_many.h5ad / uns_many.zarr: 50k x 2k CSR, uns of 40 groups of 80
#       small entries (scalars, strings, short arrays, dicts)
#   misc.h5ad / misc.zarr: 100k x 3k CSR, obsm["protein"] a DataFrame,
#       nullable integer and boolean obs columns with missing values, varm
#   dense_i16.zarr: dense int16 X, 50k x 2k (anndata's default blosc lz4)
import os, sys, shutil
import numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad, h5py, zarr, numcodecs
import warnings
warnings.filterwarnings("ignore")

d = sys.argv[1]
only = set(sys.argv[2:])
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(7)


def want(name):
    return (not only or name in only) and not os.path.exists(f"{d}/{name}")


def write_wanted(a, stem):
    """`a` as {stem}.h5ad and {stem}.zarr, each one that is wanted."""
    if want(f"{stem}.h5ad"):
        a.write_h5ad(f"{d}/{stem}.h5ad")
    if want(f"{stem}.zarr"):
        a.write_zarr(f"{d}/{stem}.zarr")


def obs_frame(n, ndonor=10):
    return pd.DataFrame({
        "donor": pd.Categorical([f"D{i * ndonor // n:04d}" for i in range(n)]),
        "qc_score": rng.random(n),
        "cell_type": pd.Categorical(rng.choice([f"type{i}" for i in range(30)], n)),
        "n_genes": rng.integers(200, 5000, n).astype(np.int32),
    }, index=[f"AAAC{i:08d}-1" for i in range(n)])


def var_frame(m, hv):
    sel = np.zeros(m, bool)
    sel[rng.choice(m, hv, replace=False)] = True
    return pd.DataFrame({"highly_variable": sel,
                         "gene_ids": [f"ENSG{j:011d}" for j in range(m)]},
                        index=[f"GENE{j}" for j in range(m)])


def counts_csr(n, m, per_row):
    """A counts matrix: `per_row` genes a cell on average, small integers as float32."""
    k = rng.poisson(per_row, n)
    rows = np.repeat(np.arange(n), k)
    # genes drawn with a skew (some genes in most cells)
    cols = np.minimum((rng.pareto(1.0, rows.size) * m / 20).astype(np.int64), m - 1)
    cols = rng.permutation(m)[cols]
    vals = np.floor(rng.exponential(2.0, rows.size)).astype(np.float32) + 1
    x = sp.csr_matrix((vals, (rows, cols)), shape=(n, m))
    x.sum_duplicates()
    x.sort_indices()
    return x


def lognorm(c):
    x = c.copy()
    s = np.asarray(x.sum(axis=1)).ravel()
    s[s == 0] = 1
    x.data = np.log1p(x.data / np.repeat(s, np.diff(x.indptr)) * 1e4).astype(np.float32)
    return x


def rewrite_h5(path, names, **kw):
    with h5py.File(path, "a") as f:
        for n in names:
            v, attrs = f[n][()], dict(f[n].attrs)
            del f[n]
            ds = f.create_dataset(n, data=v, **kw)
            ds.attrs.update(attrs)


def sparse_parts(prefix):
    return [f"{prefix}/{k}" for k in ("data", "indices", "indptr")]


def rewrite_zarr(path, pick, **kw):
    z = zarr.open(path, "a")
    names = []
    z.visititems(lambda n, o: names.append(n) if isinstance(o, zarr.Array) and pick(n, o) else None)
    for n in names:
        o = z[n]
        v, attrs = o[...], dict(o.attrs)
        chunks = kw.get("chunks") or o.chunks
        if v.ndim == 2 and "chunks" in kw:
            chunks = (max(1, kw["chunks"][0] // v.shape[1]), v.shape[1])
        del z[n]
        args = {k: w for k, w in kw.items() if k != "chunks"}
        z.create_dataset(n, data=v, chunks=chunks, **args).attrs.update(attrs)


n, m = 100_000, 3_000
base = None
if any(want(x) for x in ["chunked.h5ad", "gzip_small.h5ad", "gzip_big.h5ad", "lzf_layers.h5ad",
                         "csc_layer.h5ad", "f64.h5ad", "zstd_small.zarr", "zlib_big.zarr"]):
    counts = counts_csr(n, m, 150)
    base = ad.AnnData(lognorm(counts), obs=obs_frame(n), var=var_frame(m, 600))
    base.layers["counts"] = counts.astype(np.int32)
    base.obsm["X_pca"] = rng.standard_normal((n, 50)).astype(np.float32)
    base.obsm["X_umap"] = rng.standard_normal((n, 2)).astype(np.float32)
    print(f"base: nnz {counts.nnz}", file=sys.stderr)

X_AND_LAYER = sparse_parts("X") + sparse_parts("layers/counts")
if want("chunked.h5ad"):
    p = f"{d}/chunked.h5ad"
    base.write_h5ad(p)
    rewrite_h5(p, X_AND_LAYER + ["obsm/X_pca"], chunks=True)
if want("gzip_small.h5ad"):
    p = f"{d}/gzip_small.h5ad"
    base.write_h5ad(p, compression="gzip")
    rewrite_h5(p, X_AND_LAYER, chunks=(1000,), compression="gzip")
if want("gzip_big.h5ad"):
    p = f"{d}/gzip_big.h5ad"
    base.write_h5ad(p, compression="gzip")
    rewrite_h5(p, [x for x in X_AND_LAYER if not x.endswith("indptr")], chunks=(4_000_000,),
               compression="gzip")
if want("lzf_layers.h5ad"):
    p = f"{d}/lzf_layers.h5ad"
    a = base.copy()
    c = a.layers.pop("counts")
    a.layers["spliced"] = c.astype(np.float32)
    u = c.copy(); u.data = np.floor(u.data / 3).astype(np.int32); u.eliminate_zeros()
    a.layers["unspliced"] = u.astype(np.float32)
    amb = c.copy(); amb.data = (amb.data % 2).astype(np.int32); amb.eliminate_zeros()
    a.layers["ambiguous"] = amb.astype(np.float32)
    a.write_h5ad(p)
    names = []
    for k in ["spliced", "unspliced", "ambiguous"]:
        names += sparse_parts(f"layers/{k}")
    rewrite_h5(p, names, compression="lzf")
if want("csc_layer.h5ad"):
    a = ad.AnnData(base.X.tocsc(), obs=base.obs, var=base.var, obsm=dict(base.obsm))
    a.layers["counts"] = base.layers["counts"]
    a.write_h5ad(f"{d}/csc_layer.h5ad")
if want("f64.h5ad"):
    p = f"{d}/f64.h5ad"
    a = base.copy()
    a.X = a.X.astype(np.float64)
    del a.layers["counts"]
    a.write_h5ad(p)
    with h5py.File(p, "a") as f:
        v = f["X/indptr"][()].astype(np.int64); del f["X/indptr"]; f.create_dataset("X/indptr", data=v)
        v = f["X/indices"][()].astype(np.int32); del f["X/indices"]; f.create_dataset("X/indices", data=v)
if want("zstd_small.zarr"):
    p = f"{d}/zstd_small.zarr"
    base.write_zarr(p)
    rewrite_zarr(p, lambda n, o: o.dtype != object, chunks=(10_000,),
                 compressor=numcodecs.Zstd(level=3))
if want("zlib_big.zarr"):
    p = f"{d}/zlib_big.zarr"
    base.write_zarr(p)
    rewrite_zarr(p, lambda n, o: n.startswith("X/") or n.startswith("layers/"),
                 chunks=(4_000_000,), compressor=numcodecs.Zlib(level=5))
base = None

if any(want(x) for x in ["wide.h5ad", "wide_gzip.h5ad", "wide.zarr"]):
    n, m = 100_000, 30_000
    counts = counts_csr(n, m, 300)
    print(f"wide: nnz {counts.nnz}", file=sys.stderr)
    obs = obs_frame(n)
    for i in range(12):  # free-text / id columns, left as strings (not categoricals)
        obs[f"str_{i}"] = [f"s{i}_{v}" for v in rng.integers(0, 10 ** (i % 6 + 2), n)]
    obs["observation_joinid"] = [f"{v:x}" for v in rng.integers(0, 2 ** 60, n)]
    for i, k in enumerate([3, 5, 12, 40, 80, 200, 500, 1500, 8000]):
        obs[f"cat_{i}"] = pd.Categorical(rng.choice([f"c{i}_{j}" for j in range(k)], n))
    obs["clone_id"] = pd.Categorical(rng.choice([f"clone{j:06d}" for j in range(50_000)], n))
    obs["is_primary_data"] = rng.random(n) < 0.9
    var = var_frame(m, 2000)
    var["feature_name"] = pd.Categorical([f"SYM{j}" for j in range(m)])
    var["feature_length"] = rng.integers(100, 50000, m)
    a = ad.AnnData(lognorm(counts), obs=obs, var=var)
    a.raw = ad.AnnData(counts, var=var[["gene_ids"]])
    a.obsm["X_umap"] = rng.standard_normal((n, 2))  # float64, as CELLxGENE's
    for k, w in [("X_pca", 50), ("X_scVI", 30), ("X_harmony", 50), ("X_tsne", 2), ("X_draw_graph_fa", 2)]:
        a.obsm[k] = rng.standard_normal((n, w)).astype(np.float32)
    k = 15
    rows = np.repeat(np.arange(n), k)
    for name in ["distances", "connectivities"]:
        a.obsp[name] = sp.csr_matrix((rng.random(n * k).astype(np.float32),
                                      (rows, rng.integers(0, n, n * k))), shape=(n, n))
    a.uns["schema_version"] = "5.0.0"
    a.uns["title"] = "A wide atlas"
    # keep the string columns strings, as non-anndata writers leave them
    ad.AnnData.strings_to_categoricals = lambda self, df=None: None
    if want("wide.h5ad"):
        a.write_h5ad(f"{d}/wide.h5ad")
    if want("wide_gzip.h5ad"):
        a.write_h5ad(f"{d}/wide_gzip.h5ad", compression="gzip")
    if want("wide.zarr"):
        a.write_zarr(f"{d}/wide.zarr")
    a = None

if want("dense_f16.h5ad") or want("dense_i16.zarr"):
    n, m = 50_000, 2_000
    c = counts_csr(n, m, 200)
    if want("dense_f16.h5ad"):
        ad.AnnData(lognorm(c).toarray().astype(np.float16), obs=obs_frame(n),
                   var=var_frame(m, 400), dtype=np.float16).write_h5ad(f"{d}/dense_f16.h5ad")
    if want("dense_i16.zarr"):
        ad.AnnData(c.toarray().astype(np.int16), obs=obs_frame(n),
                   var=var_frame(m, 400), dtype=np.int16).write_zarr(f"{d}/dense_i16.zarr")

if want("rgg.h5ad") or want("rgg.zarr"):
    n, m, g = 50_000, 20_000, 40
    counts = counts_csr(n, m, 200)
    obs = obs_frame(n)
    obs["leiden"] = pd.Categorical(rng.integers(0, g, n).astype(str))
    a = ad.AnnData(lognorm(counts), obs=obs, var=var_frame(m, 2000))
    a.obsm["X_pca"] = rng.standard_normal((n, 50)).astype(np.float32)
    a.obsm["X_umap"] = rng.standard_normal((n, 2)).astype(np.float32)
    k = 15
    rows = np.repeat(np.arange(n), k)
    for name in ["distances", "connectivities"]:
        a.obsp[name] = sp.csr_matrix((rng.random(n * k).astype(np.float32),
                                      (rows, rng.integers(0, n, n * k))), shape=(n, n))
    groups = [str(i) for i in range(g)]
    genes = np.array(a.var_names)
    def rec(make):
        return np.rec.fromarrays([make(i) for i in range(g)], names=groups)
    a.uns["rank_genes_groups"] = {
        "params": {"groupby": "leiden", "reference": "rest", "method": "wilcoxon",
                   "use_raw": False, "layer": None, "corr_method": "benjamini-hochberg"},
        "names": rec(lambda i: genes[rng.permutation(m)].astype(object)),
        "scores": rec(lambda i: np.sort(rng.standard_normal(m).astype(np.float32))[::-1]),
        "pvals": rec(lambda i: np.sort(rng.random(m))),
        "pvals_adj": rec(lambda i: np.sort(rng.random(m))),
        "logfoldchanges": rec(lambda i: rng.standard_normal(m).astype(np.float32)),
    }
    a.uns["dendrogram_leiden"] = {
        "linkage": rng.random((g - 1, 4)), "groupby": ["leiden"], "use_rep": "X_pca",
        "cor_method": "pearson", "linkage_method": "complete",
        "categories_ordered": np.array(groups, dtype=object),
        "categories_idx_ordered": np.arange(g), "correlation_matrix": rng.random((g, g)),
        "dendrogram_info": {"icoord": rng.random((g - 1, 4)), "ivl": np.array(groups, dtype=object),
                            "leaves": np.arange(g)},
    }
    a.uns["neighbors"] = {"params": {"n_neighbors": 15, "method": "umap", "metric": "euclidean"},
                          "connectivities_key": "connectivities", "distances_key": "distances"}
    a.uns["pca"] = {"variance": rng.random(50), "variance_ratio": rng.random(50)}
    a.uns["leiden_colors"] = np.array([f"#{i:06x}" for i in range(g)], dtype=object)
    write_wanted(a, "rgg")

if want("uns_many.h5ad") or want("uns_many.zarr"):
    # 3,200 small uns entries (nested parameters, colours, short arrays), as
    # pipelines that log every step's settings leave them
    n, m = 50_000, 2_000
    a = ad.AnnData(lognorm(counts_csr(n, m, 100)), obs=obs_frame(n), var=var_frame(m, 400))
    for g in range(40):
        a.uns[f"step_{g}"] = {
            f"k{j}": (j * 0.5 if j % 4 == 0 else f"v{j}" if j % 4 == 1
                      else np.arange(j % 7 + 1) if j % 4 == 2 else {"x": j, "y": [1, 2]})
            for j in range(80)}
    write_wanted(a, "uns_many")

if want("misc.h5ad") or want("misc.zarr"):
    # CITE-seq-like: obsm["protein"] a DataFrame (60 antibodies), obs nullable
    # integers and booleans with missing values, varm PCs
    n, m = 100_000, 3_000
    obs = obs_frame(n)
    obs["n_counts_adt"] = pd.array(np.where(rng.random(n) < 0.05, None, rng.integers(0, 10**6, n)),
                                   dtype="Int64")
    obs["doublet"] = pd.array(np.where(rng.random(n) < 0.05, None, rng.random(n) < 0.1),
                              dtype="boolean")
    a = ad.AnnData(lognorm(counts_csr(n, m, 150)), obs=obs, var=var_frame(m, 600))
    a.obsm["protein"] = pd.DataFrame(rng.poisson(20, (n, 60)).astype(np.float32), index=obs.index,
                                     columns=[f"CD{i}" for i in range(60)])
    a.obsm["X_pca"] = rng.standard_normal((n, 50)).astype(np.float32)
    a.varm["PCs"] = rng.standard_normal((m, 50)).astype(np.float32)
    write_wanted(a, "misc")
