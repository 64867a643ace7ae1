# Files other writers make (pandas 3 with anndata >= 0.11, scanpy, h5py
# options), written with h5py/anndata 0.8 as those write them: each one a
# case others_test.ts reads. Usage: python3 _others.py <dir>
import os, sys, shutil, warnings
import numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad, h5py, zarr
warnings.filterwarnings("ignore")
os.chdir(sys.argv[1])
def enc(o, t, v="0.2.0"): o.attrs["encoding-type"] = t; o.attrs["encoding-version"] = v
def small(**kw): return ad.AnnData(X=np.ones((3, 2), np.float32), obs=pd.DataFrame(index=["a", "b", "c"]), var=pd.DataFrame(index=["x", "y"]), **kw)

# pandas-3 / anndata>=0.11 (infer_string): the index is written as a nullable-string-array group
small().write_h5ad("f1_nsa_index.h5ad")
with h5py.File("f1_nsa_index.h5ad", "a") as f:
    del f["obs/_index"]; g = f["obs"].create_group("_index"); enc(g, "nullable-string-array", "0.1.0"); g.attrs["na-value"] = "NaN"
    d = g.create_dataset("values", data=np.array(["a", "b", "c"], dtype=object), dtype=h5py.string_dtype()); enc(d, "string-array")
    d = g.create_dataset("mask", data=np.zeros(3, bool)); enc(d, "array")
# nullable UInt32/UInt64 with values >= 2**31, Int64 > 2**53
a = small(); a.obs["u32"] = pd.array([3_000_000_000, None, 1], dtype="UInt32"); a.obs["i64"] = pd.array([2**53 + 1, None, 1], dtype="Int64"); a.obs["big"] = np.array([2**60 + 1, 5, -2**55 - 3], np.int64)
a.write_h5ad("f2_nullable_uint.h5ad")
# CSR with a duplicate (row, col) entry (scipy's toarray sums duplicates)
ad.AnnData(X=sp.csr_matrix((np.array([2, 5], np.float32), np.array([1, 1]), np.array([0, 2, 2, 2])), shape=(3, 2))).write_h5ad("f3_csr_dup.h5ad")
# bool scalar in uns, file read through the h5wasm fallback (dense link storage from track_order)
h5py.get_config().track_order = True
small(uns={"flag": False, "u32": np.uint32(2**32 - 1), "u64": np.uint64(2**64 - 1), "i8": np.int8(-5),
           "f32": np.float32(1.5), "f64": 1.0, "u64mid": np.uint64(2**60), "neg0": -0.0,
           "params": {"resolution": 1.0, "n_pcs": 50}}).write_h5ad("f4_bool_trackorder.h5ad")
h5py.get_config().track_order = False
# unwritten HDF5 chunks with a non-zero fill value
small().write_h5ad("f5_fill.h5ad")
with h5py.File("f5_fill.h5ad", "a") as f:
    del f["X"]; d = f.create_dataset("X", shape=(3, 2), dtype="f4", chunks=(1, 2), fillvalue=7.0); enc(d, "array"); d[0] = 1.0
# rec-array in uns (scanpy rank_genes_groups), h5ad and zarr
a = small(uns={"rank_genes_groups": {
    "names": np.rec.fromarrays([np.array(["x", "y"]), np.array(["y", "x"])], names=["g0", "g1"]),
    "scores": np.rec.fromarrays([np.array([2.5, 1.0], np.float32), np.array([3.0, -1.0], np.float32)], names=["g0", "g1"]),
    "params": {"method": "wilcoxon"},
    "kinds": np.rec.fromarrays([np.array([True, False, True]), np.array([3_000_000_000, 1, 2], np.uint32),
                                np.array([-5, 0, 7], np.int16), np.array([2**40, -1, 0], np.int64)],
                               names=["b", "u4", "i2", "i8"])}})
a.uns.update(u32=np.uint32(2**32 - 1), u64=np.uint64(2**64 - 1), i8=np.int8(-5), f32=np.float32(1.5))
a.write_h5ad("f6_recarray.h5ad"); shutil.rmtree("f6_recarray.zarr", ignore_errors=True); a.write_zarr("f6_recarray.zarr")
# categorical with integer / bool categories
a = small(); a.obs["icat"] = pd.Categorical([10, 2, 10]); a.obs["icat_na"] = pd.Categorical([np.nan, 2.5, 2.5]); a.write_h5ad("f7_intcat.h5ad")
a = small(); a.obs["bcat"] = pd.Categorical([True, False, True]); a.write_h5ad("f7_boolcat.h5ad")
# uint64 indptr (valid for h5py/scipy readers; other writers use unsigned)
ad.AnnData(X=sp.csr_matrix(np.eye(3, 2, dtype=np.float32))).write_h5ad("f8_u64_indptr.h5ad")
with h5py.File("f8_u64_indptr.h5ad", "a") as f:
    v = f["X/indptr"][()]; del f["X/indptr"]; f["X"].create_dataset("indptr", data=v.astype("uint64"))
# newer encodings: nullable-string-array column; awkward-array in obsm; null + 2-D strings in uns
small().write_h5ad("f9_nsa_col.h5ad")
with h5py.File("f9_nsa_col.h5ad", "a") as f:
    g = f["obs"].create_group("ns"); enc(g, "nullable-string-array", "0.1.0"); g.attrs["na-value"] = "NA"
    d = g.create_dataset("values", data=np.array(["p", "", "q"], dtype=object), dtype=h5py.string_dtype()); enc(d, "string-array")
    d = g.create_dataset("mask", data=np.array([False, True, False])); enc(d, "array")
    f["obs"].attrs["column-order"] = ["ns"]
small().write_h5ad("f9_awkward.h5ad")
with h5py.File("f9_awkward.h5ad", "a") as f:
    g = f.require_group("obsm").create_group("ragged"); enc(g, "awkward-array", "0.1.0"); g.attrs["length"] = 3; g.attrs["form"] = "{}"
small().write_h5ad("f9_uns.h5ad")
with h5py.File("f9_uns.h5ad", "a") as f:
    u = f.require_group("uns")
    d = u.create_dataset("nothing", data=h5py.Empty("f")); enc(d, "null", "0.1.0")
    g = u.create_group("nsa"); enc(g, "nullable-string-array", "0.1.0")
    d = g.create_dataset("values", data=np.array(["u", "", "w"], dtype=object), dtype=h5py.string_dtype()); enc(d, "string-array")
    d = g.create_dataset("mask", data=np.array([False, True, False])); enc(d, "array")
    d = u.create_dataset("s2d", data=np.array([["a", "b"], ["c", "d"]], dtype=object), dtype=h5py.string_dtype()); enc(d, "string-array")
# zero-length arrays in zarr: nnz=0 sparse X, empty uns array, zero obs
for name, a in [("f10_empty_csr.zarr", ad.AnnData(X=sp.csr_matrix((3, 2), dtype=np.float32))),
                ("f10_empty_uns.zarr", small(uns={"e": np.array([], dtype=float)})),
                ("f10_zero_obs.zarr", ad.AnnData(X=np.ones((0, 2), np.float32)))]:
    shutil.rmtree(name, ignore_errors=True); a.write_zarr(name)
# HDF5 file with a 512-byte user block (valid HDF5; h5py/anndata read it)
with h5py.File("f11_userblock.h5ad", "w", userblock_size=512) as f:
    with h5py.File("f3_csr_dup.h5ad", "r") as s:
        for k in s: s.copy(k, f)
        for k, v in s.attrs.items(): f.attrs[k] = v

# raw.var with an ordered categorical whose categories are not sorted
a = small(); a.var["c"] = pd.Categorical(["z", "x"], categories=["z", "y", "x"], ordered=True)
a.raw = a; a.write_h5ad("f12_raw_cats.h5ad")
# named indexes (pandas' index.name), as anndata stores them (the `_index` attribute names the key)
a = small(); a.obs.index.name = "cell_id"; a.var.index.name = "gene_ids"; a.obs["n"] = [1, 2, 3]
a.write_h5ad("f13_index_names.h5ad"); shutil.rmtree("f13_index_names.zarr", ignore_errors=True); a.write_zarr("f13_index_names.zarr")
# encodings newer than anndata 0.12's, and a type anndata does not know
small().write_h5ad("f14_newer.h5ad")
with h5py.File("f14_newer.h5ad", "a") as f:
    enc(f["obs"], "dataframe", "0.3.0")
small().write_h5ad("f14_unknown.h5ad")
with h5py.File("f14_unknown.h5ad", "a") as f:
    g = f.require_group("uns").create_group("ds"); enc(g, "xarray-dataset", "0.1.0")
# DataFrames in uns and obsm: an index (named) and categoricals, ordered or of numbers
t = pd.DataFrame({"c": pd.Categorical(["z", "a"], categories=["z", "a", "m"], ordered=True),
                  "k": pd.Categorical([3, 1]), "x": [0.5, 1.5]}, index=pd.Index(["r1", "r2"], name="gene"))
a = small(uns={"table": t}); a.obsm["meta"] = pd.DataFrame({"g": pd.Categorical(["b", "a", "b"], categories=["b", "a"])}, index=a.obs_names)
a.obs["k"] = pd.Categorical([2, 7, 2], categories=[7, 2], ordered=True)
a.write_h5ad("f15_frames.h5ad"); shutil.rmtree("f15_frames.zarr", ignore_errors=True); a.write_zarr("f15_frames.zarr")
# uns numbers of other widths than int64/float64 (numpy scalars), nested too
a = small(uns={"i8": np.int8(-3), "f32": np.float32(0.5), "u16": np.uint16(7), "u64": np.uint64(5),
               "f64": 2.5, "big": np.int8(100), "inner": {"i32": np.int32(12)}})
a.write_h5ad("f16_scalars.h5ad"); shutil.rmtree("f16_scalars.zarr", ignore_errors=True); a.write_zarr("f16_scalars.zarr")
# int64 indices and indptr, float64 values (scanpy and h5py write these for large matrices),
# h5ad (chunked, as anndata writes) and zarr; then one index of 2**32 + 1, which a 32-bit
# wrap would turn into the valid column 1
rng = np.random.default_rng(17)
m = sp.random(40, 30, density=0.2, format="csr", dtype=np.float64, random_state=rng)
a = ad.AnnData(X=m, obs=pd.DataFrame({"g": np.arange(40) % 3}, index=[f"c{i}" for i in range(40)]),
               var=pd.DataFrame({"hv": np.arange(30) % 4 == 0}, index=[f"v{j}" for j in range(30)]), dtype=np.float64)
a.layers["counts"] = m.copy()
a.write_h5ad("f17_int64.h5ad"); shutil.rmtree("f17_int64.zarr", ignore_errors=True); a.write_zarr("f17_int64.zarr")
np.save("f17_dense.npy", m.toarray())
def wide(g, put):  # X and the layer's indices and indptr rewritten as int64, data float64
    for k in ["X", "layers/counts"]:
        for n, t in [("indices", np.int64), ("indptr", np.int64), ("data", np.float64)]:
            put(g, f"{k}/{n}", g[f"{k}/{n}"][()].astype(t))
def put_h5(f, path, v): attrs = dict(f[path].attrs); del f[path]; d = f.create_dataset(path, data=v, chunks=True); d.attrs.update(attrs)
def put_z(z, path, v): attrs = dict(z[path].attrs); del z[path]; d = z.create_dataset(path, data=v); d.attrs.update(attrs)
with h5py.File("f17_int64.h5ad", "a") as f: wide(f, put_h5)
wide(zarr.open("f17_int64.zarr", "a"), put_z)
shutil.copy("f17_int64.h5ad", "f17_wrap.h5ad")
with h5py.File("f17_wrap.h5ad", "a") as f:
    ix = f["X/indices"][()]; ix[f["X/indptr"][5]] = 2**32 + 1; f["X/indices"][...] = ix
    assert f["X/indices"].dtype == np.int64 and f["X/indptr"].dtype == np.int64 and f["X/data"].dtype == np.float64
assert ad.read_zarr("f17_int64.zarr").X.indices.dtype == np.int64
# Sparse index arrays that a careless conversion turns into valid ones: a uint64 index of
# 2**64 - 1 (rounds to 2**64, wraps to 0), a float index of 1.5 (truncates to 1), an int64
# indptr entry of 2**32 + 2 (wraps to 2) in a row no query selects
def tiny():
    x = sp.csr_matrix(np.array([[0, 1, 0, 0, 2], [3, 0, 0, 0, 0], [0, 0, 4, 0, 0], [0, 5, 0, 6, 0]], np.float32))
    return ad.AnnData(X=x, obs=pd.DataFrame({"g": np.arange(4)}, index=[f"c{i}" for i in range(4)]),
                      var=pd.DataFrame(index=[f"v{j}" for j in range(5)]))
for name, key, t, at, v in [("f18_u64_index.h5ad", "indices", np.uint64, 2, 2**64 - 1),
                            ("f18_f64_index.h5ad", "indices", np.float64, 2, 1.5),
                            ("f18_ptr_wrap.h5ad", "indptr", np.int64, 1, 2**32 + 2)]:
    tiny().write_h5ad(name)
    with h5py.File(name, "a") as f:
        a = f[f"X/{key}"][()].astype(t); a[at] = t(v); del f[f"X/{key}"]; f["X"].create_dataset(key, data=a)
# Dense X in uncompressed chunks wider and taller than the matrix (h5py allows it with
# maxshape=None): chunk rows lie a chunk's width apart, not a row's; and the same gzip'd
X = np.arange(2700.).reshape(90, 30) + 1
for name, comp in [("f19_wide_chunks.h5ad", None), ("f19_wide_chunks_gzip.h5ad", "gzip")]:
    ad.AnnData(X, dtype=X.dtype, obs=pd.DataFrame({"k": np.arange(90)}, index=[f"c{i}" for i in range(90)])).write_h5ad(name)
    with h5py.File(name, "r+") as f:
        attrs = dict(f["X"].attrs); del f["X"]
        d = f.create_dataset("X", data=X, chunks=(64, 64), maxshape=(None, None), compression=comp); d.attrs.update(attrs)
# bool and float16 X (anndata keeps their dtype), h5ad and zarr
B = np.array([[True, False], [False, True], [True, True]])
for kind, M in [("bool", B), ("f16", B.astype(np.float16) * 1.5)]:
    a = ad.AnnData(M, dtype=M.dtype, obs=pd.DataFrame({"k": [0, 1, 2]}, index=["a", "b", "c"]))
    a.write_h5ad(f"f20_{kind}.h5ad"); shutil.rmtree(f"f20_{kind}.zarr", ignore_errors=True); a.write_zarr(f"f20_{kind}.zarr")
# Nullable columns with nothing missing, raw.var with a named index
a = ad.AnnData(X=np.ones((3, 2), np.float32), obs=pd.DataFrame({
    "i": pd.array([1, 2, 3], dtype="Int64"), "u8": pd.array([1, 2, 3], dtype="UInt8"),
    "b": pd.array([True, False, True], dtype="boolean"), "bn": pd.array([True, None, False], dtype="boolean")},
    index=["a", "b", "c"]), var=pd.DataFrame(index=pd.Index(["x", "y"], name="gene_symbol")))
a.raw = a
a.write_h5ad("f21_nullable_raw.h5ad"); shutil.rmtree("f21_nullable_raw.zarr", ignore_errors=True); a.write_zarr("f21_nullable_raw.zarr")
# A 3-D array in uns (kept with its shape), and one in obsm (anndata allows n dimensions there)
a = small(uns={"a3": np.arange(8, dtype=np.int64).reshape(2, 2, 2)})
a.write_h5ad("f22_uns3d.h5ad"); shutil.rmtree("f22_uns3d.zarr", ignore_errors=True); a.write_zarr("f22_uns3d.zarr")
a = small(); a.obsm["t"] = np.zeros((3, 2, 2), np.float32); a.obs["k"] = [0, 1, 2]
a.write_h5ad("f22_obsm3d.h5ad")
# A DataFrame in uns with pandas' default RangeIndex (stored as int64 numbers)
small(uns={"df": pd.DataFrame({"v": [1.5, 2.5, 3.5]})}).write_h5ad("f23_uns_df_range.h5ad")
# A zarr X of more than 256 MB whose last chunks zarr left unwritten (write_empty_chunks=False:
# they hold only the fill value): rows 0..59999 stored (chunk k of 2,000 rows all k + 1), the rest 0
shutil.rmtree("f24_tail_unwritten.zarr", ignore_errors=True)
ad.AnnData(sp.csr_matrix((70000, 1000), dtype=np.float32),
           obs=pd.DataFrame({"k": np.arange(70000)}, index=[f"c{i}" for i in range(70000)])).write_zarr(
    "f24_tail_unwritten.zarr")
g = zarr.open_group("f24_tail_unwritten.zarr")
del g["X"]
x = g.create_dataset("X", shape=(70000, 1000), chunks=(2000, 1000), dtype="f4", fill_value=0,
                     write_empty_chunks=False)
for k in range(30):
    x[k * 2000:(k + 1) * 2000] = k + 1
x.attrs.update({"encoding-type": "array", "encoding-version": "0.2.0"})
assert not os.path.exists("f24_tail_unwritten.zarr/X/30.0")
