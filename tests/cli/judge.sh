#!/usr/bin/env bash
# train-judge on a tiny synthetic bird set: it learns (held-out attribute accuracy well above its
# first epoch's), writes a judge checkpoint that other tools refuse by name, and bad inputs fail
# with one clear line.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

make-birds --out d --count 400 --size 68 --threads 1 -q
pack-images d --split cub-train --size 68 --threads 1 -q > tr.t2i
pack-images d --split cub-test --size 68 --threads 1 -q > te.t2i
SMALL=(--batch 32 --lr 2e-3 --threads 1 --seed 3)

# --- Training: accuracy rises, the checkpoint is a judge with its labels.
train-judge --images tr.t2i --dataset d --val te.t2i -o judge.st "${SMALL[@]}" --epochs 8 2> train.log \
  || fail "train-judge failed: $(cat train.log)"
grep -q "200 training images, 200 classes, 16 attribute groups (356 logits; 'none' in has_wing_mark_color)" train.log \
  || fail "train-judge summary: $(cat train.log)"
acc=$(sed -n 's/.*held out (200 images) class [0-9.]* attributes \([0-9.]*\).*/\1/p' train.log)
[ "$(wc -l <<<"$acc")" -eq 8 ] || fail "expected 8 held-out accuracies: $(cat train.log)"
awk 'NR==1 {a=$1} END {exit !($1 > a + 0.05 && $1 > 0.3)}' <<<"$acc" \
  || fail "the held-out attribute accuracy did not rise: $(tr '\n' ' ' <<<"$acc")"
grep -q "held-out accuracy per attribute group: has_crown_color" train.log || fail "no per-group accuracy: $(cat train.log)"
pass "train-judge: held-out attribute accuracy $(head -1 <<<"$acc") -> $(tail -1 <<<"$acc") in 8 epochs"

tensor-info judge.st > info.txt
grep -qP '^# metadata\tmodel\tt2igan-judge$' info.txt || fail "judge.st is not a t2igan-judge model"
grep -qP '^# metadata\ttrain.epoch\t8$' info.txt || fail "judge.st lacks train.epoch 8"
grep -qP '^# metadata\tnone_groups\thas_wing_mark_color$' info.txt || fail "judge.st lacks its none groups"
grep -q 'judge.head.weight' info.txt || fail "judge.st lacks the head"
pass "judge.st is a judge"

# Same seed, same bits.
train-judge --images tr.t2i --dataset d -o again.st "${SMALL[@]}" --epochs 1 -q
train-judge --images tr.t2i --dataset d -o again2.st "${SMALL[@]}" --epochs 1 -q
same_model again.st again2.st
pass "train-judge is deterministic"

# --blur: recorded, deterministic too, and it changes training (that the blur itself blurs is
# the unit test Image.GaussianBlurSpreadsAPointIntoTheGaussian).
train-judge --images tr.t2i --dataset d -o blur.st "${SMALL[@]}" --epochs 1 --blur 2 -q
train-judge --images tr.t2i --dataset d -o blur2.st "${SMALL[@]}" --epochs 1 --blur 2 -q
same_model blur.st blur2.st
tensor-info blur.st > blur-info.txt && tensor-info again.st > again-info.txt
grep -qP '^# metadata\ttrain.blur\t2$' blur-info.txt || fail "blur.st lacks train.blur 2"
grep -qP '^# metadata\ttrain.blur\t0$' again-info.txt || fail "again.st lacks train.blur 0"
"${PY:-${T2I_PYTHON3:-python3}}" - blur.st again.st <<'PYEOF' || fail "--blur 2 learnt the same weights as no blur"
import struct, sys
data = [open(p, "rb").read() for p in sys.argv[1:]]
data = [b[8 + struct.unpack("<Q", b[:8])[0]:] for b in data]
sys.exit(0 if data[0] != data[1] else 1)
PYEOF
expect_exit 1 train-judge --images tr.t2i --dataset d -o x.st --blur 9
grep -q "train-judge: error: --blur 9: expected 0 to 8 pixels" "$TMP/err" || fail "--blur 9: $(cat "$TMP/err")"
pass "train-judge --blur: recorded, deterministic, changes training"

# --- Other tools refuse a judge by name, and eval-images a text model as judge.
expect_exit 2 eval-text -m judge.st --images te.t2i --captions /dev/null --threads 1
grep -q "judge.st: not a t2igan text model" "$TMP/err" || fail "eval-text on a judge: $(cat "$TMP/err")"
expect_exit 2 encode-text -m judge.st --threads 1 < /dev/null
grep -q "not a t2igan text model" "$TMP/err" || fail "encode-text on a judge: $(cat "$TMP/err")"
pass "a judge is refused where a text model is expected"

# --- Bad input: one line, exit 2 (1 for usage).
expect_exit 1 train-judge --images tr.t2i --dataset d
grep -q "train-judge: .*--images, --dataset and -o are required" "$TMP/err" || fail "$(cat "$TMP/err")"
mkdir -p other && tensor-select --head 2 -q < tr.t2i | tensor-to-png other -q
png-to-tensor --dtype float32 --channels 3 --size 64 -q other > float.t2i
expect_exit 2 train-judge --images float.t2i --dataset d -o x.st --threads 1
grep -q "float.t2i: record '.*' is float32 \[3,64,64\], expected uint8 \[3,S,S\] with S >= 64" "$TMP/err" \
  || fail "float images: $(cat "$TMP/err")"
png-to-tensor --channels 3 --key-prefix nope/ -q other > stranger.t2i
expect_exit 2 train-judge --images stranger.t2i --dataset d -o x.st --threads 1
grep -q "stranger.t2i: record 'nope/.*' is not an image of the dataset d" "$TMP/err" || fail "unknown key: $(cat "$TMP/err")"
cp -r d noattr && rm noattr/attributes.txt
expect_exit 2 train-judge --images tr.t2i --dataset noattr -o x.st --threads 1
grep -q "noattr/attributes.txt: no such file" "$TMP/err" || fail "no attributes: $(cat "$TMP/err")"
[ ! -e x.st ] || fail "a failed run left x.st"
pass "bad inputs fail with one line"
