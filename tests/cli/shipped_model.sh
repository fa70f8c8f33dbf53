#!/usr/bin/env bash
# The model the repository ships (pipelines/paper/model/, made by make -C pipelines/paper
# PRESET=cpu ship): small float16 exports that record how they were trained, and that draw what a
# sentence says: colour words move the bird's colour, white birds come out brighter than black
# ones, and the noise still varies the samples.
. "$(dirname "$0")/lib.sh"
need_numpy
model="$T2I_SRC/pipelines/paper/model"
for f in text.st gan.st; do [ -s "$model/$f" ] || fail "no shipped $model/$f"; done
bytes=$(( $(stat -c %s "$model/text.st") + $(stat -c %s "$model/gan.st") ))
[ "$bytes" -lt 5000000 ] || fail "the shipped model is $bytes bytes; a few MB at most"
cd "$TMP"

# --- Provenance: what the cpu preset ran, recorded in the files.
tensor-info "$model/gan.st" > gan.txt
tensor-info "$model/text.st" > text.txt
for want in 'export.parts\tgenerator' 'export.dtype\tf16' 'model\tt2igan-gan' 'train.variant\tint-cls' \
            'train.epoch\t40' 'train.seed\t1' 'ngf\t32' 'train.g_ema\t0.999' 'train.ms_weight\t3' \
            'train.text_weight\t1' \
            'train.commands\ttrain-gan --images \S+ --embeddings \S+ -o \S+ --variant int-cls --epochs 40 --ngf 32 --ndf 32 --lr-halve-every 20 --g-ema 0.999 --ms-weight 3 --text-head 1 --seed 1 '; do
  grep -qP "^# metadata\t$want" gan.txt || fail "gan.st lacks $want"
done
for want in 'export.parts\ttext_encoder' 'model\tt2igan-text' 'train.epoch\t40' \
            'train.commands\ttrain-text --images \S+ --captions \S+ -o \S+ --epochs 40 --c1 128 --c2 128 --c3 128 --emb-dim 256 --image-ndf 32 --seed 1 '; do
  grep -qP "^# metadata\t$want" text.txt || fail "text.st lacks $want"
done
grep -q '^discriminator\.' gan.txt && fail "the shipped GAN holds a discriminator"
grep -aq '"dtype":"F16"' <(head -c 4096 "$model/gan.st") || fail "the shipped GAN is not float16"
pass "shipped model: $bytes bytes, float16 exports of the cpu preset's text encoder and GAN-INT-CLS, commands and seed recorded"

# --- It draws what the sentence says (32 samples a sentence, seed 1: the same pictures every run).
printf '%s\t%s\n' red 'this bird is bright red all over with a short beak.' \
  blue 'this bird is bright blue all over with a short beak.' \
  yellow 'this bird is bright yellow all over with a short beak.' \
  black 'this bird is black all over with a short beak.' \
  white 'this bird is white all over with a short beak.' > colours.tsv
encode-text -q -m "$model/text.st" colours.tsv | generate -q -m "$model/gan.st" -n 32 --seed 1 > colours.t2i
"$PY" - <<'PYEOF' || fail "the shipped model's colours"
import numpy as np
from t2i_stream import load
groups = {}
for k, v in load("colours.t2i"):
    assert v.shape == (3, 64, 64) and np.isfinite(v).all() and v.min() >= -1 and v.max() <= 1, k
    groups.setdefault(k.split("/")[0], []).append(v)
rgb = {k: np.stack(v)[:, :, 16:48, 16:48].mean(axis=(0, 2, 3)) for k, v in groups.items()}  # the image centre
spread = {k: float(np.stack(v).std(axis=0).mean()) for k, v in groups.items()}
print("centre RGB:", {k: np.round(c, 3).tolist() for k, c in rgb.items()}, "spread across z:", spread)
blue_minus_red = lambda c: c[2] - c[0]
assert blue_minus_red(rgb["blue"]) - blue_minus_red(rgb["red"]) > 0.3, "blue is not bluer than red"
yellowness = lambda c: (c[0] + c[1]) / 2 - c[2]
assert yellowness(rgb["yellow"]) - yellowness(rgb["blue"]) > 0.3, "yellow is not yellower than blue"
assert rgb["white"].mean() - rgb["black"].mean() > 0.15, "white is not brighter than black"
assert min(spread.values()) > 0.1, "the samples of a sentence do not vary with the noise"
PYEOF
pass "the shipped model draws the colour a sentence names (blue, yellow, white vs black) and varies with the noise"
