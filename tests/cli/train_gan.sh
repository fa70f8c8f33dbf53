#!/usr/bin/env bash
# train-gan on a tiny synthetic set (200 birds at 76 px, an untrained text model from
# t2i_make_text_model, encode-text --mode each), tiny widths on the cpu backend with one thread: per-minibatch
# log with finite losses, a t2igan-gan checkpoint, the sample grid; --resume 2+2 epochs gives the
# bytes of 4 epochs, and so does a run stopped by SIGTERM mid-epoch and resumed; every variant
# and both --wrong forms run; bad input gives one error line.
. "$(dirname "$0")/lib.sh"
need_numpy
MAKE_MODEL="${T2I_MAKE_TEXT_MODEL:-${T2I_BUILD:-}/tests/t2i_make_text_model}"
[ -x "$MAKE_MODEL" ] || fail "no t2i_make_text_model (T2I_MAKE_TEXT_MODEL=$MAKE_MODEL)"
cd "$TMP"
make-birds -q --out birds --count 200 --size 76 --threads 2
pack-images -q --size 76 --threads 2 birds > im.t2i
list-captions -q birds > caps.tsv
"$MAKE_MODEL" text.st 7
encode-text -q -m text.st --mode each caps.tsv > emb.t2i

NETS=(--ngf 4 --ndf 4 --z-dim 10 --proj-dim 8 --batch 16 --backend cpu --threads 1 --seed 3)
TINY=(--images im.t2i --embeddings emb.t2i "${NETS[@]}")

# --- 4 epochs of int-cls (the default), with log and samples.
train-gan -q "${TINY[@]}" -o full.st --epochs 4 --log full.tsv --samples-every 2 --checkpoint-every 1
[ -s full.st ] || fail "no checkpoint"
head -c 4096 full.st | grep -aq '"model":"t2igan-gan"' || fail "checkpoint is not a t2igan-gan model"
head -c 8192 full.st | grep -aq '"train.variant":"int-cls"' || fail "checkpoint lacks train.variant"
"$PY" - <<'PYEOF' || fail "log check"
import math
rows = [l.rstrip("\n").split("\t") for l in open("full.tsv")]
assert rows[0] == ["epoch", "iter", "step", "loss_d", "loss_g", "s_r", "s_w", "s_f", "s_g", "s_i", "ms_ratio",
                   "text_real", "text_fake"], rows[0]
rows = rows[1:]
assert len(rows) == 4 * 12, len(rows)           # 200 images / batch 16 = 12 minibatches an epoch
assert [int(r[2]) for r in rows] == list(range(1, 49))
for r in rows:
    assert r[11:] == ["NA", "NA"], r             # no text head by default
    vals = [float(x) for x in r[3:11]]           # ms_ratio too: the mode-seeking term is on by default
    assert all(math.isfinite(v) for v in vals), r
    assert all(0 < v < 1 for v in vals[2:7]), r  # mean D scores
    assert vals[7] > 0, r                        # ms_ratio
PYEOF
head -c 8 full.st.samples.png | od -An -c | grep -q 'P   N   G' || fail "no sample PNG"
"$PY" -c '
import struct, sys
d = open("full.st.samples.png", "rb").read()
w, h = struct.unpack(">II", d[16:24])
assert (w, h) == (8 * 66 + 2, 8 * 66 + 2), (w, h)
' || fail "sample grid size"
pass "4 epochs: finite losses logged per minibatch, t2igan-gan checkpoint, 8x8 sample grid"

# --- --resume: 2 + 2 epochs are the bytes of 4 (checkpoint and log).
train-gan -q "${TINY[@]}" -o half.st --epochs 2 --log half.tsv --checkpoint-every 1
train-gan -q "${TINY[@]}" -o half.st --epochs 4 --log half.tsv --checkpoint-every 1 --resume
same_model full.st half.st
same_file full.tsv half.tsv
pass "--resume 2+2 epochs == 4 epochs, byte-identical checkpoint and log"
# The provenance: every command that trained a checkpoint, the resumed run's after the first.
tensor-info half.st | grep -P '^# metadata\ttrain.commands\t' | cut -f3 > cmds.txt
want="train-gan -q ${TINY[*]} -o half.st --epochs 2 --log half.tsv --checkpoint-every 1\\ntrain-gan -q ${TINY[*]} -o half.st --epochs 4 --log half.tsv --checkpoint-every 1 --resume"
[ "$(cat cmds.txt)" = "$want" ] || fail "train.commands of the resumed checkpoint: $(cat cmds.txt); expected $want"
grep -qP '^# metadata\ttrain.commands\ttrain-gan -q .* -o full.st --epochs 4 --log full.tsv --samples-every 2 --checkpoint-every 1$' <(tensor-info full.st) ||
  fail "full.st: train.commands is not its one command: $(tensor-info full.st | grep train.commands)"
pass "train.commands: the command of each run that trained the checkpoint, the first and the resumed one"
# Options given with --resume are the checkpoint's to keep: each given with another value gets one
# warning line and is ignored (the run is the checkpoint's, the bytes of 4 epochs); one given with
# the checkpoint's own value (--beta1 0.5, --augment none) gets none.
train-gan -q "${TINY[@]}" -o warn.st --epochs 2 --log warn.tsv --checkpoint-every 1
train-gan -q --images im.t2i --embeddings emb.t2i --ngf 24 --ndf 4 --z-dim 10 --proj-dim 8 --batch 16 --backend cpu \
  --threads 1 --seed 7 --variant cls --lr 1e-3 --g-text-shift --no-flip --beta1 0.5 --augment none \
  -o warn.st --epochs 4 --log warn.tsv --checkpoint-every 1 --resume 2> warn.err
same_model full.st warn.st
same_file full.tsv warn.tsv
cat > warn.want <<'EOF2'
train-gan: warning: --ngf 24 is ignored: --resume continues warn.st with --ngf 4, as it was trained (start a new run to change it)
train-gan: warning: --g-text-shift is ignored: --resume continues warn.st with it off, as it was trained (start a new run to change it)
train-gan: warning: --variant cls is ignored: --resume continues warn.st with --variant int-cls, as it was trained (start a new run to change it)
train-gan: warning: --seed 7 is ignored: --resume continues warn.st with --seed 3, as it was trained (start a new run to change it)
train-gan: warning: --lr 0.001 is ignored: --resume continues warn.st with --lr 0.0002, as it was trained (start a new run to change it)
train-gan: warning: --no-flip is ignored: --resume continues warn.st with it off, as it was trained (start a new run to change it)
EOF2
diff warn.want warn.err > /dev/null || fail "--resume with other options: $(diff warn.want warn.err)"
pass "--resume: options that differ from the checkpoint's are ignored with one warning each (same bytes)"

# --- SIGTERM mid-run: a checkpoint at the next minibatch, one message, then --resume finishes
# with the bytes of the uninterrupted run.
rc=0
train-gan -q "${TINY[@]}" -o sig.st --epochs 4 --log sig.tsv --checkpoint-every 1 2>sig.err &
pid=$!
# The log is flushed every minibatch and opened after the handlers are in place: two logged
# minibatches mean the run is inside its loop.
started=0
for _ in $(seq 1 1200); do
  if [ -f sig.tsv ] && [ "$(wc -l <sig.tsv)" -ge 3 ]; then started=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
[ "$started" -eq 1 ] && kill -TERM "$pid" 2>/dev/null || true
wait "$pid" || rc=$?
if [ "$rc" -eq 3 ]; then
  grep -q "stopped by SIGTERM.*saved sig.st" sig.err || fail "SIGTERM message: $(cat sig.err)"
  [ "$(wc -l <sig.err)" -eq 1 ] || fail "SIGTERM: expected one line, got: $(cat sig.err)"
  train-gan -q "${TINY[@]}" -o sig.st --epochs 4 --log sig.tsv --checkpoint-every 1 --resume
  same_model full.st sig.st
  same_file full.tsv sig.tsv
  pass "SIGTERM mid-run saves a checkpoint; --resume completes with the same bytes"
elif [ "$rc" -eq 0 ]; then
  echo "note: the run finished before SIGTERM arrived; interruption not tested"
else
  fail "SIGTERM: exit $rc: $(cat sig.err)"
fi

# --- every variant, both wrong-pair forms, v2 nets.
for v in gan cls int; do
  train-gan -q "${TINY[@]}" -o "v-$v.st" --epochs 1 --variant "$v" --log "v-$v.tsv"
  head -c 8192 "v-$v.st" | grep -aq "\"train.variant\":\"$v\"" || fail "variant $v not recorded"
done
awk -F'\t' 'NR > 1 && ($7 != "NA" || $10 != "NA") { exit 1 }' v-gan.tsv || fail "gan logged s_w or s_i"
awk -F'\t' 'NR > 1 && ($7 == "NA" || $10 != "NA") { exit 1 }' v-cls.tsv || fail "cls log"
awk -F'\t' 'NR > 1 && ($7 != "NA" || $10 == "NA") { exit 1 }' v-int.tsv || fail "int log"
train-gan -q "${TINY[@]}" -o wt.st --epochs 1 --variant cls --wrong text --log wt.tsv
train-gan -q "${TINY[@]}" -o v2.st --epochs 1 --arch v2 --crop 72
train-gan -q --images im.t2i --embeddings emb.t2i --ngf 4 --ndf 4 --z-dim 10 --proj-dim 8 --batch 16 --backend ref -o ref.st --epochs 1
# The checkpoints differ in their metadata anyway: compare the losses.
cmp -s <(cut -f4,5 v-cls.tsv) <(cut -f4,5 wt.tsv) && fail "--wrong text trained like --wrong image"
pass "variants gan, cls, int, int-cls; --wrong text; --arch v2 with a 72 px crop; the ref backend"

# --- the mode-seeking term: logged ratio, recorded weight, exact resume, and it changes training.
train-gan -q "${TINY[@]}" -o ms.st --epochs 2 --ms-weight 2 --log ms.tsv --checkpoint-every 1
head -c 8192 ms.st | grep -aq '"train.ms_weight":"2"' || fail "--ms-weight not recorded"
awk -F'\t' 'NR > 1 && !($11 > 0) { exit 1 }' ms.tsv || fail "ms_ratio not logged: $(sed -n 2p ms.tsv)"
train-gan -q "${TINY[@]}" -o ms-half.st --epochs 1 --ms-weight 2 --log ms-half.tsv --checkpoint-every 1
train-gan -q "${TINY[@]}" -o ms-half.st --epochs 2 --log ms-half.tsv --checkpoint-every 1 --resume
same_model ms.st ms-half.st
same_file ms.tsv ms-half.tsv
train-gan -q "${TINY[@]}" -o noms.st --epochs 2 --ms-weight 0 --log noms.tsv
cmp -s <(cut -f4,5 ms.tsv) <(cut -f4,5 noms.tsv) && fail "--ms-weight 2 trained like no term"
awk -F'\t' 'NR > 1 && $11 != "NA" { exit 1 }' noms.tsv || fail "--ms-weight 0 logged a ratio"
# A checkpoint and log from before the option (no train.ms_weight, 10 log columns) resume
# without the term, whatever the default: the same bytes as --ms-weight 0 throughout, the old
# rows given an NA ratio.
train-gan -q "${TINY[@]}" -o old.st --epochs 1 --ms-weight 0 --log old.tsv --checkpoint-every 1
"$PY" - <<'PYEOF' || fail "making an old-style checkpoint"
import json, struct
raw = open("old.st", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
del head["__metadata__"]["train.ms_weight"]
del head["__metadata__"]["train.augment"]  # from before --augment too: resumes without it
del head["__metadata__"]["train.g_ema"]    # and before --g-ema: resumes without the average
del head["__metadata__"]["train.wrong_near"]   # and before --wrong-near: any other class
del head["__metadata__"]["train.text_weight"]  # and before --text-head: no head
text = json.dumps(head, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
open("old.st", "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
rows = [l.rstrip("\n").split("\t") for l in open("old.tsv")]
open("old.tsv", "w").write("".join("\t".join(r[:10]) + "\n" for r in rows))
PYEOF
train-gan -q "${TINY[@]}" -o old.st --epochs 2 --log old.tsv --checkpoint-every 1 --resume
cmp -s <(cut -f1-10 old.tsv) <(cut -f1-10 noms.tsv) || fail "an old checkpoint resumed with the term"
awk -F'\t' 'NF != 13 || (NR > 1 && ($11 != "NA" || $12 != "NA" || $13 != "NA")) { exit 1 }' old.tsv ||
  fail "an old log's rows did not get NA for the columns it lacked: $(sed -n 2p old.tsv)"
pass "--ms-weight: ratio logged, weight recorded, resume keeps it (same bytes), training differs; old checkpoints resume without it"

# --- --ms-pool: the term on block means; recorded, kept by --resume, trains otherwise than pixels.
train-gan -q "${TINY[@]}" -o msp.st --epochs 2 --ms-weight 2 --ms-pool 8 --log msp.tsv --checkpoint-every 1
head -c 8192 msp.st | grep -aq '"train.ms_pool":"8"' || fail "--ms-pool not recorded"
head -c 8192 ms.st | grep -aq '"train.ms_pool":"1"' || fail "the default --ms-pool not recorded as 1"
train-gan -q "${TINY[@]}" -o msp-half.st --epochs 1 --ms-weight 2 --ms-pool 8 --log msp-half.tsv --checkpoint-every 1
train-gan -q "${TINY[@]}" -o msp-half.st --epochs 2 --log msp-half.tsv --checkpoint-every 1 --resume
same_model msp.st msp-half.st
cmp -s <(cut -f4,5,11 ms.tsv) <(cut -f4,5,11 msp.tsv) && fail "--ms-pool 8 trained like pixels"
for bad in 0 3 128; do
  expect_exit 1 train-gan "${TINY[@]}" -o bad.st --epochs 1 --ms-pool "$bad"
  grep -q -- "--ms-pool $bad: expected a divisor of 64" "$TMP/err" || fail "--ms-pool $bad: $(cat "$TMP/err")"
done
pass "--ms-pool: recorded, resume keeps it (same bytes), trains otherwise than on pixels, bad values refused"

# --- --ms-image edges: the term on horizontal differences of the block means; recorded, kept by
# --resume, trains otherwise than the block means; checkpoints from before it resume with blocks.
train-gan -q "${TINY[@]}" -o mse.st --epochs 2 --ms-weight 2 --ms-pool 8 --ms-image edges --log mse.tsv --checkpoint-every 1
head -c 8192 mse.st | grep -aq '"train.ms_image":"edges"' || fail "--ms-image not recorded"
head -c 8192 msp.st | grep -aq '"train.ms_image":"blocks"' || fail "the default --ms-image not recorded as blocks"
train-gan -q "${TINY[@]}" -o mse-half.st --epochs 1 --ms-weight 2 --ms-pool 8 --ms-image edges --log mse-half.tsv --checkpoint-every 1
train-gan -q "${TINY[@]}" -o mse-half.st --epochs 2 --log mse-half.tsv --checkpoint-every 1 --resume
same_model mse.st mse-half.st
cmp -s <(cut -f4,5,11 msp.tsv) <(cut -f4,5,11 mse.tsv) && fail "--ms-image edges trained like blocks"
"$PY" - <<'PYEOF' || fail "making a checkpoint from before --ms-image"
import json, struct
raw = open("msp-half.st", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
del head["__metadata__"]["train.ms_image"]
text = json.dumps(head, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
open("old-msp.st", "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
PYEOF
train-gan -q "${TINY[@]}" -o old-msp.st --epochs 3 --log old-msp.tsv --checkpoint-every 1 --resume
head -c 8192 old-msp.st | grep -aq '"train.ms_image":"blocks"' || fail "a checkpoint from before --ms-image did not resume with blocks"
expect_exit 1 train-gan "${TINY[@]}" -o bad.st --epochs 1 --ms-image sobel
grep -q -- "--ms-image 'sobel': expected blocks or edges" "$TMP/err" || fail "--ms-image sobel: $(cat "$TMP/err")"
expect_exit 1 train-gan "${TINY[@]}" -o bad.st --epochs 1 --ms-pool 64 --ms-image edges
grep -q -- "--ms-image edges needs at least two blocks in a row" "$TMP/err" || fail "--ms-pool 64 --ms-image edges: $(cat "$TMP/err")"
pass "--ms-image edges: recorded, resume keeps it (same bytes), trains otherwise than blocks, old checkpoints resume with blocks, bad values refused"

# --- --augment: DiffAugment of D's inputs; recorded, kept by --resume, trains otherwise.
head -c 8192 full.st | grep -aq '"train.augment":"none"' || fail "the default --augment not recorded as none"
train-gan -q "${TINY[@]}" -o aug.st --epochs 2 --augment translation,cutout --log aug.tsv --checkpoint-every 1
head -c 8192 aug.st | grep -aq '"train.augment":"translation,cutout"' || fail "--augment not recorded"
train-gan -q "${TINY[@]}" -o aug-half.st --epochs 1 --augment translation,cutout --log aug-half.tsv --checkpoint-every 1
train-gan -q "${TINY[@]}" -o aug-half.st --epochs 2 --log aug-half.tsv --checkpoint-every 1 --resume
same_model aug.st aug-half.st
# The same seed, order and noise as full.st's first epoch; only what D sees differs.
cmp -s <(sed -n 2,13p full.tsv | cut -f4,5) <(sed -n 2,13p aug.tsv | cut -f4,5) && fail "--augment trained like none"
awk -F'\t' 'NR > 1 { for (i = 4; i <= 11; ++i) if ($i == "nan" || $i == "inf") exit 1 }' aug.tsv || fail "augmented losses not finite"
train-gan -q "${TINY[@]}" -o aug1.st --epochs 1 --augment cutout,translation
head -c 8192 aug1.st | grep -aq '"train.augment":"translation,cutout"' || fail "cutout,translation not recorded in order"
train-gan -q "${TINY[@]}" -o aug2.st --epochs 1 --augment cutout
head -c 8192 aug2.st | grep -aq '"train.augment":"cutout"' || fail "--augment cutout not recorded"
for bad in rotate translation,translation "" translation,; do
  expect_exit 1 train-gan "${TINY[@]}" -o bad.st --epochs 1 --augment "$bad"
  grep -q -- "--augment $bad: expected none, translation, cutout or translation,cutout" "$TMP/err" || fail "--augment '$bad': $(cat "$TMP/err")"
done
pass "--augment: recorded, resume keeps it (same bytes), trains otherwise than none, bad values refused"

# --- --g-ema: the generator average. Training is untouched (the losses and the trained
# generator, kept as train.generator.*, are those of a run without it); generator.* holds the
# average, which export-model and generate run; --resume 1+1 gives the bytes of 2.
train-gan -q "${TINY[@]}" -o plain2.st --epochs 2 --log plain2.tsv --checkpoint-every 1
head -c 8192 plain2.st | grep -aq '"train.g_ema":"0"' || fail "the default --g-ema not recorded as 0"
train-gan -q "${TINY[@]}" -o ema.st --epochs 2 --g-ema 0.9 --log ema.tsv --checkpoint-every 1 --samples-every 2
head -c 8192 ema.st | grep -aq '"train.g_ema":"0.9' || fail "--g-ema not recorded"
cmp -s plain2.tsv ema.tsv || fail "--g-ema changed the training losses"
train-gan -q "${TINY[@]}" -o tiny-ema.st --epochs 2 --g-ema 1e-9
export-model -q --dtype f32 ema.st -o ema-g.st
"$PY" - <<'PYEOF' || fail "the generator average in the checkpoint"
import numpy as np
from t2i_stream import load_safetensors
def tensors(path):
    return load_safetensors(path)[1]
plain, ema, tiny, exp = tensors("plain2.st"), tensors("ema.st"), tensors("tiny-ema.st"), tensors("ema-g.st")
gen = [k for k in plain if k.startswith("generator.")]
assert gen and not any(k.startswith("train.") for k in plain), "plain2.st: no generator or a train.generator"
assert sorted(k for k in ema if k.startswith("train.generator.")) == sorted("train." + k for k in gen)
moved = 0
for k in gen:
    assert np.array_equal(ema["train." + k], plain[k]), k + ": the trained generator differs from the plain run's"
    assert np.array_equal(exp[k], ema[k]), k + ": export-model did not export the average"
    if k.endswith("num_batches_tracked"):
        assert ema[k] == plain[k], k
        continue
    a, g = ema[k].astype(np.float64), plain[k].astype(np.float64)
    assert np.isfinite(a).all(), k
    moved += not np.array_equal(a, g)
    # decay 1e-9: the average is the trained generator, but for the last bit of rounding
    assert np.abs(tiny[k] - g).max() <= 1e-6 * max(1.0, np.abs(g).max()), k
assert moved >= len(gen) // 2, f"the average equals the trained weights in {len(gen) - moved} of {len(gen)} tensors"
assert not any(k.startswith("train.") for k in exp), "export-model kept the trained generator"
for k in plain:
    if k.startswith("discriminator.") or k.startswith("optimizer."):
        assert np.array_equal(ema[k], plain[k]), k + " differs"
PYEOF
train-gan -q "${TINY[@]}" -o ema-half.st --epochs 1 --g-ema 0.9 --log ema-half.tsv --checkpoint-every 1
train-gan -q "${TINY[@]}" -o ema-half.st --epochs 2 --log ema-half.tsv --checkpoint-every 1 --resume
same_model ema.st ema-half.st
# The formula, to the bit: one minibatch an epoch (batch 128 of 200 images), so the checkpoint of
# epoch 2 holds avg2 = d2 avg1 + (1 - d2) G2 at update t = 2, in float32 as the backends compute it:
# d2 = min(0.2, 3/12) = 0.2 (the decay reached; at t = 1 the warm-up's 2/11 ruled), and with
# --g-ema-rampup 0.5 d2 = min(0.9, 0.5^(1 / (0.5 * 2))) = 0.5 (the ramp-up rules, not the decay).
ONE=(--images im.t2i --embeddings emb.t2i --ngf 4 --ndf 4 --z-dim 10 --proj-dim 8 --batch 128 --backend cpu --threads 1 --seed 3)
train-gan -q "${ONE[@]}" -o one.st --epochs 1 --g-ema 0.2
cp one.st one-1.st
train-gan -q "${ONE[@]}" -o one.st --epochs 2 --resume
train-gan -q "${ONE[@]}" -o ramp.st --epochs 1 --g-ema 0.9 --g-ema-rampup 0.5
head -c 8192 ramp.st | grep -aq '"train.g_ema_rampup":"0.5"' || fail "--g-ema-rampup not recorded"
cp ramp.st ramp-1.st
train-gan -q "${ONE[@]}" -o ramp.st --epochs 2 --resume
for check in "one-1.st one.st 0.2" "ramp-1.st ramp.st 0.5"; do
  "$PY" - $check <<'PYEOF' || fail "the generator average's formula ($check)"
import sys
import numpy as np
from t2i_stream import load_safetensors
def tensors(path):
    return load_safetensors(path)[1]
e1, e2, d = tensors(sys.argv[1]), tensors(sys.argv[2]), float(sys.argv[3])
assert e2["optimizer.generator.step"] == 2, e2["optimizer.generator.step"]
for k in e1:
    if not k.startswith("generator."):
        continue
    if k.endswith("num_batches_tracked"):
        assert e2[k] == e2["train." + k], k
        continue
    want = np.float32(d) * e1[k] + np.float32(1.0 - d) * e2["train." + k]
    assert want.dtype == np.float32 and np.array_equal(e2[k], want), k + ": not d avg1 + (1 - d) G2"
PYEOF
done
# A checkpoint that says it averages but lacks the trained generator: one line, exit 2.
"$PY" - <<'PYEOF' || fail "making a checkpoint without train.generator"
import json, struct
raw = open("one-1.st", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
keep, parts, off = {"__metadata__": head.pop("__metadata__")}, [], 0
for k, v in head.items():
    if k.startswith("train.generator."):
        continue
    seg = raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]
    keep[k] = dict(v, data_offsets=[off, off + len(seg)])
    parts.append(seg)
    off += len(seg)
text = json.dumps(keep, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
open("nogen.st", "wb").write(struct.pack("<Q", len(text)) + text + b"".join(parts))
PYEOF
expect_exit 2 train-gan -q "${ONE[@]}" -o nogen.st --epochs 2 --resume
grep -q "nogen.st: train.g_ema is 0.2 but it holds no train.generator.\* (the generator being trained, beside its average); not a train-gan checkpoint to resume" "$TMP/err" \
  || fail "no train.generator: $(cat "$TMP/err")"
tensor-select -q --sample 2 --seed 1 < emb.t2i > two.t2i
generate -q -m ema.st -n 2 --seed 1 --backend cpu --threads 1 two.t2i > ema-s.t2i
generate -q -m plain2.st -n 2 --seed 1 --backend cpu --threads 1 two.t2i > plain-s.t2i
cmp -s ema-s.t2i plain-s.t2i && fail "generate drew the same samples from the average as from the trained generator"
for bad in 1 -0.1 1.5; do
  expect_exit 1 train-gan "${TINY[@]}" -o bad.st --epochs 1 --g-ema "$bad"
  grep -q -- "--g-ema $bad: expected a number in \[0, 1) (0: off)" "$TMP/err" || fail "--g-ema $bad: $(cat "$TMP/err")"
done
for bad in -0.1 1.5; do
  expect_exit 1 train-gan "${TINY[@]}" -o bad.st --epochs 1 --g-ema 0.9 --g-ema-rampup "$bad"
  grep -q -- "--g-ema-rampup $bad: expected a number in \[0, 1\] (0: the warm-up (1 + t) / (10 + t))" "$TMP/err" \
    || fail "--g-ema-rampup $bad: $(cat "$TMP/err")"
done
expect_exit 1 train-gan "${TINY[@]}" -o bad.st --epochs 1 --g-ema 0.9 --g-ema-rampup x
grep -q -- "--g-ema-rampup" "$TMP/err" || fail "--g-ema-rampup x: $(cat "$TMP/err")"
# --resume with --g-ema-rampup alone: the checkpoint's --g-ema holds (a warning, not a usage error).
train-gan -q "${ONE[@]}" -o ramp.st --epochs 2 --g-ema-rampup 0.25 --resume 2> ramp.err
grep -q -- "--g-ema-rampup 0.25 is ignored: --resume continues ramp.st with --g-ema-rampup 0.5" ramp.err || fail "resume with --g-ema-rampup: $(cat ramp.err)"

expect_exit 1 train-gan "${TINY[@]}" -o bad.st --epochs 1 --g-ema-rampup 0.25
grep -q -- "--g-ema-rampup 0.25 needs --g-ema (the average it shapes)" "$TMP/err" || fail "--g-ema-rampup alone: $(cat "$TMP/err")"
head -c 8192 plain2.st | grep -aq '"train.g_ema_rampup":"0"' || fail "the default --g-ema-rampup not recorded as 0"
pass "--g-ema, --g-ema-rampup: recorded, training untouched, the average stored as the generator (export-model, generate), its formula to the bit, resume keeps it (same bytes), bad values refused"

# --- --wrong-near: the wrong pair from the K nearest classes. Embeddings made so that classes
# come in twins with one vector (every caption of both): a class's nearest is its twin, so with
# --wrong text --wrong-near 1 the wrong text is the right one and D's wrong pass is its real pass
# (s_w == s_r in every minibatch); from any other class (0) or the 2 nearest it is not.
"$PY" - <<'PYEOF' || fail "making twin embeddings"
import numpy as np
from t2i_stream import load, save
recs = load("emb.t2i")
classes = sorted({k.split("/")[0] for k, _ in recs})
classes = classes[:len(classes) // 2 * 2]                 # an odd one out has no twin: left without embeddings
rng = np.random.default_rng(5)
vec = {c: None for c in classes}
for i in range(0, len(classes), 2):
    v = rng.standard_normal(recs[0][1].shape[0]).astype(np.float32)
    vec[classes[i]] = vec[classes[i + 1]] = v
save("twins.t2i", [(k, vec[k.split("/")[0]]) for k, _ in recs if k.split("/")[0] in vec])
PYEOF
TWINS=(--images im.t2i --embeddings twins.t2i "${NETS[@]}" --variant cls --wrong text --epochs 1)
for k in 0 1 2; do train-gan -q "${TWINS[@]}" -o near$k.st --wrong-near $k --log near$k.tsv; done
head -c 8192 near1.st | grep -aq '"train.wrong_near":"1"' || fail "--wrong-near not recorded"
head -c 8192 near0.st | grep -aq '"train.wrong_near":"0"' || fail "the default --wrong-near not recorded as 0"
"$PY" - <<'PYEOF' || fail "--wrong-near's wrong pairs"
def scores(path):
    rows = [l.rstrip("\n").split("\t") for l in open(path)][1:]
    assert rows, path
    return [(r[5], r[6]) for r in rows]          # s_r, s_w
assert all(r == w for r, w in scores("near1.tsv")), "--wrong-near 1: the twin's text is not the wrong text"
for k in (0, 2):
    same = sum(r == w for r, w in scores(f"near{k}.tsv"))
    assert same == 0, f"--wrong-near {k}: s_w == s_r in {same} minibatches"
PYEOF
# resume_keeps NAME OPTION...: 2 epochs with the options, and 1 + 1 resumed without them
# repeating them, give the same bytes (NAME-full.st/.tsv, NAME-half.st/.tsv).
resume_keeps() {
  local name=$1
  shift
  train-gan -q "${TINY[@]}" -o "$name-full.st" --epochs 2 "$@" --log "$name-full.tsv" --checkpoint-every 1
  train-gan -q "${TINY[@]}" -o "$name-half.st" --epochs 1 "$@" --log "$name-half.tsv" --checkpoint-every 1
  train-gan -q "${TINY[@]}" -o "$name-half.st" --epochs 2 --log "$name-half.tsv" --checkpoint-every 1 --resume
  same_model "$name-full.st" "$name-half.st"
  same_file "$name-full.tsv" "$name-half.tsv"
}
resume_keeps near --wrong-near 3
cmp -s near-full.tsv plain2.tsv && fail "--wrong-near 3 trained as the default"
expect_exit 1 train-gan "${TINY[@]}" -o bad.st --epochs 1 --wrong-near -1
grep -q -- "--wrong-near -1: expected 0 or more (0: any other class)" "$TMP/err" || fail "--wrong-near -1: $(cat "$TMP/err")"
expect_exit 2 train-gan "${TWINS[@]}" -o bad.st --wrong-near 100000
grep -q "im.t2i: --wrong-near 100000 needs more classes than that; the data has [0-9]* (at most [0-9]*)" "$TMP/err" ||
  fail "--wrong-near 100000: $(cat "$TMP/err")"
pass "--wrong-near: the K nearest classes give the wrong pair (twins: s_w == s_r), recorded, resume keeps it (same bytes), bad values refused"

# --- --text-head: D reads the caption embedding from the image; recorded in the checkpoint's
# model (d_text_head, discriminator.aux.*) and its training settings, kept by --resume (same bytes),
# trains otherwise than without it, leaves what generate runs shaped as before; bad values refused.
resume_keeps text --text-head 0.5
# The D scores (the losses hold the head's terms, and the text columns differ anyway).
cmp -s <(cut -f6-11 text-full.tsv) <(cut -f6-11 plain2.tsv) && fail "--text-head 0.5 trained as the default"
awk -F'\t' 'NR > 1 && !($12 > 0 && $13 > 0) { exit 1 }' text-full.tsv || fail "text errors not logged: $(sed -n 2p text-full.tsv)"
head -c 8192 text-full.st | grep -aq '"train.text_weight":"0.5"' || fail "--text-head not recorded"
head -c 8192 text-full.st | grep -aq '"d_text_head":"1"' || fail "the text head is not in the model's metadata"
head -c 8192 plain2.st | grep -aq 'd_text_head' && fail "a checkpoint without the head names it"
"$PY" - <<'PYEOF' || fail "the text head's tensors"
from t2i_stream import load_safetensors
meta, t = load_safetensors("text-full.st")
_, plain = load_safetensors("plain2.st")
extra = sorted(set(t) - set(plain))
want = ["discriminator.aux.bias", "discriminator.aux.weight", "optimizer.discriminator.aux.bias.exp_avg",
        "optimizer.discriminator.aux.bias.exp_avg_sq", "optimizer.discriminator.aux.weight.exp_avg",
        "optimizer.discriminator.aux.weight.exp_avg_sq"]
assert extra == want, extra
assert t["discriminator.aux.weight"].shape == (t["discriminator.fc.weight"].shape[1], t["discriminator.conv5.weight"].shape[1]), \
    t["discriminator.aux.weight"].shape
assert not set(plain) - set(t)
PYEOF
generate -q -m text-full.st -n 2 --seed 1 --backend cpu --threads 1 two.t2i > text-s.t2i
[ -s text-s.t2i ] || fail "generate drew nothing from a checkpoint with a text head"
train-gan -q "${TINY[@]}" -o text-v2.st --epochs 1 --arch v2 --crop 72 --text-head 1 --log text-v2.tsv
awk -F'\t' 'NR > 1 && !($12 > 0 && $13 > 0) { exit 1 }' text-v2.tsv || fail "--arch v2 --text-head: $(sed -n 2p text-v2.tsv)"
# A checkpoint whose settings disagree with its model: one line naming both keys.
"$PY" - <<'PYEOF' || fail "making a checkpoint without the head it trains"
import json, struct
raw = open("text-half.st", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
head["__metadata__"]["train.text_weight"] = "0"
text = json.dumps(head, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
open("text-odd.st", "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
PYEOF
expect_exit 2 train-gan -q "${TINY[@]}" -o text-odd.st --epochs 3 --resume
grep -q "text-odd.st: train.text_weight is 0 but the discriminator has a text head (d_text_head 1); not a train-gan checkpoint to resume" "$TMP/err" ||
  fail "head without weight: $(cat "$TMP/err")"
for bad in -1 1001 nan; do
  expect_exit 1 train-gan "${TINY[@]}" -o bad.st --epochs 1 --text-head "$bad"
  grep -q -- "--text-head $bad: expected a number in \[0, 1000\] (0: none)" "$TMP/err" || fail "--text-head $bad: $(cat "$TMP/err")"
done
pass "--text-head: recorded with its tensors, resume keeps it (same bytes), trains otherwise, generate runs it, bad values refused"

# --- --g-text-shift: G's text projection shifts its features at every scale; named in the
# model's metadata with its tensors, kept by --resume (same bytes), trains otherwise; generate and
# invert-style run the generator, and export-model keeps it.
resume_keeps shift --g-text-shift
cmp -s <(cut -f4-11 shift-full.tsv) <(cut -f4-11 plain2.tsv) && fail "--g-text-shift trained as the default"
head -c 8192 shift-full.st | grep -aq '"g_text_shift":"1"' || fail "G's text shifts are not in the model's metadata"
head -c 8192 plain2.st | grep -aq 'text_shift' && fail "a checkpoint without text shifts names them"
"$PY" - <<'PYEOF' || fail "the text shifts' tensors"
from t2i_stream import load_safetensors
_, t = load_safetensors("shift-full.st")
_, plain = load_safetensors("plain2.st")
extra = sorted(set(t) - set(plain))
want = sorted(f"{o}generator.shift{i}.weight{s}" for i in (1, 2, 3)
              for o, s in (("", ""), ("optimizer.", ".exp_avg"), ("optimizer.", ".exp_avg_sq")))
assert extra == want, extra
assert not set(plain) - set(t)
proj, ngf = t["generator.fc.weight"].shape[0], t["generator.up4.weight"].shape[0]
for i in (1, 2, 3):
    assert t[f"generator.shift{i}.weight"].shape == ((4 >> (i - 1)) * ngf, proj), i
PYEOF
generate -q -m shift-full.st -n 2 --seed 1 --backend cpu --threads 1 two.t2i > shift-s.t2i
[ -s shift-s.t2i ] || fail "generate drew nothing from a checkpoint with text shifts"
export-model -q shift-full.st -o shift-x.st
head -c 8192 shift-x.st | grep -aq '"g_text_shift":"1"' || fail "export-model dropped the text shifts' setting"
generate -q -m shift-x.st -n 2 --seed 1 --backend cpu --threads 1 two.t2i > shift-x.t2i
[ -s shift-x.t2i ] || fail "generate drew nothing from an exported generator with text shifts"
invert-style train -q -m shift-full.st --embeddings emb.t2i -o shift-style.st --epochs 1 --backend cpu --threads 1
[ -s shift-style.st ] || fail "invert-style trained nothing on a generator with text shifts"
train-gan -q "${TINY[@]}" -o shift-v2.st --epochs 1 --arch v2 --crop 72 --g-text-shift
head -c 8192 shift-v2.st | grep -aq '"g_text_shift":"1"' || fail "--arch v2 --g-text-shift"
pass "--g-text-shift: named in the model with its tensors, resume keeps it (same bytes), trains otherwise, generate, invert-style and export-model take it, v2 takes it"

# --- divergence: a clear stop, exit 3, no checkpoint written.
expect_exit 3 train-gan -q "${TINY[@]}" -o nan.st --epochs 2 --lr 1e30
grep -q "loss became NaN in epoch 1, minibatch 1: stopped before any checkpoint was saved" "$TMP/err" ||
  fail "divergence message: $(cat "$TMP/err")"
[ ! -e nan.st ] || fail "a diverged run wrote a checkpoint"
pass "a non-finite loss stops the run with one line"

# --- bad input: one error line, exit 2.
sed 's#^[^/]*/#999.Nothing/#' caps.tsv > other.tsv
encode-text -q -m text.st --mode each other.tsv > other.t2i
expect_exit 2 train-gan -q --images im.t2i --embeddings other.t2i "${NETS[@]}" -o bad.st --epochs 1
grep -q "no image of im.t2i has an embedding" "$TMP/err" || fail "no-embedding message: $(cat "$TMP/err")"
"$PY" - <<'PYEOF'
from t2i_stream import load, save
recs = load("emb.t2i")
save("mixed.t2i", [(k, a[:10] if i == 5 else a) for i, (k, a) in enumerate(recs)])
save("short.t2i", [(k, a[:10]) for k, a in recs])
PYEOF
expect_exit 2 train-gan -q --images im.t2i --embeddings mixed.t2i "${NETS[@]}" -o bad.st --epochs 1
grep -q "has 10 values; expected 24" "$TMP/err" || fail "mixed sizes message: $(cat "$TMP/err")"
expect_exit 2 train-gan -q --images im.t2i --embeddings short.t2i "${NETS[@]}" -o full.st --epochs 5 --resume
grep -q "embeddings of 10 values; the checkpoint full.st was trained on 24" "$TMP/err" || fail "resume size: $(cat "$TMP/err")"
expect_exit 2 train-gan -q --images emb.t2i --embeddings emb.t2i "${NETS[@]}" -o bad.st --epochs 1
expect_exit 2 train-gan -q "${TINY[@]}" -o bad.st --epochs 1 --crop 80
grep -q "is not uint8 \[3,S,S\] with S >= 80" "$TMP/err" || fail "crop message: $(cat "$TMP/err")"
expect_exit 1 train-gan -q "${TINY[@]}" -o bad.st --variant int_cls
expect_exit 1 train-gan -q "${TINY[@]}" -o bad.st --wrong caption
expect_exit 1 train-gan -q --embeddings emb.t2i -o bad.st
[ ! -e bad.st ] || fail "a failed run left bad.st"
pass "bad input and usage: one error line each, no checkpoint left"
