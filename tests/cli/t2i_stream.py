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


def load_safetensors(path):
    """A safetensors file (a checkpoint) as its metadata and a dict of name -> array."""
    import json
    import struct
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    dt = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}
    return meta, {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dt[v["dtype"]]).reshape(v["shape"])
                  for k, v in h.items()}
