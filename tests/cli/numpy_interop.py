#!/usr/bin/env python3
"""NumPy reads what the toolkit writes and the toolkit reads what NumPy writes, byte for byte:
tensor streams (key, space, np.lib.format array) and safetensors checkpoints."""
import json
import os
import struct
import subprocess
import sys

import numpy as np

TMP = sys.argv[1]
DATA = os.path.join(os.environ["T2I_SRC"], "tests", "data")


def run(*args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, check=True).stdout


def write_stream(path, records):
    with open(path, "wb") as f:
        for key, arr in records:
            f.write(key.encode() + b" ")
            np.lib.format.write_array(f, arr, allow_pickle=False)


def read_stream(data):
    """Reads a stream from bytes the way any NumPy user would: key up to the space, then read_array."""
    import io
    f = io.BytesIO(data)
    out = []
    while True:
        key = b""
        while True:
            c = f.read(1)
            if not c:
                assert not key, "stream ends inside a key"
                return out
            if c == b" ":
                break
            key += c
        out.append((key.decode(), np.lib.format.read_array(f, allow_pickle=False)))


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


rng = np.random.default_rng(7)
records = [
    ("f/vec", rng.standard_normal(1024).astype(np.float32)),
    ("f/img", rng.uniform(-1, 1, (3, 64, 64)).astype(np.float32)),
    ("u/img", rng.integers(0, 256, (3, 76, 76), dtype=np.uint8)),
    ("i32/labels", rng.integers(-2**31, 2**31 - 1, (17,), dtype=np.int32)),
    ("i64/ids", rng.integers(-2**62, 2**62, (2, 3), dtype=np.int64)),
    ("scalar", np.array(3.5, dtype=np.float32)),
    ("empty", np.zeros((0, 5), dtype=np.float32)),
    ("caf\u00e9/0", np.arange(6, dtype=np.uint8).reshape(2, 3)),
]
numpy_path = os.path.join(TMP, "numpy.t2i")
write_stream(numpy_path, records)

# 1. The toolkit reads NumPy's stream and writes back exactly the same bytes.
through = run("tensor-select", "-i", numpy_path)
check(through == open(numpy_path, "rb").read(), "a stream NumPy wrote passes through the toolkit byte for byte")

# 2. tensor-info's statistics agree with NumPy's.
table = run("tensor-info", numpy_path).decode().splitlines()
rows = {line.split("\t")[0]: line.split("\t") for line in table[1:] if not line.startswith("#")}
ok = True
for key, arr in records:
    r = rows[key]
    ok &= r[1] == str(arr.dtype) and r[2] == "[" + ",".join(map(str, arr.shape)) + "]"
    if arr.size:
        for got, want in zip(r[3:6], (arr.min(), arr.astype(np.float64).mean(), arr.max())):
            ok &= abs(float(got) - float(want)) <= 1e-5 * max(1.0, abs(float(want)))
check(ok and len(rows) == len(records), "tensor-info agrees with NumPy on dtypes, shapes, min, mean, max")

# 3. NumPy reads the toolkit's streams: the fixture PNGs as uint8 and float32 [C,H,W].
u8 = dict(read_stream(run("png-to-tensor", os.path.join(DATA, "images"))))
f32 = dict(read_stream(run("png-to-tensor", "--dtype", "float32", os.path.join(DATA, "images"))))
# rgb8.png holds pattern(x, y, c), written by make-png-fixtures.py.
y, x = np.mgrid[0:9, 0:13]
want = np.stack([(x * 37 + y * 11 + c * 85 + (x * y) % 7 * 13) % 256 for c in range(3)]).astype(np.uint8)
check(u8["rgb8"].dtype == np.uint8 and np.array_equal(u8["rgb8"], want), "NumPy reads png-to-tensor's uint8 [C,H,W] pixels exactly")
check(f32["rgb8"].dtype == np.float32 and np.allclose(f32["rgb8"], want / 127.5 - 1, atol=1e-6),
      "float32 images are x / 127.5 - 1")
check(set(u8) == {"grey8", "grey-alpha8", "rgb8", "rgba8", "rgb16", "palette"}, "all fixture images present")

# 4. A safetensors checkpoint written with NumPy is read by tensor-info.
tensors = {"g.fc.weight": rng.standard_normal((4, 6)).astype(np.float32),
           "d.bn.num_batches_tracked": np.array(12, dtype=np.int64),
           "mask": rng.integers(0, 2, (3,), dtype=np.uint8),
           "step": np.array([5], dtype=np.int32)}
header, offset, blobs = {"__metadata__": {"arch": "plain", "epoch": "3"}}, 0, []
for name, arr in tensors.items():
    raw = arr.tobytes()
    header[name] = {"dtype": {"float32": "F32", "int64": "I64", "uint8": "U8", "int32": "I32"}[str(arr.dtype)],
                    "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
    offset += len(raw)
    blobs.append(raw)
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
ck_path = os.path.join(TMP, "numpy.safetensors")
with open(ck_path, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
info = run("tensor-info", ck_path).decode().splitlines()
meta = [l for l in info if l.startswith("# metadata")]
rows = {l.split("\t")[0]: l.split("\t") for l in info if not l.startswith("#") and not l.startswith("tensor\t")}
ok = meta == ["# metadata\tarch\tplain", "# metadata\tepoch\t3"] and set(rows) == set(tensors)
for name, arr in tensors.items():
    ok &= rows[name][2] == "[" + ",".join(map(str, arr.shape)) + "]"
    ok &= abs(float(rows[name][3]) - float(arr.min())) < 1e-5 and abs(float(rows[name][5]) - float(arr.max())) < 1e-5
check(ok, "tensor-info reads a safetensors checkpoint written with NumPy")

# 5. A checkpoint written by the toolkit (by the unit test Checkpoint.WritesTheInteropFixture,
#    run first as a CTest fixture) reads in NumPy with the expected names, dtypes and values.
fixture = os.environ.get("T2I_CHECKPOINT_FIXTURE")
if fixture:
    raw = open(fixture, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    def tensor(name):
        e = head[name]
        dt = {"F32": np.float32, "U8": np.uint8, "I32": np.int32, "I64": np.int64}[e["dtype"]]
        b, end = e["data_offsets"]
        return np.frombuffer(data[b:end], dtype=dt).reshape(e["shape"])
    ok = n % 8 == 0 and head["__metadata__"] == {"arch": "plain", "note": "t2igan interop", "format": "pt"}
    ok &= np.array_equal(tensor("w"), (np.arange(6, dtype=np.float32) * 0.5).reshape(2, 3))
    ok &= np.array_equal(tensor("b"), np.array([1, 2, 3, 255], dtype=np.uint8))
    ok &= tensor("n").shape == () and int(tensor("n")) == 42
    ok &= np.array_equal(tensor("i"), np.array([-1, 0, 7], dtype=np.int32))
    check(ok, "NumPy reads a checkpoint the toolkit wrote")
else:
    print("FAIL: T2I_CHECKPOINT_FIXTURE not set")
    sys.exit(1)
