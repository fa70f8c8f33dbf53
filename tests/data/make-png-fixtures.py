#!/usr/bin/env python3
"""Writes small PNG fixtures in every colour type and bit depth that PNG readers meet, with a
hand-rolled encoder (zlib + struct, no imaging library), so the toolkit's reader is tested on
files it did not write itself.

    python3 tests/data/make-png-fixtures.py   # rewrites tests/data/images/
"""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, bit_depth, colour_type, rows, extra=b""):
    raw = b"".join(b"\x00" + r for r in rows)  # filter type 0 per row
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def pattern(x, y, c):
    return (x * 37 + y * 11 + c * 85 + (x * y) % 7 * 13) % 256


def main():
    os.makedirs(OUT, exist_ok=True)
    w, h = 13, 9
    files = {
        "grey8.png": png(w, h, 8, 0, [bytes(pattern(x, y, 0) for x in range(w)) for y in range(h)]),
        "rgb8.png": png(w, h, 8, 2, [bytes(pattern(x, y, c) for x in range(w) for c in range(3)) for y in range(h)]),
        "rgba8.png": png(w, h, 8, 6, [bytes(pattern(x, y, c) for x in range(w) for c in range(4)) for y in range(h)]),
        "grey-alpha8.png": png(w, h, 8, 4, [bytes(pattern(x, y, c) for x in range(w) for c in range(2)) for y in range(h)]),
        "rgb16.png": png(w, h, 16, 2, [b"".join(struct.pack(">H", pattern(x, y, c) * 257) for x in range(w) for c in range(3))
                                     for y in range(h)]),
        "palette.png": png(w, h, 8, 3, [bytes((x + y) % 4 for x in range(w)) for y in range(h)],
                           extra=chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 250]))),
    }
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
