#!/usr/bin/env python3
"""Writes the corpus of malformed tensor streams and checkpoints in bad/ and bad/EXPECTED.tsv,
which names, for each file, a fragment of the error the toolkit must report. Plain Python (no
NumPy): the .npy headers are built by hand so that each file breaks exactly one rule.

    python3 tests/data/make-bad-corpus.py     # rewrites tests/data/bad/
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bad")


def npy(descr="<f4", shape=(2,), fortran=False, data=None, version=(1, 0), dict_text=None, header_len=None):
    if dict_text is None:
        shape_text = "(%s)" % (", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else ""))
        dict_text = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_text)
    pad = (64 - (10 + len(dict_text) + 1) % 64) % 64
    body = (dict_text + " " * pad + "\n").encode()
    n = len(body) if header_len is None else header_len
    pre = b"\x93NUMPY" + bytes(version) + struct.pack("<H", n)
    if data is None:
        count = 1
        for d in shape:
            count *= d
        size = {"<f4": 4, "|u1": 1, "<i4": 4, "<i8": 8}.get(descr, 4)
        data = bytes(range(256)) * (count * size // 256) + bytes(count * size % 256)
    return pre + body + data


def good(key, shape=(2,)):
    return key.encode() + b" " + npy(shape=shape)


def safetensors(header, data=b"", raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


STREAMS = {
    # name: (bytes, fragment of the expected error)
    "truncated-record.t2i": (good("a") + good("b")[:-3], "data shorter than the header claims"),
    "bad-magic.t2i": (good("a") + b"b \x93NUMPZ" + npy()[6:], "bad magic"),
    "header-truncated.t2i": (b"a " + npy()[:40], "stream ends inside the"),
    "header-never-ends.t2i": (b"a " + npy(dict_text="{'descr': '<f4', 'fortran_order': False, 'shape': (2," + " " * 8000), "header dict never closes"),
    "header-length-past-end.t2i": (b"a " + npy(header_len=65535), "stream ends inside the 65535-byte .npy header"),
    "unknown-dtype.t2i": (b"a " + npy(descr="<c8", data=b"\0" * 16), "unsupported dtype '<c8'"),
    "float64.t2i": (b"a " + npy(descr="<f8", data=b"\0" * 16), "unsupported dtype '<f8'"),
    "big-endian.t2i": (b"a " + npy(descr=">f4"), "big-endian dtype '>f4'"),
    "fortran-order.t2i": (b"a " + npy(shape=(2, 2), fortran=True), "Fortran order"),
    "negative-dimension.t2i": (b"a " + npy(dict_text="{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1), }", data=b""),
                               "negative dimension"),
    "absurd-dimensions.t2i": (b"a " + npy(shape=(1000000, 1000000, 1000000), data=b"\0" * 64), "over the limit"),
    "terabyte-claim.t2i": (b"a " + npy(shape=(1 << 38,), data=b"\0" * 64), "over the limit"),
    "overflowing-dimensions.t2i": (b"a " + npy(shape=(1 << 40, 1 << 40), data=b""), "too large to address"),
    "data-shorter-than-header.t2i": (b"a " + npy(shape=(1000,), data=b"\0" * 40), "data shorter than the header claims"),
    "key-with-no-array.t2i": (good("a") + b"lonely ", "key with no array"),
    "key-without-space.t2i": (good("a") + b"lonely", "stream ends inside a key"),
    "empty-key.t2i": (b" " + npy(), "empty key"),
    "key-too-long.t2i": (b"k" * 5000 + b" " + npy(), "key longer than 4096 bytes"),
    "npy-version-2.t2i": (b"a " + npy(version=(2, 0)), ".npy format version 2.0; expected 1.0"),
    "text-not-stream.t2i": (b"this is a caption, not a tensor stream\n", "bad magic"),
    "newline-between-records.t2i": (good("a") + b"\n" + good("b"), "found whitespace byte 0x0a"),
    "bad-header-syntax.t2i": (b"a " + npy(dict_text="{'descr' '<f4', 'fortran_order': False, 'shape': (2,), }"), "expected ':'"),
    "missing-shape.t2i": (b"a " + npy(dict_text="{'descr': '<f4', 'fortran_order': False, }"), "lacks one of"),
}

# Valid as a sequential stream; an error only where a join needs unique keys.
JOIN_STREAMS = {
    "join-duplicate-keys.t2i": (good("a") + good("b") + good("a"), "duplicate key 'a'"),
}

F8 = b"\0" * 8
CHECKPOINTS = {
    "st-too-short.safetensors": (b"\x05\0\0", "shorter than the 8-byte header length"),
    "st-header-past-end.safetensors": (struct.pack("<Q", 4096) + b"{}", "points past the end"),
    "st-header-huge.safetensors": (struct.pack("<Q", 1 << 40) + b"{}", "exceeds the limit"),
    "st-not-json.safetensors": (safetensors(None, raw_header=b"{not json"), "not a JSON object"),
    "st-offsets-overlap.safetensors": (safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                                    "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, F8), "overlap"),
    "st-offsets-past-end.safetensors": (safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, F8),
                                        "point past the end"),
    "st-hole.safetensors": (safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, F8), "belong to no tensor"),
    "st-bf16.safetensors": (safetensors({"a": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}}, F8), "unsupported dtype 'BF16'"),
    "st-shape-mismatch.safetensors": (safetensors({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, F8),
                                      "does not match its 8 bytes"),
    "st-negative-dimension.safetensors": (safetensors({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, F8),
                                          "non-negative integers"),
    "st-absurd-shape.safetensors": (safetensors({"a": {"dtype": "F32", "shape": [1 << 30, 1 << 30, 1 << 30], "data_offsets": [0, 8]}}, F8),
                                    "does not match"),
    "st-metadata-not-strings.safetensors": (safetensors({"__metadata__": {"epoch": 3}}), "is not a string"),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    lines = []
    for kind, table in (("stream", STREAMS), ("join", JOIN_STREAMS), ("checkpoint", CHECKPOINTS)):
        for name, (data, fragment) in sorted(table.items()):
            with open(os.path.join(OUT, name), "wb") as f:
                f.write(data)
            lines.append("%s\t%s\t%s\n" % (name, kind, fragment))
    with open(os.path.join(OUT, "EXPECTED.tsv"), "w") as f:
        f.write("# file\tkind (stream: any reader fails; join: only a reader that joins by key; checkpoint)\texpected error fragment\n")
        f.writelines(lines)


if __name__ == "__main__":
    main()
