# A variant of the gzip atlas with other HDF5 filters, as users also write
# them: `lzf` (h5py's LZF: adata.write_h5ad(compression="lzf")) or `shuffle`
# (gzip after h5py's byte shuffle). Every dataset is copied with its chunk
# shape and attributes; scalars and strings as they are.
#   python3 bench/_atlas_variant.py <gzip atlas> <out> lzf|shuffle
import sys

import h5py

src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3]
opts = {"lzf": dict(compression="lzf"), "shuffle": dict(compression="gzip", shuffle=True)}[kind]
tmp = dst + ".part"
with h5py.File(src, "r") as f, h5py.File(tmp, "w") as g:
    for k, v in f.attrs.items():
        g.attrs[k] = v

    def copy(name, obj):
        if isinstance(obj, h5py.Group):
            grp = g.require_group(name)
            for k, v in obj.attrs.items():
                grp.attrs[k] = v
            return
        if obj.shape == () or obj.dtype.kind in "OS":
            d = g.create_dataset(name, data=obj[()], dtype=obj.dtype)
        else:
            d = g.create_dataset(name, data=obj[()], chunks=obj.chunks or True, **opts)
        for k, v in obj.attrs.items():
            d.attrs[k] = v

    f.visititems(copy)
import os

os.replace(tmp, dst)
