#!/usr/bin/env bash
# invert-style on a tiny GAN that train-gan trains briefly on noise images (z_dim 10, emb_dim 24,
# widths 8): train recovers z from the generator's images far better than chance (cosine between
# z and S(G(z)) on images generate drew with known noise); apply keeps keys, takes float32 images
# and uint8 [3,S,S], and with several -m predicts their mean; the checkpoint names the
# generator; --resume 20+20 epochs and a run stopped by SIGTERM give the bytes of uninterrupted
# runs; other models, bad shapes and bad options get one line and exit 2 or 1.
. "$(dirname "$0")/lib.sh"
need_numpy
cd "$TMP"

"$PY" - <<'PYEOF' || fail "writing inputs"
import numpy as np
from t2i_stream import save
r = np.random.default_rng(2)
# 64 images of 4 classes, 4 captions each keyed as encode-text --mode each keys them.
save("im.t2i", [("c%d/img%d" % (i % 4, i), r.integers(0, 256, (3, 64, 64)).astype(np.uint8)) for i in range(64)])
save("emb.t2i", [("c%d/img%d/%d" % (i % 4, i, j), r.standard_normal(24).astype(np.float32))
                 for i in range(64) for j in range(4)])
save("means.t2i", [("m%d" % i, r.standard_normal(24).astype(np.float32)) for i in range(8)])
save("wide.t2i", [("a/0", np.zeros(25, np.float32))])
save("u8.t2i", [("k%d" % i, r.integers(0, 256, (3, 76, 76)).astype(np.uint8)) for i in range(3)])
save("small.t2i", [("tiny", np.zeros((3, 32, 32), np.float32))])
PYEOF
# The generator: 30 epochs of 4 minibatches, so its batch-norm running statistics have settled.
GAN=(--images im.t2i --embeddings emb.t2i --ngf 8 --ndf 8 --z-dim 10 --proj-dim 8 --batch 16 --threads 1)
train-gan -q "${GAN[@]}" --epochs 30 -o gan.st
train-gan -q "${GAN[@]}" --epochs 1 --seed 2 -o other.st

TRAIN=(-m gan.st --embeddings emb.t2i --batch 16 --lr 1e-3 --threads 1)
invert-style train -q "${TRAIN[@]}" -o s.st --epochs 40 --log s.tsv
"$PY" - <<'PYEOF' || fail "checkpoint metadata or log"
import json, os, struct
d = open("s.st", "rb").read()
n = struct.unpack("<Q", d[:8])[0]
h = json.loads(d[8:8 + n])
m = h["__metadata__"]
assert m["model"] == "t2igan-style" and m["z_dim"] == "10" and m["ndf"] == "8" and m["arch"] == "plain", m
assert m["gan.path"] == os.path.abspath("gan.st"), m["gan.path"]
assert len(m["gan.hash"]) == 16 and m["gan.z_dim"] == "10" and m["gan.emb_dim"] == "24", m
assert h["style_encoder.conv4.weight"]["shape"] == [10, 64, 4, 4], h["style_encoder.conv4.weight"]
assert "optimizer.style_encoder.step" in h
rows = [l.rstrip("\n").split("\t") for l in open("s.tsv")]
assert rows[0] == ["epoch", "iter", "step", "loss", "cosine"], rows[0]
assert len(rows) == 1 + 160, len(rows)   # 64 images / batch 16 = 4 minibatches an epoch
loss = [float(r[3]) for r in rows[1:]]
assert sum(loss[-8:]) / 8 < 0.5 * sum(loss[:8]) / 8, loss
PYEOF
pass "train: a t2igan-style checkpoint naming its generator; the loss falls"

# --- S inverts G: images drawn with known noise give back that noise.
generate -q -m gan.st -n 8 --write-z z.t2i means.t2i > images.t2i
invert-style apply -m s.st images.t2i > zhat.t2i 2> apply.err
grep -q "predicted 64 style vectors of 10 values" apply.err || fail "apply's closing line: $(cat apply.err)"
invert-style apply -q -m s.st --batch 5 < images.t2i > zhat5.t2i
invert-style apply -q -m s.st < u8.t2i > zu8.t2i
"$PY" - <<'PYEOF' || fail "recovery check"
import numpy as np
from t2i_stream import load
z, zh, zh5 = load("z.t2i"), load("zhat.t2i"), load("zhat5.t2i")
assert [k for k, _ in z] == [k for k, _ in zh] == [k for k, _ in zh5], "keys"
for k, a in zh:
    assert a.dtype == np.float32 and a.shape == (10,), (k, a.dtype, a.shape)
A = np.stack([a for _, a in z]).astype(np.float64); B = np.stack([a for _, a in zh]).astype(np.float64)
cos = lambda a, b: (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
matched, shuffled = cos(A, B).mean(), cos(A, np.roll(B, 1, axis=0)).mean()
print("cosine(z, S(G(z))): %.3f; with another image's z: %.3f" % (matched, shuffled))
assert matched > 0.6 and abs(shuffled) < 0.25, (matched, shuffled)
assert np.abs(B - np.stack([a for _, a in zh5])).max() < 1e-4 * max(1, np.abs(B).max())
u = load("zu8.t2i")
assert [k for k, _ in u] == ["k0", "k1", "k2"] and all(a.shape == (10,) for _, a in u)
PYEOF
pass "apply: z recovered from G's images (cosine well above chance), keys kept, --batch-free, uint8 input"

# --- apply with several -m: the mean of the encoders' vectors (an ensemble of one generator's).
invert-style train -q "${TRAIN[@]}" -o s2.st --epochs 20 --seed 2
invert-style train -q -m other.st --embeddings emb.t2i --batch 16 --threads 1 -o s-other.st --epochs 1
invert-style apply -q -m s2.st images.t2i > zhat2.t2i
invert-style apply -m s.st -m s2.st --batch 7 images.t2i > zmean.t2i 2> mean.err
grep -q "predicted 64 style vectors of 10 values, the mean of 2 style encoders (s.st, s2.st)" mean.err || fail "ensemble's closing line: $(cat mean.err)"
invert-style apply -q -m s.st -m s.st images.t2i > zsame.t2i
same_file zhat.t2i zsame.t2i
"$PY" - <<'PYEOF' || fail "the ensemble's mean"
import numpy as np
from t2i_stream import load
a, b, m = load("zhat.t2i"), load("zhat2.t2i"), load("zmean.t2i")
assert [k for k, _ in a] == [k for k, _ in m], "keys"
A, B, M = (np.stack([v for _, v in r]).astype(np.float64) for r in (a, b, m))
assert np.abs(A - B).max() > 0.05, "the two encoders agree: the test cannot tell a mean from either"
assert np.abs(M - (A + B) / 2).max() < 1e-5 * max(1, np.abs(M).max()), np.abs(M - (A + B) / 2).max()
PYEOF
expect_exit 2 invert-style apply -m s.st -m s-other.st images.t2i
grep -q "s-other.st: gan.hash [0-9a-f]* but s.st has [0-9a-f]*; expected style encoders of one generator" "$TMP/err" || fail "ensemble of two generators: $(cat "$TMP/err")"
expect_exit 1 invert-style train -m gan.st -m other.st --embeddings emb.t2i -o x.st
grep -q "train: -m given 2 times; expected one GAN checkpoint" "$TMP/err" || fail "train with two -m: $(cat "$TMP/err")"
pass "apply -m a -m b: the mean of the two encoders' vectors (a -m twice gives one's bytes); encoders of other generators refused"

# --- --resume: 20 + 20 epochs are the bytes of 40; so is a run stopped by SIGTERM and resumed.
invert-style train -q "${TRAIN[@]}" -o half.st --epochs 20 --log half.tsv
invert-style train -q --embeddings emb.t2i -o half.st --epochs 40 --log half.tsv --threads 1 --resume
same_model s.st half.st
same_file s.tsv half.tsv
pass "--resume 20+20 epochs == 40 epochs (checkpoint and log), the GAN taken from the checkpoint"
# Options given with --resume that differ from the checkpoint's: one warning each, ignored
# (--ndf 0, the GAN's width, is the checkpoint's).
invert-style train -q "${TRAIN[@]}" -o warned.st --epochs 20 --log warned.tsv
invert-style train -q --embeddings emb.t2i -o warned.st --epochs 40 --log warned.tsv --threads 1 --batch 32 --g-bn batch \
  --lr 1e-3 --ndf 0 --resume 2> warned.err
same_model s.st warned.st
same_file s.tsv warned.tsv
cat > warned.want <<'EOF2'
invert-style: warning: --batch 32 is ignored: --resume continues warned.st with --batch 16, as it was trained (start a new run to change it)
invert-style: warning: --g-bn batch is ignored: --resume continues warned.st with --g-bn running, as it was trained (start a new run to change it)
EOF2
diff warned.want warned.err > /dev/null || fail "--resume with other options: $(diff warned.want warned.err)"
pass "--resume: options that differ from the checkpoint's are ignored with one warning each (same bytes)"

invert-style train -q "${TRAIN[@]}" -o long.st --epochs 100 --checkpoint-every 50 --log long.tsv
rc=0
invert-style train -q "${TRAIN[@]}" -o sig.st --epochs 100 --checkpoint-every 50 --log sig.tsv 2>sig.err &
pid=$!
started=0
for _ in $(seq 1 1200); do
  if [ -f sig.tsv ] && [ "$(wc -l <sig.tsv)" -ge 3 ]; then started=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.02
done
[ "$started" -eq 1 ] && kill -TERM "$pid" 2>/dev/null || true
wait "$pid" || rc=$?
if [ "$rc" -eq 3 ]; then
  grep -q "stopped by SIGTERM.*saved sig.st" sig.err || fail "SIGTERM message: $(cat sig.err)"
  [ "$(wc -l <sig.err)" -eq 1 ] || fail "SIGTERM: expected one line, got: $(cat sig.err)"
  invert-style train -q "${TRAIN[@]}" -o sig.st --epochs 100 --checkpoint-every 50 --log sig.tsv --resume
  same_model long.st sig.st
  same_file long.tsv sig.tsv
  pass "SIGTERM mid-run saves a checkpoint; --resume completes with the same bytes"
elif [ "$rc" -eq 0 ]; then
  echo "note: the run finished before SIGTERM arrived; interruption not tested"
else
  fail "SIGTERM: exit $rc: $(cat sig.err)"
fi

# --- bad input: one line, exit 2; usage: exit 1.
expect_exit 2 invert-style apply -m gan.st images.t2i
grep -q "gan.st: a GAN checkpoint (model 't2igan-gan'), not a style encoder" "$TMP/err" || fail "GAN as S: $(cat "$TMP/err")"
expect_exit 2 invert-style train -m s.st --embeddings emb.t2i -o x.st
grep -q "s.st: a style encoder checkpoint (model 't2igan-style'), not a GAN checkpoint" "$TMP/err" || fail "S as G: $(cat "$TMP/err")"
expect_exit 2 generate -m s.st means.t2i
grep -q "model 't2igan-style'" "$TMP/err" || fail "generate on S: $(cat "$TMP/err")"
expect_exit 2 invert-style apply -m s.st small.t2i
grep -q "small.t2i: key 'tiny': float32 \[3,32,32\]; expected float32 \[3,64,64\]" "$TMP/err" || fail "shape: $(cat "$TMP/err")"
expect_exit 2 invert-style train -m gan.st --embeddings wide.t2i -o x.st
grep -q "wide.t2i: key 'a/0'.*expected float32 \[24\]" "$TMP/err" || fail "emb size: $(cat "$TMP/err")"
expect_exit 2 invert-style train -m gan.st --embeddings means.t2i -o x.st --batch 16
grep -q "8 images' embeddings, fewer than --batch 16" "$TMP/err" || fail "too few: $(cat "$TMP/err")"
expect_exit 2 invert-style train -q -m other.st --embeddings emb.t2i -o half.st --epochs 45 --resume
grep -q "half.st: was trained against a generator of hash" "$TMP/err" || fail "resume, other G: $(cat "$TMP/err")"
[ ! -e x.st ] || fail "a failed run left x.st"
expect_exit 1 invert-style -m s.st
expect_exit 1 invert-style predict -m s.st
expect_exit 1 invert-style apply -m s.st --epochs 3
expect_exit 1 invert-style train -m gan.st --embeddings emb.t2i -o x.st --g-bn frozen
pass "other models refused by name; bad shapes, sizes and options: one line, exit 2 or 1"
