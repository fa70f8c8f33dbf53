"""Tensor streams the way any NumPy user reads and writes them (key, one space, an .npy array),
for the CLI tests: `from t2i_stream import *` with tests/cli on PYTHONPATH (lib.sh need_numpy)."""
import io

import numpy as np


def load(path):
    """A stream as a list of (key, array)."""
    f = io.BytesIO(open(path, "rb").read())
    out = []
    while True:
        key = b""
        while (c := f.read(1)) not in (b" ", b""):
            key += c
        if not key:
            return out
        out.append((key.decode(), np.lib.format.read_array(f)))


def load_dict(path):
    return dict(load(path))


def save(path, records):
    """Writes (key, array) records, .npy format 1.0."""
    with open(path, "wb") as f:
        for key, a in records:
            f.write(key.encode() + b" ")
            np.lib.format.write_array(f, np.asarray(a), version=(1, 0), allow_pickle=False)


def keys(path):
    return [k for k, _ in load(path)]
