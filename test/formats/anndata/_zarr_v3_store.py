"""Hand-craft zarr v3 AnnData stores as zarr-python 3 + anndata 0.12/0.13 write them
(neither is installed here): the writer (Store). _zarr_v3.py writes the test's
stores with it; bench/_layouts_v3.py converts zarr v2 stores to v3 with it.

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


