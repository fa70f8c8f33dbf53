#!/usr/bin/env bash
# generate on a small GAN written by t2i_model_probe (z_dim 10, emb_dim 24): keys, shapes and
# range; the same bytes for the same seed; noise independent of --batch and of the other
# records; the z round trip through --write-z and --z; the pairing rules of --z; bad models,
# bad input and usage errors.
. "$(dirname "$0")/lib.sh"
need_numpy
PROBE="${T2I_MODEL_PROBE:-${T2I_BUILD:-}/tests/t2i_model_probe}"
MAKE_MODEL="${T2I_MAKE_TEXT_MODEL:-${T2I_BUILD:-}/tests/t2i_make_text_model}"
[ -x "$PROBE" ] || fail "no t2i_model_probe (T2I_MODEL_PROBE=$PROBE)"
[ -x "$MAKE_MODEL" ] || fail "no t2i_make_text_model (T2I_MAKE_TEXT_MODEL=$MAKE_MODEL)"
cd "$TMP"
"$PROBE" write plain gan.st io.st
"$MAKE_MODEL" text.st 7

cat > st.py <<'EOF'
import numpy as np
from t2i_stream import *

# The probe GAN's images are small (|x| < 1e-3): compare them relative to their scale.
def rel(a, b):
    return float(np.abs(a.astype(np.float64) - b).max() / max(np.abs(a).max(), 1e-30))
EOF
py() { "$PY" -c "from st import *
$1"; }

# Three embeddings, one of them [1,24] as well as [24]; a key with '/' as encode-text writes them.
py '
r = np.random.default_rng(5)
save("emb.t2i", [("017.Cardinal/Cardinal_0001", r.standard_normal(24).astype(np.float32)),
                 ("b", r.standard_normal((1, 24)).astype(np.float32)),
                 ("c", r.standard_normal(24).astype(np.float32))])
save("wide.t2i", [("a", np.zeros(25, np.float32))])
save("bytes.t2i", [("a", np.zeros(24, np.uint8))])
'

# --- keys, shapes, range.
generate -m gan.st -n 3 emb.t2i > n3.t2i 2> n3.err
grep -q "generated 9 images from 3 embeddings" n3.err || fail "no closing line: $(cat n3.err)"
py '
rec = load("n3.t2i")
want = [f"{k}/{i}" for k in ("017.Cardinal/Cardinal_0001", "b", "c") for i in range(3)]
assert [k for k, _ in rec] == want, [k for k, _ in rec]
for k, a in rec:
    assert a.dtype == np.float32 and a.shape == (3, 64, 64), (k, a.dtype, a.shape)
    assert np.isfinite(a).all() and a.min() >= -1 and a.max() <= 1, (k, a.min(), a.max())
    assert a.std() > 0, k
d = dict(rec)
assert rel(d["b/0"], d["b/1"]) > 1e-2 and rel(d["b/1"], d["b/2"]) > 1e-2
'
generate -q -m gan.st < emb.t2i > n1.t2i
py 'assert keys("n1.t2i") == ["017.Cardinal/Cardinal_0001/0", "b/0", "c/0"], keys("n1.t2i")'
pass "-n 3: key/0..key/2, float32 [3,64,64] in [-1,1], samples differ; -n 1 keys key/0; stdin"

# --- the same seed gives the same bytes; another seed other images.
generate -q -m gan.st -n 3 -o n3b.t2i emb.t2i
same_file n3.t2i n3b.t2i
generate -q -m gan.st -n 3 --seed 2 emb.t2i > s2.t2i
cmp -s n3.t2i s2.t2i && fail "--seed 2 gave the bytes of --seed 1"
pass "same seed, same bytes (stdout or -o); another seed, other images"

# --- --batch: the noise never depends on it; images agree to rounding on cpu, bit for bit on ref.
generate -q -m gan.st -n 3 --write-z z64.t2i emb.t2i > b64.t2i
generate -q -m gan.st -n 3 --batch 1 --write-z z1.t2i emb.t2i > b1.t2i
generate -q -m gan.st -n 3 --batch 4 --write-z z4.t2i emb.t2i > b4.t2i
same_file z64.t2i z1.t2i
same_file z64.t2i z4.t2i
same_file n3.t2i b64.t2i
py '
a = dict(load("b64.t2i"))
for other in ("b1.t2i", "b4.t2i"):
    b = load(other)
    assert [k for k, _ in b] == list(a)
    err = max(rel(a[k], v) for k, v in b)
    assert err < 1e-4, (other, err)
'
generate -q --backend ref -m gan.st -n 3 emb.t2i > r64.t2i
generate -q --backend ref -m gan.st -n 3 --batch 2 emb.t2i > r2.t2i
same_file r64.t2i r2.t2i
py '
a, b = dict(load("r64.t2i")), dict(load("b64.t2i"))
assert max(rel(a[k], b[k]) for k in a) < 1e-4
'
pass "--batch 1, 4 and 64: the same z bytes; images agree to rounding (cpu), identical (ref)"

# --- the noise of a record depends on its key and the seed only, not on the other records.
py 'save("c_only.t2i", [r for r in load("emb.t2i") if r[0] == "c"])'
generate -q -m gan.st -n 3 c_only.t2i > c3.t2i
py '
full, part = dict(load("n3.t2i")), load("c3.t2i")
assert [k for k, _ in part] == ["c/0", "c/1", "c/2"]
for k, v in part:
    assert rel(full[k], v) < 1e-4, k
'
pass "a record alone gets the noise it gets in the whole stream"

# --- --write-z then --z: the same images; the z stream is keyed like the images.
py '
z = load("z64.t2i")
assert [k for k, _ in z] == keys("n3.t2i"), [k for k, _ in z]
assert all(a.dtype == np.float32 and a.shape == (10,) for _, a in z)
assert len({a.tobytes() for _, a in z}) == 9
'
generate -q -m gan.st -n 3 --z z64.t2i emb.t2i > again.t2i
same_file n3.t2i again.t2i
# --z pairs by order, not by key: other keys, [1,10] records, from stdin.
py 'save("zr.t2i", [(f"z{i}", a.reshape(1, 10)) for i, (_, a) in enumerate(load("z64.t2i"))])'
generate -q -m gan.st -n 3 --z - emb.t2i < zr.t2i > again2.t2i
same_file n3.t2i again2.t2i
pass "--write-z then --z gives the same bytes; --z pairs in order, [1,z_dim] and stdin accepted"

# --- one z for every image: two embeddings, one style; they differ only by the text.
py 'save("one_z.t2i", [("style", load("z64.t2i")[4][1])])'
generate -q -m gan.st --z one_z.t2i --write-z used.t2i emb.t2i > shared.t2i
py '
img = dict(load("shared.t2i"))
assert list(img) == ["017.Cardinal/Cardinal_0001/0", "b/0", "c/0"], list(img)
assert rel(img["b/0"], img["c/0"]) > 1e-2
# b/1 of the -n 3 run had this z and the embedding of b: the same image, up to batch rounding.
assert rel(img["b/0"], dict(load("n3.t2i"))["b/1"]) < 1e-4
z = load("used.t2i")
assert [k for k, _ in z] == list(img) and all(np.array_equal(a, z[0][1]) for _, a in z)
'
# The paper's style transfer: one embedding, many z vectors, -n their number.
py 'save("one_emb.t2i", load("emb.t2i")[:1])'
generate -q -m gan.st -n 9 --z z64.t2i one_emb.t2i > styles.t2i
py 'assert len(load("styles.t2i")) == 9'
pass "one z for all: different texts give different images; one text with -n z vectors"

# --- mismatched z: too few, too many, one with -n 3, wrong size, empty.
expect_exit 2 generate -m gan.st -n 2 --z z64.t2i emb.t2i
grep -q "z64.t2i: holds 9 z vectors, but 3 embedding records of emb.t2i with -n 2 need 6" "$TMP/err" ||
  fail "too many z: $(cat "$TMP/err")"
expect_exit 2 generate -m gan.st -n 4 --z z64.t2i emb.t2i
grep -q "z64.t2i: holds 9 z vectors, too few" "$TMP/err" || fail "too few z: $(cat "$TMP/err")"
expect_exit 2 generate -m gan.st -n 3 --z one_z.t2i emb.t2i
grep -q "one_z.t2i: holds one z vector" "$TMP/err" || fail "one z, -n 3: $(cat "$TMP/err")"
expect_exit 2 generate -m gan.st --z emb.t2i emb.t2i
grep -q "emb.t2i: key '017.Cardinal/Cardinal_0001': float32 \[24\]; expected float32 \[10\]" "$TMP/err" ||
  fail "z of the wrong size: $(cat "$TMP/err")"
: > empty.t2i
expect_exit 2 generate -m gan.st --z empty.t2i emb.t2i
grep -q "empty.t2i: no z vectors" "$TMP/err" || fail "empty z: $(cat "$TMP/err")"
[ ! -e out.t2i ] || fail "out.t2i exists"
expect_exit 2 generate -m gan.st -n 4 --z z64.t2i -o out.t2i --write-z outz.t2i emb.t2i
[ ! -e out.t2i ] && [ ! -e outz.t2i ] || fail "a failed run left out.t2i or outz.t2i behind"
pass "z streams that do not pair are refused with one line; no output file left"

# --- train-gan's embedding standardisation, stored in the checkpoint, is applied: a model with
# mean m and scale s given e draws what the same weights without it draw from (e - m) * s.
py '
import json, struct
d = open("gan.st", "rb").read()
n = struct.unpack("<Q", d[:8])[0]
h = json.loads(d[8:8 + n]); data = d[8 + n:]
r = np.random.default_rng(9)
m = r.standard_normal(24).astype(np.float32); s = np.float32(0.37)
end = max(v["data_offsets"][1] for k, v in h.items() if k != "__metadata__")
h["embedding_norm.mean"] = {"dtype": "F32", "shape": [24], "data_offsets": [end, end + 96]}
h["__metadata__"]["embedding_norm.scale"] = "0.37"
t = json.dumps(h).encode(); t += b" " * (-len(t) % 8)
open("normed.st", "wb").write(struct.pack("<Q", len(t)) + t + data[:end] + m.tobytes())
save("emb-std.t2i", [(k, ((e.reshape(-1) - m) * s).astype(np.float32)) for k, e in load("emb.t2i")])
h["__metadata__"]["embedding_norm.scale"] = "nan"
t = json.dumps(h).encode(); t += b" " * (-len(t) % 8)
open("badnorm.st", "wb").write(struct.pack("<Q", len(t)) + t + data[:end] + m.tobytes())
'
generate -q -m normed.st -n 2 emb.t2i > normed.t2i
generate -q -m gan.st -n 2 emb-std.t2i > std.t2i
generate -q -m gan.st -n 2 emb.t2i > raw.t2i
py '
a, b, c = load("normed.t2i"), load("std.t2i"), load("raw.t2i")
assert [k for k, _ in a] == [k for k, _ in b]
assert max(rel(x, y) for (_, x), (_, y) in zip(a, b)) < 1e-5, "standardisation not applied as stored"
assert max(rel(x, y) for (_, x), (_, y) in zip(a, c)) > 1e-3, "standardisation changed nothing"
' || fail "embedding standardisation"
expect_exit 2 generate -m badnorm.st emb.t2i
grep -q "embedding_norm.scale 'nan': expected a positive number" "$TMP/err" || fail "bad scale: $(cat "$TMP/err")"
pass "the checkpoint's embedding standardisation is applied; a malformed one refused by name"

# --- bad models and bad embeddings.
expect_exit 2 generate -m text.st emb.t2i
grep -q "^generate: error: text.st: a text model checkpoint (model 't2igan-text'), not a GAN checkpoint" "$TMP/err" ||
  fail "text model as -m: $(cat "$TMP/err")"
expect_exit 2 generate -m missing.st emb.t2i
grep -q "missing.st" "$TMP/err" || fail "missing model: $(cat "$TMP/err")"
expect_exit 2 generate -m emb.t2i emb.t2i
grep -q "emb.t2i" "$TMP/err" || fail "not a checkpoint: $(cat "$TMP/err")"
expect_exit 2 generate -m gan.st wide.t2i
grep -q "wide.t2i: key 'a': float32 \[25\]; expected float32 \[24\] (or \[1,24\]), the emb_dim of gan.st" "$TMP/err" ||
  fail "wrong embedding size: $(cat "$TMP/err")"
expect_exit 2 generate -m gan.st bytes.t2i
grep -q "key 'a': uint8 \[24\]; expected float32" "$TMP/err" || fail "uint8 embedding: $(cat "$TMP/err")"
generate -q -m gan.st empty.t2i > none.t2i
[ ! -s none.t2i ] || fail "no embeddings gave output"
pass "a text model, a missing file, a stream as model, wrong embedding size or dtype refused; empty input"

# --- usage errors.
expect_exit 1 generate emb.t2i
expect_exit 1 generate -m gan.st -n 0 emb.t2i
expect_exit 1 generate -m gan.st --batch 0 emb.t2i
expect_exit 1 generate -m gan.st --z - < emb.t2i
expect_exit 1 generate -m gan.st --write-z - emb.t2i
expect_exit 1 generate -m gan.st emb.t2i emb.t2i
pass "usage errors"
