#!/usr/bin/env python3
"""Writes the HDF5 files of this folder with h5py, as other programs write them.

Run where h5py uses libhdf5 1.14 (Debian 13: scripts/platform.sh debian13 python3
tests/data/hdf5-1.14/make.py tests/data/hdf5-1.14). The files hold what
test_reliability's write_foreign_file writes (variable-length strings and sequences,
an enum, an opaque value, a chunked compressed string dataset with a comment, numbers
with a fill value), in three formats:

  earliest.h5 libhdf5's default bounds (what the tools write): version 1 object headers;
  v110.h5     libver ('v110', 'v110'), the newest format libhdf5 1.10 reads: version 2
              object headers, version 3 datatypes and superblock, a 512-byte user block;
  latest.h5   libver ('latest', 'latest'): as v110.h5 but with version 4 datatypes,
              which only libhdf5 >= 1.12 reads.

unit.test_reliability checks that the structure guard passes them and that the values
read back (latest.h5: refused by name where libhdf5 is 1.10). Commit the output
together with this script.
"""
import sys

import h5py
import numpy as np


def write(path, libver, userblock):
    with h5py.File(path, "w", libver=libver, userblock_size=userblock, track_order=False) as f:
        text = h5py.string_dtype("utf-8")
        strings = ["print", "", "a longer string, to make the heap objects differ in size"]
        f.attrs.create("notes", strings, dtype=text)
        ints = h5py.vlen_dtype(np.int32)
        sequences = np.empty(3, dtype=object)
        sequences[:] = [np.array([1, 2, 3, 4], np.int32), np.array([], np.int32), np.array([3], np.int32)]
        f.attrs.create("sequences", sequences, dtype=ints)
        f.attrs["normalized"] = np.bool_(True)  # h5py writes an enum of int8
        f.attrs["serial"] = np.void(b"C0FE")  # an opaque value
        f.attrs["lr"] = np.float64(0.5)
        names = f.create_dataset("names", data=strings, dtype=text, chunks=(3,), compression="gzip",
                                 compression_opts=4)
        h5py.h5o.set_comment(names.id, b"names of the three test subjects")
        f.create_dataset("counts", shape=(3,), dtype="<u4", fillvalue=0xDEADCAFE)
        f.attrs["hdf5"] = ".".join(map(str, h5py.version.hdf5_version_tuple))


out = sys.argv[1] if len(sys.argv) > 1 else "."
write(f"{out}/earliest.h5", None, 0)
write(f"{out}/v110.h5", ("v110", "v110"), 512)
write(f"{out}/latest.h5", ("latest", "latest"), 512)
