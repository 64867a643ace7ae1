"""Hand-craft zarr v3 AnnData stores as zarr-python 3 + anndata 0.12/0.13 write them
(neither is installed here), with the writer in _zarr_v3_store.py.
Usage: python3 _zarr_v3.py <out dir>"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _zarr_v3_store import ZSTD, Store, crc32c, enc, encode_inner  # noqa: E402

OUT = sys.argv[1]

# ---- the data ----
N, M = 10, 4
rng = np.random.default_rng(0)
Xd = np.zeros((N, M), dtype=np.float32)
for i in range(N):
    for j in range(M):
        if (i * 7 + j * 3) % 5 in (0, 2):
            Xd[i, j] = np.float32(i + j / 10 + 0.25)
Xd[4:8, :] = 0  # rows 4..7 all zero: an empty chunk with chunks (4, *)
counts = (Xd * 4).astype(np.int32)
obs_names = np.array([f"cell_{i}" for i in range(N)], dtype=object)
var_names = np.array([f"gene_{j}" for j in range(M)], dtype=object)
cell_type = np.array(["B", "T", "NK", "T", "B", "T", "T", "NK", "B", "T"], dtype=object)
cats = np.array(["B", "NK", "T"], dtype=object)
codes = np.array([list(cats).index(c) for c in cell_type], dtype=np.int8)
n_genes = np.arange(N, dtype=np.int64) * 3 + 1
score = np.array([0.5, np.nan, 1.25, -2.0, np.nan, 3.0, 0.0, 7.5, np.nan, 1.0])
is_doublet = np.array([False, True, False, False, False, False, False, False, True, False])
hv = np.array([True, False, True, False])
X_pca = (np.arange(N * 3, dtype=np.float32).reshape(N, 3) / 4 - 1).astype(np.float32)


def csr(d):
    indptr = [0]
    idx, data = [], []
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            if d[i, j] != 0:
                idx.append(j)
                data.append(d[i, j])
        indptr.append(len(idx))
    return (np.array(data, dtype=d.dtype), np.array(idx, dtype=np.int32),
            np.array(indptr, dtype=np.int32))


def write(name, dense_x=False, consolidate=True, shard=False, chunks=None, extra=False):
    s = Store(os.path.join(OUT, name), consolidate=consolidate, shard=shard, chunks=chunks)
    s.group("", enc("anndata", "0.1.0"))
    if dense_x:
        s.array("X", Xd, enc("array", "0.2.0"))
    else:
        s.group("X", {"shape": [N, M], **enc("csr_matrix", "0.1.0")})
        d, i, p = csr(Xd)
        s.array("X/data", d, {})
        s.array("X/indices", i, {})
        s.array("X/indptr", p, {})
    cols = ["cell_type", "n_genes", "score", "is_doublet"]
    s.group("obs", {"_index": "_index", "column-order": cols, **enc("dataframe", "0.2.0")})
    s.array("obs/_index", obs_names, enc("string-array", "0.2.0"))
    s.group("obs/cell_type", {"ordered": False, **enc("categorical", "0.2.0")})
    s.array("obs/cell_type/codes", codes, enc("array", "0.2.0"))
    s.array("obs/cell_type/categories", cats, enc("string-array", "0.2.0"))
    s.array("obs/n_genes", n_genes, enc("array", "0.2.0"))
    s.array("obs/score", score, enc("array", "0.2.0"))
    s.array("obs/is_doublet", is_doublet, enc("array", "0.2.0"))
    s.group("var", {"_index": "_index", "column-order": ["highly_variable"],
                    **enc("dataframe", "0.2.0")})
    s.array("var/_index", var_names, enc("string-array", "0.2.0"))
    s.array("var/highly_variable", hv, enc("array", "0.2.0"))
    s.group("obsm", enc("dict", "0.1.0"))
    s.array("obsm/X_pca", X_pca, enc("array", "0.2.0"))
    s.group("varm", enc("dict", "0.1.0"))
    s.group("obsp", enc("dict", "0.1.0"))
    s.group("varp", enc("dict", "0.1.0"))
    s.group("layers", enc("dict", "0.1.0"))
    s.group("layers/counts", {"shape": [N, M], **enc("csr_matrix", "0.1.0")})
    d, i, p = csr(counts)
    s.array("layers/counts/data", d, {})
    s.array("layers/counts/indices", i, {})
    s.array("layers/counts/indptr", p, {})
    s.group("uns", enc("dict", "0.1.0"))
    s.group("uns/nested", enc("dict", "0.1.0"))
    s.group("uns/nested/deeper", enc("dict", "0.1.0"))
    s.array("uns/nested/deeper/pi", np.array(3.5), enc("numeric-scalar", "0.2.0"), scalar=True)
    s.array("uns/nested/label", np.array("héllo", dtype=object), enc("string", "0.2.0"),
            scalar=True)
    s.array("uns/nested/flag", np.array(True), enc("numeric-scalar", "0.2.0"), scalar=True)
    s.array("uns/scalar", np.array(42), enc("numeric-scalar", "0.2.0"), scalar=True)
    s.array("uns/strs", np.array(["x", "yy", "zzz"], dtype=object), enc("string-array", "0.2.0"))
    s.array("uns/vec", np.array([1.5, 2.5, 3.5]), enc("array", "0.2.0"))
    if extra:
        s.array("uns/zero", np.array(0), enc("numeric-scalar", "0.2.0"), scalar=True)
        s.array("uns/empty_str", np.array("", dtype=object), enc("string", "0.2.0"), scalar=True)
    s.finish()


write("csr.zarr")
write("csr_nocons.zarr", consolidate=False)
write("dense.zarr", dense_x=True)
small = {p: (4,) for p in ["obs/_index", "obs/cell_type/codes", "obs/n_genes", "obs/score",
                          "obs/is_doublet", "X/data", "X/indices", "X/indptr",
                          "layers/counts/data", "layers/counts/indices", "layers/counts/indptr"]}
small.update({"X": (4, 3), "obsm/X_pca": (4, 2), "var/_index": (2,), "var/highly_variable": (2,)})
write("chunked.zarr", dense_x=True, chunks=small, extra=True)
write("chunked_csr.zarr", chunks=small, extra=True)
write("sharded.zarr", shard=True)
write("sharded_dense.zarr", dense_x=True, shard=True)
write("sharded_chunked.zarr", dense_x=True, shard=True, chunks=small)

# expected values for the reader test
exp = {
    "N": N, "M": M, "X": Xd.tolist(), "counts": counts.tolist(), "X_pca": X_pca.tolist(),
    "obs_names": list(obs_names), "var_names": list(var_names), "cell_type": list(cell_type),
    "n_genes": n_genes.tolist(), "score": [None if np.isnan(v) else v for v in score],
    "is_doublet": is_doublet.tolist(), "hv": hv.tolist(),
}
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(exp, f)
print("written", sorted(os.listdir(OUT)))

def finish_big(s):
    """The rest of a big store beside its X: obs and var names only, the other groups empty."""
    s.group("obs", {"_index": "_index", "column-order": [], **enc("dataframe", "0.2.0")})
    s.chunks = {"obs/_index": (70000,)}
    s.array("obs/_index", np.array([f"c{i}" for i in range(N)], dtype=object),
            enc("string-array", "0.2.0"))
    s.group("var", {"_index": "_index", "column-order": [], **enc("dataframe", "0.2.0")})
    s.array("var/_index", np.array([f"g{i}" for i in range(M)], dtype=object),
            enc("string-array", "0.2.0"))
    for g in ["obsm", "varm", "obsp", "varp", "layers", "uns"]:
        s.group(g, enc("dict", "0.1.0"))
    s.finish()


# A sharded store whose X claims > 256 MB: only its last shard is stored (the
# others all fill value, not written, as write_empty_chunks=False leaves them).
N, M = 70000, 1000
s = Store(os.path.join(OUT, "big_sharded.zarr"), consolidate=True, shard=True)
s.group("", enc("anndata", "0.1.0"))
base = os.path.join(s.root, "X"); os.makedirs(base)
doc = {"shape": [N, M], "data_type": "float32",
       "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2000, 1000]}},
       "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
       "fill_value": 0.0,
       "codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [1000, 500],
                   "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, ZSTD],
                   "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
                   "index_location": "end"}}],
       "attributes": enc("array", "0.2.0"), "zarr_format": 3, "node_type": "array", "storage_transformers": []}
s._write_doc("X", doc)
blk = np.zeros((1000, 500), dtype=np.float32); blk[999, 0] = 7.0
e = encode_inner(blk, blk)
index = [(2**64-1, 2**64-1), (2**64-1, 2**64-1), (0, len(e)), (2**64-1, 2**64-1)]
ib = b"".join(struct.pack("<QQ", o, n) for o, n in index)
os.makedirs(os.path.join(base, "c", "34"))
open(os.path.join(base, "c", "34", "0"), "wb").write(e + ib + struct.pack("<I", crc32c(ib)))
finish_big(s)

# A store whose X (280 MB) has its last chunks unwritten (all fill value, as
# write_empty_chunks=False leaves them): rows 0..59999 stored, chunk k all k + 1.
s = Store(os.path.join(OUT, "big_tail.zarr"), consolidate=True)
s.group("", enc("anndata", "0.1.0"))
base = os.path.join(s.root, "X"); os.makedirs(base)
doc = dict(doc, chunk_grid={"name": "regular", "configuration": {"chunk_shape": [2000, 1000]}},
           codecs=[{"name": "bytes", "configuration": {"endian": "little"}}, ZSTD])
s._write_doc("X", doc)
for k in range(30):
    os.makedirs(os.path.join(base, "c", str(k)))
    blk = np.full((2000, 1000), k + 1, dtype=np.float32)
    open(os.path.join(base, "c", str(k), "0"), "wb").write(encode_inner(blk, blk))
finish_big(s)
