#!/usr/bin/env bash
# train-text and eval-text on a tiny synthetic bird set: the loss falls, the checkpoint is a text
# model, --resume continues bit for bit, eval-text beats chance on the training classes, and bad
# inputs fail with one clear line.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

make-birds --out d --count 1000 --size 64 --threads 2 -q
pack-images d --size 64 --threads 2 -q > all.t2i
list-captions d -q > all.tsv
# 16 classes of 5 images each (make-birds spreads images over all 200 species).
cut -f1 all.tsv | cut -d/ -f1 | sort -u > all-classes.txt
sed -n 1,16p all-classes.txt > classes.txt
[ "$(wc -l < classes.txt)" -eq 16 ] || fail "expected 16 classes"
grep -F -f <(sed 's|$|/|' classes.txt) all.tsv > tr.tsv
SMALL=(--c1 32 --c2 32 --c3 32 --emb-dim 32 --image-ndf 8 --batch 16 --threads 2 --seed 3)

# --- Training: the per-epoch mean loss falls.
train-text --images all.t2i --captions tr.tsv -o text.st "${SMALL[@]}" --lr 0.001 --epochs 30 2> train.log \
  || fail "train-text failed: $(cat train.log)"
grep -q "80 images, 800 captions, 16 classes" train.log || fail "train-text summary: $(cat train.log)"
grep -q "920 images have no caption" train.log || fail "images without captions not reported"
losses=$(sed -n 's/.*epoch [0-9]* mean loss \([0-9.]*\).*/\1/p' train.log)
[ "$(wc -l <<<"$losses")" -eq 30 ] || fail "expected 30 per-epoch losses: $(cat train.log)"
awk 'NR<=5 {a+=$1} NR>25 {b+=$1} END {exit !(b < 0.85 * a)}' <<<"$losses" \
  || fail "the loss did not fall: $(tr '\n' ' ' <<<"$losses")"
pass "train-text: loss $(head -1 <<<"$losses") -> $(tail -1 <<<"$losses") in 30 epochs"

# --- The checkpoint is a text model with its optimiser states and training state.
tensor-info text.st > info.txt
grep -qP '^# metadata\tmodel\tt2igan-text$' info.txt || fail "text.st is not a t2igan-text model"
grep -qP '^# metadata\ttrain.epoch\t30$' info.txt || fail "text.st lacks train.epoch 30"
grep -q 'optimizer.text_encoder.conv1.weight.exp_avg' info.txt || fail "text.st lacks the Adam states"
grep -qP '^# metadata\tnorm\t4$' info.txt || fail "text.st lacks its embedding norm"
pass "text.st is a text model"

# --- --resume: 2 epochs, then on to 4, equals 4 epochs straight.
train-text --images all.t2i --captions tr.tsv -o straight.st "${SMALL[@]}" --epochs 4 -q
train-text --images all.t2i --captions tr.tsv -o resumed.st "${SMALL[@]}" --epochs 2 -q
train-text --images all.t2i --captions tr.tsv -o resumed.st "${SMALL[@]}" --epochs 4 --resume -q
same_model straight.st resumed.st
pass "train-text --resume is bit-identical to an uninterrupted run"
# Options given with --resume that differ from the checkpoint's get one warning each and are
# ignored: the bytes of the uninterrupted run again.
train-text --images all.t2i --captions tr.tsv -o warned.st "${SMALL[@]}" --epochs 2 -q
train-text --images all.t2i --captions tr.tsv -o warned.st --c1 32 --c2 48 --c3 32 --emb-dim 32 --image-ndf 8 --batch 16 \
  --threads 2 --seed 5 --norm 2 --lr 1e-3 --epochs 4 --resume -q 2> warned.err
same_model straight.st warned.st
cat > warned.want <<'EOF2'
train-text: warning: --c2 48 is ignored: --resume continues warned.st with --c2 32, as it was trained (start a new run to change it)
train-text: warning: --norm 2 is ignored: --resume continues warned.st with --norm 4, as it was trained (start a new run to change it)
train-text: warning: --lr 0.001 is ignored: --resume continues warned.st with --lr 0.0002, as it was trained (start a new run to change it)
train-text: warning: --seed 5 is ignored: --resume continues warned.st with --seed 3, as it was trained (start a new run to change it)
EOF2
grep 'is ignored' warned.err | diff warned.want - > /dev/null || fail "--resume with other options: $(cat warned.err)"
pass "train-text --resume: options that differ from the checkpoint's are ignored with one warning each (same bytes)"

# --- SIGTERM mid-run: a checkpoint at the next minibatch (mid-epoch, with the epoch's loss so far),
# one message, exit 3; --resume then finishes with the bytes of the uninterrupted run.
train-text --images all.t2i --captions tr.tsv -o long.st "${SMALL[@]}" --epochs 40 -q
# The stop lands where it lands: up to four tries (each a little later) for one in the middle of
# an epoch after the first, which the refusals below need.
sig_run() {  # one run, stopped once its handlers are in place; sets rc, epoch, step
  rc=0; epoch=""; step=""
  rm -f sig.st
  train-text --images all.t2i --captions tr.tsv -o sig.st "${SMALL[@]}" --epochs 40 2> sig.log &
  local pid=$! started=0
  # The summary line comes after the handlers are in place.
  for _ in $(seq 1 1200); do
    if grep -q "minibatches an epoch" sig.log 2>/dev/null; then started=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  sleep "$1"
  [ "$started" -eq 1 ] && kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  if [ "$rc" -eq 3 ]; then
    local info
    info=$(tensor-info sig.st)
    epoch=$(awk -F'\t' '$2 == "train.epoch" {print $3}' <<< "$info")
    step=$(awk -F'\t' '$2 == "train.minibatch" {print $3}' <<< "$info")
  fi
}
for delay in 0.3 0.5 0.8 1.2; do
  sig_run "$delay"
  [ "$rc" -eq 3 ] && [ "$step" -gt 0 ] && [ "$epoch" -ge 1 ] && break
  [ "$rc" -eq 3 ] || break
done
if [ "$rc" -eq 3 ]; then
  tail -n 1 sig.log | grep -qP '^train-text: (error: )?stopped by SIGTERM in epoch \d+ after minibatch \d+; saved sig.st \(continue with --resume\)$' \
    || fail "SIGTERM message: $(tail -n 2 sig.log)"
  grep -q "stopped by SIGTERM in epoch $((epoch + 1)) after minibatch $step;" sig.log || fail "the message and the checkpoint disagree"
  cp sig.st stopped.st
  train-text --images all.t2i --captions tr.tsv -o sig.st "${SMALL[@]}" --epochs 40 --resume -q
  same_model long.st sig.st
  pass "SIGTERM in epoch $((epoch + 1)) after minibatch $step saves a checkpoint; --resume completes with the same bytes"
  if [ "$step" -gt 0 ] && [ "$epoch" -ge 1 ]; then
    # Mid-epoch: the rest of that epoch must run on the same data, and be asked for.
    # Two images of each class: 32 images, 2 minibatches an epoch.
    awk -F'\t' '!($1 in seen) { seen[$1] = 1; split($1, k, "/"); n[k[1]]++ } { split($1, k, "/") } n[k[1]] <= 2' tr.tsv > fewer.tsv
    cp stopped.st kept.st
    # (all.t2i has images without captions here: a warning line, then the error line)
    rc=0; train-text -q --images all.t2i --captions fewer.tsv -o stopped.st "${SMALL[@]}" --epochs 40 --resume \
      2> err.log || rc=$?
    [ "$rc" -eq 2 ] || fail "resume on other data: exit $rc: $(cat err.log)"
    tail -n 1 err.log | grep -q "stopped in the middle of an epoch of 5 minibatches; the data now gives 2 (resume" \
      || fail "$(cat err.log)"
    expect_exit 1 train-text -q --images all.t2i --captions tr.tsv -o stopped.st "${SMALL[@]}" --epochs "$epoch" --resume
    grep -q "was stopped in epoch $((epoch + 1)); resume with --epochs $((epoch + 1)) or more" "$TMP/err" || fail "$(cat "$TMP/err")"
    same_file stopped.st kept.st  # a refused --resume leaves the checkpoint as it was
    pass "a mid-epoch checkpoint refuses other data and fewer epochs"
  else
    echo "note: four stops all fell on an epoch's end or in the first epoch; the refusals were not tested"
  fi
elif [ "$rc" -eq 0 ]; then
  echo "note: the run finished before SIGTERM arrived; interruption not tested"
else
  fail "SIGTERM: exit $rc: $(tail -n 3 sig.log)"
fi

# --- --mean-captions K: a pair's text side is the mean of K captions of its class. 1 is the
# default run bit for bit; K is kept in the checkpoint, and --resume continues with it.
train-text --images all.t2i --captions tr.tsv -o k1.st "${SMALL[@]}" --epochs 4 --mean-captions 1 -q
same_model straight.st k1.st
train-text --images all.t2i --captions tr.tsv -o k3.st "${SMALL[@]}" --epochs 4 --mean-captions 3 2> k3.log \
  || fail "train-text --mean-captions 3: $(cat k3.log)"
grep -q "batch 16 (a mean of 3 captions a pair)" k3.log || fail "--mean-captions summary: $(head -1 k3.log)"
tensor-info k3.st > k3.txt
grep -qP '^# metadata\ttrain.mean_captions\t3$' k3.txt || fail "k3.st lacks train.mean_captions 3"
train-text --images all.t2i --captions tr.tsv -o k3r.st "${SMALL[@]}" --epochs 2 --mean-captions 3 -q
train-text --images all.t2i --captions tr.tsv -o k3r.st "${SMALL[@]}" --epochs 4 --resume -q
same_model k3.st k3r.st
expect_exit 1 train-text --images all.t2i --captions tr.tsv -o x.st --mean-captions 0
pass "train-text --mean-captions: 1 is the default, 3 is recorded and resumes bit for bit"

# --- The CVPR code's recipe (RMSprop, raw embeddings) trains and resumes too.
CVPR=(--optimizer rmsprop --lr 0.005 --norm 0)
train-text --images all.t2i --captions tr.tsv -o r4.st "${SMALL[@]}" "${CVPR[@]}" --epochs 4 -q
train-text --images all.t2i --captions tr.tsv -o r2.st "${SMALL[@]}" "${CVPR[@]}" --epochs 2 -q
train-text --images all.t2i --captions tr.tsv -o r2.st "${SMALL[@]}" --epochs 4 --resume -q
same_model r4.st r2.st
tensor-info r4.st > r4.txt; grep -q 'optimizer.text_encoder.conv1.weight.square_avg' r4.txt || fail "r4.st lacks the RMSprop states"
pass "train-text --optimizer rmsprop --norm 0 trains and resumes bit for bit"

# --- A diverging run stops with a clear message and writes nothing.
rc=0; train-text --images all.t2i --captions tr.tsv -o nan.st "${SMALL[@]}" --lr 1e30 --epochs 3 2> err || rc=$?
[ "$rc" -eq 3 ] && grep -q "the loss became NaN in epoch 1" err && grep -q "stopped before any checkpoint" err \
  || fail "divergence: rc $rc, $(cat err)"
[ ! -e nan.st ] || fail "a diverged run wrote nan.st"
pass "train-text stops on a NaN loss"

# --- eval-text on the training classes: well above chance (1/16).
eval-text -m text.st --images all.t2i --captions tr.tsv --classes classes.txt --threads 2 -q > eval.txt \
  || fail "eval-text failed"
grep -qP '^classes\t16$' eval.txt || fail "eval-text classes: $(cat eval.txt)"
grep -qP '^images\t80$' eval.txt || fail "eval-text images: $(cat eval.txt)"
top1=$(sed -n 's/^top1\t//p' eval.txt)
ap50=$(sed -n 's/^ap50\t//p' eval.txt)
awk -v t="$top1" -v a="$ap50" 'BEGIN {exit !(t >= 0 && t <= 1 && a >= 0 && a <= 1 && t > 1.5 / 16)}' \
  || fail "eval-text: top1 $top1 ap50 $ap50"
pass "eval-text: top1 $top1, ap50 $ap50 (chance 0.0625)"

# --- eval-text's two class embeddings against a recomputation: the image encoder in PyTorch
# (tests/torch/t2i_text_nets.py, the checkpoint's weights), the captions' embeddings from
# encode-text, both scores in NumPy. Skipped where PyTorch is missing.
eval-text -m text.st --images all.t2i --captions tr.tsv --classes classes.txt --threads 2 -q \
  --class-embedding unit > eval-unit.txt || fail "eval-text --class-embedding unit failed"
grep -q "class embedding unit" eval-unit.txt || fail "eval-text unit: $(head -1 eval-unit.txt)"
PY="${T2I_PYTHON3:-python3}"
if "$PY" -c 'import numpy, torch' 2>/dev/null; then
  encode-text -q -m text.st --mode each --threads 2 tr.tsv > caps.t2i
  PYTHONPATH="$T2I_SRC/tests/cli:$T2I_SRC/tests/torch" "$PY" - <<'PYEOF' || fail "eval-text against the recomputation"
import numpy as np, torch
import t2i_nets, t2i_text_nets
from t2i_stream import load
t, meta = t2i_nets.load_safetensors("text.st")
enc = t2i_text_nets.ImageEncoder(int(meta["image_ndf"]), int(meta["emb_dim"]))
enc.load_state_dict({k[14:]: v for k, v in t.items() if k.startswith("image_encoder.")})
enc.eval()
classes = [l.strip() for l in open("classes.txt")]
keys, ims = zip(*[(k, a) for k, a in load("all.t2i") if k.split("/")[0] in classes])
with torch.no_grad():
    v = enc(torch.tensor(np.stack(ims).astype(np.float32) / 127.5 - 1)).double().numpy()
norm = float(meta.get("norm", 0))  # train-text --norm: the encoder scales its rows to this length
if norm > 0:
    v *= norm / np.linalg.norm(v, axis=1, keepdims=True)
caps = {}
for k, a in load("caps.t2i"):
    caps.setdefault(k.split("/")[0], []).append(a.astype(np.float64))
y = np.array([classes.index(k.split("/")[0]) for k in keys])
got = {}
for name in ("eval", "eval-unit"):
    got[name] = {l.split("\t")[0]: float(l.split("\t")[1]) for l in open(name + ".txt") if not l.startswith("#")}
for name, unit in (("eval", False), ("eval-unit", True)):
    c = np.stack([np.mean(caps[k], 0) for k in classes])
    if unit:
        c /= np.linalg.norm(c, axis=1, keepdims=True)
    s = v @ c.T
    top1 = float((s.argmax(1) == y).mean())
    ap50 = float(np.mean([(y[np.argsort(-s[:, k], kind="stable")[:50]] == k).mean() for k in range(len(classes))]))
    print("%s: eval-text top1 %.4f ap50 %.4f, recomputed %.4f %.4f" % (name, got[name]["top1"], got[name]["ap50"], top1, ap50))
    assert abs(got[name]["top1"] - top1) <= 1 / 80 + 1e-4 and abs(got[name]["ap50"] - ap50) <= 1 / 800 + 1e-4
PYEOF
  pass "eval-text --class-embedding mean and unit agree with a recomputation in PyTorch and NumPy"
else
  echo "skipped: eval-text against PyTorch (no torch)"
fi
expect_exit 1 eval-text -m text.st --images all.t2i --captions tr.tsv --class-embedding median

# --- Errors.
expect_exit 2 train-text --images nope.t2i --captions tr.tsv -o x.st
expect_exit 1 train-text --images all.t2i --captions tr.tsv
expect_exit 2 eval-text -m nope.st --images all.t2i --captions tr.tsv
expect_exit 2 train-text --images all.t2i --captions all.tsv -o x.st --epochs 1 --resume
printf '001.Nope/x\tcaption\n' > bad.tsv
rc=0; train-text --images all.t2i --captions bad.tsv -o x.st -q 2> err || rc=$?
[ "$rc" -eq 2 ] && grep -q "ignored 1 captions of images not in" err && grep -q "no image of all.t2i has a caption" err \
  || fail "captions of unknown images: rc $rc, $(cat err)"
rc=0; train-text --images all.t2i --captions tr.tsv -o x.st --batch 20 -q 2> err || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--batch 20: only 16 classes" err || fail "--batch > classes: rc $rc, $(cat err)"
echo "Nope" > nope.txt
expect_exit 2 eval-text -m text.st --images all.t2i --captions tr.tsv --classes nope.txt
[ ! -e x.st ] || fail "a failed run left x.st"
pass "train-text and eval-text errors"
