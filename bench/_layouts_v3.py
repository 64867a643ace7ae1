"""A zarr v2 AnnData store rewritten as zarr v3 the way anndata >= 0.12 writes it with
zarr-python 3 (neither is installed here): every array with the v2 store's chunks,
bytes + zstd (zarr-python 3's default compressor), not sharded, consolidated
metadata in the root zarr.json; with --shard, sharded as anndata 0.13 writes by default. The writer
is test/formats/anndata/_zarr_v3_store.py.
Usage: python3 _layouts_v3.py <v2 store> <v3 store> [--shard]"""
import os
import sys

import zarr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "formats", "anndata"))
from _zarr_v3_store import Store  # noqa: E402

src, dst, shard = sys.argv[1], sys.argv[2], "--shard" in sys.argv[3:]
g = zarr.open_group(src, mode="r")
chunks = {}


def walk(node, path):
    for k, v in node.arrays():
        chunks[f"{path}{k}"] = v.chunks
    for k, v in node.groups():
        walk(v, f"{path}{k}/")


def convert(node, path):
    s.group(path.rstrip("/"), dict(node.attrs))
    for k, v in sorted(node.arrays()):
        a = v[...]
        s.array(f"{path}{k}", a, dict(v.attrs), scalar=(a.ndim == 0))
    for k, v in sorted(node.groups()):
        convert(v, f"{path}{k}/")


walk(g, "")
s = Store(dst, consolidate=True, shard=shard, chunks=chunks)
convert(g, "")
s.finish()
