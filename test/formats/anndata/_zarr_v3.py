"""Hand-craft zarr v3 AnnData stores as zarr-python 3 + anndata 0.12/0.13 write them
(neither is installed here). Usage: python3 _zarr_v3.py <out dir>

Sources read (zarr-python main d44f9f9, anndata 0.12.19 / 0.13.2):
- zarr/core/metadata/v3.py ArrayV3Metadata.to_dict (field order: shape, data_type,
  chunk_grid, chunk_key_encoding, fill_value, codecs, attributes, zarr_format,
  node_type, storage_transformers; dimension_names dropped when None)
- zarr/core/_json.py json.dumps(indent=config json_indent=2)
- zarr/core/array.py default_serializer_v3 / default_compressors_v3:
  bytes{endian: little} for multi-byte dtypes, bare {"name": "bytes"} for
  bool/int8/uint8, vlen-utf8 {configuration: {}} for strings; zstd level 0 checksum false
- zarr/core/chunk_key_encodings.py default encoding, "/" separator, "c/0/1", "c" for 0-d
- write_empty_chunks False: chunks all equal to the fill value not stored
- zarr/core/group.py GroupMetadata / ConsolidatedMetadata (inline, flattened,
  sorted by (depth, casefold)), child groups with empty consolidated_metadata
- zarr/codecs/sharding.py: index (offset,nbytes) uint64 LE per inner chunk,
  2**64-1 for empty, + crc32c, at the end
- anndata _io/specs/methods.py: write_vlen_string_array_zarr (VariableLengthUTF8,
  fill "" default), write_scalar_zarr (0-d, no shards), write_sparse_compressed
  (attrs shape), write_dataframe, write_categorical; 0.13 settings:
  zarr_write_format=3, auto_shard_zarr_v3=True
"""
import json
import math
import os
import shutil
import struct
import sys

import numcodecs
import numpy as np
from numcodecs import VLenUTF8, Zstd

OUT = sys.argv[1]

ZSTD = {"name": "zstd", "configuration": {"level": 0, "checksum": False}}


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def guess_chunks(shape, typesize, increment_bytes=256 * 1024, min_bytes=128 * 1024,
                 max_bytes=64 * 1024 * 1024):
    if typesize == 0:
        return tuple(shape)
    ndims = len(shape)
    chunks = np.maximum(np.array(shape, dtype="=f8"), 1)
    dset_size = np.prod(chunks) * typesize
    target_size = increment_bytes * (2 ** np.log10(dset_size / (1024.0 * 1024)))
    target_size = min(max(target_size, min_bytes), max_bytes)
    idx = 0
    while True:
        chunk_bytes = np.prod(chunks) * typesize
        if (chunk_bytes < target_size or abs(chunk_bytes - target_size) / target_size < 0.5) \
                and chunk_bytes < max_bytes:
            break
        if np.prod(chunks) == 1:
            break
        chunks[idx % ndims] = math.ceil(chunks[idx % ndims] / 2.0)
        idx += 1
    return tuple(int(x) for x in chunks)


def zdtype(a):
    if a.dtype.kind in "OUT":
        return "string"
    return {"b": "bool"}.get(a.dtype.kind, a.dtype.name)


def serializer(a):
    if a.dtype.kind in "OUT":
        return {"name": "vlen-utf8", "configuration": {}}
    if a.dtype.itemsize == 1:
        return {"name": "bytes"}
    return {"name": "bytes", "configuration": {"endian": "little"}}


def default_fill(a):
    k = a.dtype.kind
    if k in "OUT":
        return ""
    if k == "b":
        return False
    if k == "f":
        return 0.0
    return 0


def encode_inner(block, a):
    if a.dtype.kind in "OUT":
        raw = VLenUTF8().encode(np.asarray(block, dtype=object).ravel())
    else:
        raw = np.ascontiguousarray(block).astype(block.dtype.newbyteorder("<")).tobytes()
    return bytes(Zstd(level=0).encode(raw))


def block_of(a, coords, chunks, fill):
    """Chunk at `coords`, padded to the full chunk shape with `fill` (zarr encodes edge chunks whole)."""
    if a.ndim == 0:
        return a.copy()
    sl = tuple(slice(c * s, min((c + 1) * s, n)) for c, s, n in zip(coords, chunks, a.shape))
    part = a[sl]
    if a.dtype.kind in "OUT":
        out = np.full(chunks, fill, dtype=object)
    else:
        out = np.full(chunks, fill, dtype=a.dtype)
    out[tuple(slice(0, p) for p in part.shape)] = part
    return out


def is_fill(block, fill):
    if block.dtype == object:
        return all(v == fill for v in block.ravel())
    return bool(np.all(block == fill))


class Store:
    def __init__(self, root, consolidate=True, shard=False, chunks=None):
        self.root = root
        self.consolidate = consolidate
        self.shard = shard
        self.chunks = chunks or {}  # path -> chunk shape (user dataset_kwargs chunks)
        self.meta = {}  # path -> metadata dict
        if os.path.exists(root):
            shutil.rmtree(root)
        os.makedirs(root)

    def _write_doc(self, path, doc):
        d = os.path.join(self.root, path)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "zarr.json"), "w") as f:
            f.write(json.dumps(doc, indent=2))
        self.meta[path] = doc

    def group(self, path, attrs):
        doc = {"attributes": attrs, "zarr_format": 3, "node_type": "group"}
        self._write_doc(path, doc)

    def array(self, path, a, attrs, scalar=False):
        a = np.asarray(a)
        fill = default_fill(a)
        itemsize = 16 if a.dtype.kind in "OUT" else a.dtype.itemsize  # zarr: vlen item_size 16?
        if a.ndim == 0:
            chunks = ()
        else:
            chunks = tuple(self.chunks.get(path, guess_chunks(a.shape, a.dtype.itemsize if a.dtype.kind not in "OUT" else 16)))
        inner_codecs = [serializer(a), ZSTD]
        sharded = self.shard and not scalar and a.ndim > 0
        if sharded:
            # anndata auto shards, target 1 GB: chunks per shard axis k grows while
            # chunk*(k+1) <= shape on every axis.
            k = 1
            nbytes = math.prod(chunks) * (a.dtype.itemsize if a.dtype.kind not in "OUT" else 16)
            while nbytes * ((k + 1) ** len(chunks)) <= 1_000_000_000 and all(
                    c * (k + 1) <= n for c, n in zip(chunks, a.shape)):
                k += 1
            grid = tuple(c * k for c in chunks)
            codecs = [{
                "name": "sharding_indexed",
                "configuration": {
                    "chunk_shape": list(chunks),
                    "codecs": inner_codecs,
                    "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                                     {"name": "crc32c"}],
                    "index_location": "end",
                },
            }]
        else:
            grid = chunks
            codecs = inner_codecs
        doc = {
            "shape": list(a.shape),
            "data_type": zdtype(a),
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(grid)}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": fill,
            "codecs": codecs,
            "attributes": attrs,
            "zarr_format": 3,
            "node_type": "array",
            "storage_transformers": [],
        }
        self._write_doc(path, doc)
        base = os.path.join(self.root, path)
        if a.ndim == 0:
            if not is_fill(a, fill):
                with open(os.path.join(base, "c"), "wb") as f:
                    f.write(encode_inner(a, a))
            return
        ngrid = [math.ceil(n / g) for n, g in zip(a.shape, grid)]
        for coords in np.ndindex(*ngrid):
            key = os.path.join(base, "c", *map(str, coords))
            if sharded:
                per = [g // c for g, c in zip(grid, chunks)]
                body, index = b"", []
                for inner in np.ndindex(*per):
                    abs_c = [o * p + i for o, p, i in zip(coords, per, inner)]
                    # inner chunk wholly beyond the array: fill
                    if any(c * s >= n for c, s, n in zip(abs_c, chunks, a.shape)):
                        index.append((2**64 - 1, 2**64 - 1))
                        continue
                    blk = block_of(a, abs_c, chunks, fill)
                    if is_fill(blk, fill):
                        index.append((2**64 - 1, 2**64 - 1))
                        continue
                    enc = encode_inner(blk, a)
                    index.append((len(body), len(enc)))
                    body += enc
                if all(i[0] == 2**64 - 1 for i in index):
                    continue
                ib = b"".join(struct.pack("<QQ", o, n) for o, n in index)
                data = body + ib + struct.pack("<I", crc32c(ib))
            else:
                blk = block_of(a, coords, chunks, fill)
                if is_fill(blk, fill):
                    continue
                data = encode_inner(blk, a)
            os.makedirs(os.path.dirname(key), exist_ok=True)
            with open(key, "wb") as f:
                f.write(data)

    def finish(self):
        if not self.consolidate:
            return
        flat = {}
        for p, doc in self.meta.items():
            if p == "":
                continue
            if doc["node_type"] == "group":
                doc = {"attributes": doc["attributes"], "zarr_format": 3,
                       "consolidated_metadata": {"kind": "inline", "must_understand": False,
                                                 "metadata": {}},
                       "node_type": "group"}
            flat[p] = doc
        import unicodedata
        keys = sorted(flat, key=lambda k: (k.count("/"), unicodedata.normalize("NFKC", k).casefold()))
        root = self.meta[""]
        doc = {"attributes": root["attributes"], "zarr_format": 3,
               "consolidated_metadata": {"kind": "inline", "must_understand": False,
                                         "metadata": {k: flat[k] for k in keys}},
               "node_type": "group"}
        with open(os.path.join(self.root, "zarr.json"), "w") as f:
            f.write(json.dumps(doc, indent=2))


def enc(t, v):
    return {"encoding-type": t, "encoding-version": v}


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
s.group("obs", {"_index": "_index", "column-order": [], **enc("dataframe", "0.2.0")})
s.chunks = {"obs/_index": (70000,)}
s.array("obs/_index", np.array([f"c{i}" for i in range(N)], dtype=object), enc("string-array", "0.2.0"))
s.group("var", {"_index": "_index", "column-order": [], **enc("dataframe", "0.2.0")})
s.array("var/_index", np.array([f"g{i}" for i in range(M)], dtype=object), enc("string-array", "0.2.0"))
for g in ["obsm", "varm", "obsp", "varp", "layers", "uns"]:
    s.group(g, enc("dict", "0.1.0"))
s.finish()
