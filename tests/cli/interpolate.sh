#!/usr/bin/env bash
# interpolate: endpoints bit for bit, evenly spaced points, the midpoint of -k 3 is the mean,
# --slerp keeps the norm of z vectors, --pairs, keys and prefixes, errors; and the paper's
# sentence interpolation: encode-text | interpolate | generate --z <one z>.
. "$(dirname "$0")/lib.sh"
need_numpy
cd "$TMP"

cat > st.py <<'EOF'
import numpy as np
from t2i_stream import *
EOF
py() { "$PY" -c "from st import *
$1"; }

py '
r = np.random.default_rng(3)
save("v.t2i", [("a/x", r.standard_normal(24).astype(np.float32)),
               ("b", r.standard_normal(24).astype(np.float32)),
               ("z1", r.standard_normal(100).astype(np.float32)),
               ("z2", r.standard_normal(100).astype(np.float32)),
               ("m1", r.standard_normal((2, 3, 4)).astype(np.float32)),
               ("m2", r.standard_normal((2, 3, 4)).astype(np.float32)),
               ("zero", np.zeros(24, np.float32)),
               ("bytes", np.zeros(24, np.uint8))])
'

# --- linear: keys, endpoints bit for bit, even spacing.
interpolate --from a/x --to b -k 8 v.t2i > ab.t2i 2> ab.err
grep -q "wrote 8 records: 1 pair x 8 steps, linear" ab.err || fail "closing line: $(cat ab.err)"
py '
v, out = dict(load("v.t2i")), load("ab.t2i")
assert [k for k, _ in out] == [f"a_x~b/{i}" for i in range(8)], [k for k, _ in out]
a, b = v["a/x"], v["b"]
assert np.array_equal(out[0][1], a) and np.array_equal(out[-1][1], b)
for i, (k, x) in enumerate(out):
    assert x.dtype == np.float32 and x.shape == (24,)
    t = i / 7
    assert np.abs(x - ((1 - t) * a.astype(np.float64) + t * b)).max() < 1e-6, k
'
interpolate --from m1 --to m2 -k 3 --key mid < v.t2i > mid.t2i
py '
v, out = dict(load("v.t2i")), load("mid.t2i")
assert [k for k, _ in out] == ["mid/0", "mid/1", "mid/2"]
assert out[1][1].shape == (2, 3, 4)
mean = ((v["m1"].astype(np.float64) + v["m2"]) / 2).astype(np.float32)
assert np.array_equal(out[1][1], mean), np.abs(out[1][1] - mean).max()
'
interpolate -q --from b --to a/x -k 2 -o two.t2i v.t2i
py '
v, out = dict(load("v.t2i")), load("two.t2i")
assert [k for k, _ in out] == ["b~a_x/0", "b~a_x/1"]
assert np.array_equal(out[0][1], v["b"]) and np.array_equal(out[1][1], v["a/x"])
'
pass "linear: keys FROM~TO/i with / made _, exact endpoints, even spacing, the mean at -k 3, any shape, -o"

# --- slerp: exact endpoints; the norm of z vectors stays, where lerp shrinks it.
interpolate --from z1 --to z2 -k 9 --slerp v.t2i > s.t2i
interpolate -q --from z1 --to z2 -k 9 v.t2i > l.t2i
py '
v, s, l = dict(load("v.t2i")), load("s.t2i"), load("l.t2i")
a, b = v["z1"].astype(np.float64), v["z2"].astype(np.float64)
assert np.array_equal(s[0][1], v["z1"]) and np.array_equal(s[-1][1], v["z2"])
na, nb = np.linalg.norm(a), np.linalg.norm(b)
norms = [np.linalg.norm(x) for _, x in s]
assert all(0.95 * min(na, nb) <= n <= 1.05 * max(na, nb) for n in norms), (na, nb, norms)
assert np.linalg.norm(l[4][1]) < 0.85 * min(na, nb), "lerp midpoint should be shorter"
'
# Unit vectors stay on the unit great circle through them, evenly spaced in angle.
py '
r = np.random.default_rng(9)
a, b = r.standard_normal(50), r.standard_normal(50)
save("unit.t2i", [("p", (a / np.linalg.norm(a)).astype(np.float32)), ("q", (b / np.linalg.norm(b)).astype(np.float32))])
'
interpolate -q --from p --to q -k 5 --slerp unit.t2i > u.t2i
py '
v, u = dict(load("unit.t2i")), load("u.t2i")
a, b = v["p"].astype(np.float64), v["q"].astype(np.float64)
a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
omega = np.arccos(a @ b)
for i, (_, x) in enumerate(u):
    x = x.astype(np.float64)
    assert abs(np.linalg.norm(x) - 1) < 1e-5, np.linalg.norm(x)
    assert abs(np.arccos(np.clip(a @ x / np.linalg.norm(x), -1, 1)) - i / 4 * omega) < 1e-4, i
    assert np.linalg.norm(x - (a @ x) * a - (x @ b - (a @ x) * (a @ b)) / (1 - (a @ b) ** 2) * (b - (a @ b) * a)) < 1e-5, i
'
# A zero vector has no direction: linear, with a warning.
interpolate --from zero --to b -k 3 --slerp v.t2i > zs.t2i 2> zs.err
grep -q "warning" zs.err || fail "no warning for a zero vector: $(cat zs.err)"
py '
v, out = dict(load("v.t2i")), load("zs.t2i")
assert np.abs(out[1][1] - v["b"] / 2).max() < 1e-7
'
pass "slerp: exact endpoints, norms kept, points on the great circle; zero vector falls back to linear"

# --- --pairs: many at once, each under its own prefix, in file order.
printf '# from to [prefix]\na/x b\n\nz1\tz2 zz\n  m1 m2  \n' > pairs.txt
interpolate --pairs pairs.txt -k 4 v.t2i > many.t2i
py '
out = load("many.t2i")
want = [f"{p}/{i}" for p in ("a_x~b", "zz", "m1~m2") for i in range(4)]
assert [k for k, _ in out] == want, [k for k, _ in out]
assert out[4][1].shape == (100,) and out[8][1].shape == (2, 3, 4)
'
interpolate -q --pairs - -k 4 v.t2i < pairs.txt > many2.t2i
same_file many.t2i many2.t2i
pass "--pairs: blank and # lines skipped, optional prefix, outputs grouped by pair; from stdin"

# --- errors: one line each; nothing written when a later pair is bad.
expect_exit 2 interpolate --from a/x --to nope v.t2i
grep -q "v.t2i: no record with key 'nope'" "$TMP/err" || fail "missing key: $(cat "$TMP/err")"
expect_exit 2 interpolate --from a/x --to z1 v.t2i
grep -q "key 'a/x' is \[24\] but key 'z1' is \[100\]" "$TMP/err" || fail "shape mismatch: $(cat "$TMP/err")"
expect_exit 2 interpolate --from a/x --to bytes v.t2i
grep -q "key 'bytes' is uint8 \[24\]; expected float32" "$TMP/err" || fail "uint8: $(cat "$TMP/err")"
printf 'a/x b\nm1 gone\n' > badpairs.txt
expect_exit 2 interpolate --pairs badpairs.txt -o out.t2i v.t2i
grep -q "no record with key 'gone' (badpairs.txt line 2)" "$TMP/err" || fail "pairs line: $(cat "$TMP/err")"
[ ! -e out.t2i ] || fail "a failed run left out.t2i behind"
interpolate --pairs badpairs.txt v.t2i > partial.t2i 2>/dev/null && fail "bad pairs accepted"
[ ! -s partial.t2i ] || fail "a failed run wrote records to stdout"
printf 'a/x b\nm1 m2 p q\n' > fourfields.txt
expect_exit 2 interpolate --pairs fourfields.txt v.t2i
grep -q "fourfields.txt: line 2: 4 fields" "$TMP/err" || fail "four fields: $(cat "$TMP/err")"
printf 'a/x b same\nm1 m2 same\n' > dup.txt
expect_exit 2 interpolate --pairs dup.txt v.t2i
grep -q "prefix 'same' (dup.txt line 2) is already used (dup.txt line 1)" "$TMP/err" || fail "dup prefix: $(cat "$TMP/err")"
printf '# nothing\n' > nopairs.txt
expect_exit 2 interpolate --pairs nopairs.txt v.t2i
expect_exit 1 interpolate --from a/x --to b -k 1 v.t2i
grep -q -- "-k 1: expected 2 to" "$TMP/err" || fail "k < 2: $(cat "$TMP/err")"
expect_exit 1 interpolate --from a/x v.t2i
expect_exit 1 interpolate --from a/x --to b --pairs pairs.txt v.t2i
expect_exit 1 interpolate --from a/x --to b --key 'has space' v.t2i
expect_exit 1 interpolate --pairs - < pairs.txt
pass "missing key, shape and dtype mismatch, bad pairs files, -k < 2 and usage errors: one line each"

# --- the paper's sentence interpolation: encode-text | interpolate | generate with one z.
PROBE="${T2I_MODEL_PROBE:-${T2I_BUILD:-}/tests/t2i_model_probe}"
MAKE_MODEL="${T2I_MAKE_TEXT_MODEL:-${T2I_BUILD:-}/tests/t2i_make_text_model}"
[ -x "$PROBE" ] || fail "no t2i_model_probe (T2I_MODEL_PROBE=$PROBE)"
[ -x "$MAKE_MODEL" ] || fail "no t2i_make_text_model (T2I_MAKE_TEXT_MODEL=$MAKE_MODEL)"
"$PROBE" write plain gan.st io.st  # z_dim 10, emb_dim 24
"$MAKE_MODEL" text.st 7            # emb_dim 24
printf 'red\ta small red bird with a short beak\nblue\ta large blue bird with long wings\n' > caps.txt
encode-text -q -m text.st caps.txt | interpolate -q --from red --to blue -k 8 > e.t2i
generate -q -m gan.st --write-z z.t2i < e.t2i > /dev/null
py 'save("z1.t2i", load("z.t2i")[:1])'
generate -q -m gan.st --z z1.t2i < e.t2i > img.t2i
encode-text -q -m text.st caps.txt | generate -q -m gan.st --z z1.t2i > ends.t2i
py '
img = load("img.t2i")
assert [k for k, _ in img] == [f"red~blue/{i}/0" for i in range(8)], [k for k, _ in img]
assert all(a.shape == (3, 64, 64) for _, a in img)
# The ends are the two captions drawn with the same z. (The untrained text model embeds the
# captions almost alike, so the path itself is not checked here; generate.sh checks that
# different embeddings give different images.)
def rel(a, b):
    return float(np.abs(a.astype(np.float64) - b).max() / np.abs(a).max())
ends = dict(load("ends.t2i"))
assert rel(img[0][1], ends["red/0"]) < 1e-4 and rel(img[-1][1], ends["blue/0"]) < 1e-4
'
pass "encode-text | interpolate | generate --z <one z>: 8 images keyed red~blue/i/0"
