#!/usr/bin/env python3
"""Writes a tensor stream of small test-pattern images to stdout: N images in each of four
classes (circle, square, ring, stripes), drawn in a random colour on a random background, keyed
<class>/<index>, uint8 [3,S,S]. The quickstart's stand-in data until the synthetic birds land.

    make-patterns.py [--per-class N] [--size S] [--seed K] > patterns.t2i
"""
import argparse
import sys

import numpy as np

CLASSES = ("circle", "square", "ring", "stripes")


def draw(kind, size, rng):
    y, x = np.mgrid[0:size, 0:size] / size
    cx, cy = rng.uniform(0.35, 0.65, 2)
    r = rng.uniform(0.18, 0.3)
    d = np.hypot(x - cx, y - cy)
    if kind == "circle":
        mask = d < r
    elif kind == "square":
        mask = (abs(x - cx) < r) & (abs(y - cy) < r)
    elif kind == "ring":
        mask = (d < r) & (d > r * 0.6)
    else:
        angle = rng.uniform(0, np.pi)
        mask = (np.sin((x * np.cos(angle) + y * np.sin(angle)) * 25) > 0) & (d < r * 1.4)
    fg = rng.integers(0, 256, 3)
    bg = rng.integers(0, 256, 3)
    img = np.where(mask[None], fg[:, None, None], bg[:, None, None])
    return img.astype(np.uint8)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-class", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    out = sys.stdout.buffer
    for kind in CLASSES:
        for i in range(a.per_class):
            out.write(f"{kind}/{i} ".encode())
            np.lib.format.write_array(out, draw(kind, a.size, rng))


if __name__ == "__main__":
    main()
