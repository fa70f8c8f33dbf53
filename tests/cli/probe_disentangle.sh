#!/usr/bin/env bash
# probe-disentangle on a small synthetic bird set: ground-truth style vectors (the keypoints, the
# background colours) score near 1 on their own task and near 0.5 on the other, random vectors
# near 0.5; the table, ROC TSV and PNG plot; the same bytes again; background colours estimated
# from the pixels when the dataset has no background_rgb.txt (as real CUB); bad input gets one
# line and exit 2.
. "$(dirname "$0")/lib.sh"
need_numpy
cd "$TMP"
make-birds -q --out birds --count 400 --size 64 --threads 1 --seed 5

"$PY" - <<'PYEOF' || fail "writing vectors"
import numpy as np
from t2i_stream import save
root = "birds"
ids = {}
for l in open(root + "/images.txt"):
    i, p = l.split()
    ids[int(i)] = p.rsplit(".", 1)[0]
order = sorted(ids)
bg = {int(l.split()[0]): np.array([float(x) for x in l.split()[1:4]]) for l in open(root + "/background_rgb.txt")}
names = {int(l.split()[0]): l.split(None, 1)[1].strip() for l in open(root + "/parts/parts.txt")}
want = sorted(k for k, v in names.items() if v in ("beak", "belly", "breast", "crown", "forehead", "tail"))
assert len(want) == 6, names
pose = {}
for l in open(root + "/parts/part_locs.txt"):
    f = l.split()
    if int(f[1]) in want:
        pose.setdefault(int(f[0]), {})[int(f[1])] = (float(f[2]) / 64, float(f[3]) / 64)
P = np.array([[c for p in want for c in pose[i][p]] for i in order]); P -= P.mean(0)
C = np.array([bg[i] / 255 for i in order]); C -= C.mean(0)
rng = np.random.default_rng(1)
save("pose.t2i", [(ids[i], P[k].astype(np.float32)) for k, i in enumerate(order)])
save("bg.t2i", [(ids[i], C[k].astype(np.float32)) for k, i in enumerate(order)])
# Per-caption keys, averaged per image by the probe; a second record of 1 x D shape.
save("random.t2i", [(ids[i] + "/%d" % j, rng.standard_normal((1, 8) if j else 8).astype(np.float32))
                    for i in order for j in range(2)])
save("unknown.t2i", [(ids[order[0]], np.zeros(3, np.float32)), ("999.Nobird/Nobird_1", np.zeros(3, np.float32))])
save("image.t2i", [(ids[order[0]], np.zeros((3, 64, 64), np.uint8))])
# Wider than the linear R^2 is computed for (4096): the column says "-".
save("wide5k.t2i", [(ids[i], rng.standard_normal(5000).astype(np.float32)) for i in order])
# The pose vector plus noise of its own covariance, through a fixed rotation: every direction half
# signal, so a linear map explains about half of it (R^2 0.5 less the fitting of noise).
ev, E = np.linalg.eigh(np.cov(P.T))
Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
Z = (P + rng.standard_normal(P.shape) @ np.diag(np.sqrt(np.maximum(ev, 0))) @ E.T) @ Q
save("halfpose.t2i", [(ids[i], Z[k].astype(np.float32)) for k, i in enumerate(order)])
save("mixed.t2i", [(ids[order[0]], np.zeros(3, np.float32)), (ids[order[1]], np.zeros(4, np.float32))])
save("wide.t2i", [(ids[order[0]], np.zeros(70000, np.float32))])
save("few.t2i", [(ids[i], rng.standard_normal(3).astype(np.float32)) for i in order[:10]])
PYEOF

ARGS=(--vectors pose=pose.t2i --vectors bg=bg.t2i --vectors random.t2i --clusters 20 --pairs 4000 --threads 1)
probe-disentangle birds "${ARGS[@]}" --roc roc.tsv --plot roc.png > table.tsv 2> probe.err
"$PY" - <<'PYEOF' || fail "AU-ROC check: $(cat table.tsv)"
import struct
rows = [l.rstrip("\n").split("\t") for l in open("table.tsv")]
assert rows[0] == ["vectors", "task", "au_roc", "au_roc_sd", "folds", "pairs", "images", "clusters", "linear_r2"], rows[0]
auc = {(r[0], r[1]): (float(r[2]), float(r[3])) for r in rows[1:]}
r2 = {(r[0], r[1]): float(r[8]) for r in rows[1:]}
assert len(auc) == 6 and all(r[4:8] == ["5", "4000", "400", "20"] for r in rows[1:]), rows
print("linear R^2:", " ".join("%s/%s %.3f" % (k + (v,)) for k, v in r2.items()))
# The labels themselves explain their own task (pose: all but the hidden flags), nothing of the
# other; random vectors nothing.
assert r2["pose", "pose"] > 0.8 and r2["bg", "background"] > 0.99, r2
for k in [("pose", "background"), ("bg", "pose"), ("random", "pose"), ("random", "background")]:
    assert -0.1 < r2[k] < 0.05, (k, r2[k])
print("\n".join("%s %s %.3f +- %.3f" % (k + v) for k, v in auc.items()))
assert auc["pose", "pose"][0] > 0.9, auc
assert auc["bg", "background"][0] > 0.85, auc
for k in [("pose", "background"), ("bg", "pose"), ("random", "pose"), ("random", "background")]:
    assert 0.4 < auc[k][0] < 0.6, (k, auc[k])
assert all(0 < v[1] < 0.1 for v in auc.values()), auc
roc = [l.rstrip("\n").split("\t") for l in open("roc.tsv")]
assert roc[0] == ["vectors", "task", "fpr", "tpr", "threshold"], roc[0]
for name in ("pose", "bg", "random"):
    for task in ("pose", "background"):
        pts = [(float(r[2]), float(r[3])) for r in roc[1:] if r[0] == name and r[1] == task]
        assert pts[0] == (0.0, 0.0) and pts[-1] == (1.0, 1.0), (name, task, pts[0], pts[-1])
        assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(pts, pts[1:])), (name, task)
d = open("roc.png", "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", d[16:24]) == (800, 400)
PYEOF
grep -q "pose: 400 images in 20 clusters (k-means++" probe.err || fail "no clustering line: $(cat probe.err)"
probe-disentangle -q birds "${ARGS[@]}" --roc roc2.tsv --plot roc2.png > table2.tsv
same_file table.tsv table2.tsv
same_file roc.tsv roc2.tsv
same_file roc.png roc2.png
pass "ground-truth vectors score near 1 on their task, random near 0.5 (AU-ROC and linear R^2); table, ROC TSV, PNG; same bytes again"

# --- linear R^2 of vectors that hold half the pose linearly, and none for vectors too wide.
probe-disentangle -q birds --vectors halfpose.t2i --vectors wide5k.t2i --tasks pose --clusters 20 --pairs 4000 > half.tsv
"$PY" -c '
r = {l.split("\t")[0]: l.rstrip("\n").split("\t") for l in open("half.tsv").read().splitlines()[1:]}
print("halfpose pose R^2", r["halfpose"][8])
assert 0.4 < float(r["halfpose"][8]) < 0.56, r
assert r["wide5k"][8] == "-", r
' || fail "linear R^2: $(cat half.tsv)"
pass "linear R^2: half the pose scores about half; vectors wider than 4096 give -"

# --- --explain: what each part of the drawn style explains of each stream. The pose label codes
# pose, the background colour background, the lighting and the branch (style.txt) the other style.
"$PY" - <<'PYEOF' || fail "writing other-style vectors"
import numpy as np
from t2i_stream import save
ids = {int(l.split()[0]): l.split()[1].rsplit(".", 1)[0] for l in open("birds/images.txt")}
st = {int(l.split()[0]): l.split()[1:] for l in open("birds/style.txt")}
O = np.array([[float(st[i][24]), 100 * float(st[i][25]), 50 * float(st[i][17])] for i in sorted(ids)])
save("other.t2i", [(ids[i], (O[k] - O.mean(0)).astype(np.float32)) for k, i in enumerate(sorted(ids))])
PYEOF
EX=(--vectors pose=pose.t2i --vectors bg=bg.t2i --vectors random.t2i --vectors other=other.t2i --clusters 20 --pairs 4000 --threads 1)
probe-disentangle birds "${EX[@]}" --explain explain.tsv > ex-table.tsv 2> ex.err || fail "--explain: $(cat ex.err)"
probe-disentangle -q birds "${EX[@]}" > ex-table2.tsv
same_file ex-table.tsv ex-table2.tsv
"$PY" - <<'PYEOF' || fail "--explain: $(cat explain.tsv)"
rows = [l.rstrip("\n").split("\t") for l in open("explain.tsv")]
assert rows[0] == ["vectors", "source", "dim", "images", "r2"], rows[0]
r2 = {(r[0], r[1]): float(r[4]) for r in rows[1:]}
dims = {r[1]: r[2] for r in rows[1:]}
assert dims == {"pose": "18", "background": "3", "pose+background": "21", "other": "19", "all": "40"}, dims
assert all(r[3] == "400" for r in rows[1:]), rows
print(" ".join("%s/%s %.3f" % (k + (v,)) for k, v in r2.items()))
assert r2["pose", "pose"] > 0.95 and r2["bg", "background"] > 0.99 and r2["other", "other"] > 0.95, r2
assert r2["bg", "pose"] < 0.1 and r2["other", "pose+background"] < 0.3, r2
for src in ("pose", "background", "pose+background", "other", "all"):
    assert r2["random", src] < 0.05, (src, r2)
for v in ("pose", "bg", "other"):
    assert r2[v, "all"] > max(r2[v, s] for s in ("pose", "background", "other")) - 0.02, (v, r2)
PYEOF
grep -q "other: all explains" ex.err || fail "no --explain log line: $(cat ex.err)"
# Without style.txt (real CUB): the two labels alone, said once.
cp -r birds nostyle && rm nostyle/style.txt
probe-disentangle nostyle "${EX[@]}" --explain ex-ns.tsv > /dev/null 2> ex-ns.err ||
  fail "--explain without style.txt: $(cat ex-ns.err)"
[ "$(cut -f2 ex-ns.tsv | sort -u | tr '\n' ' ')" = "background pose pose+background source " ] || fail "without style.txt: $(cat ex-ns.tsv)"
grep -q "no style.txt" ex-ns.err || fail "without style.txt, not said: $(cat ex-ns.err)"
expect_exit 1 probe-disentangle birds "${EX[@]}" --tasks pose --explain x.tsv
grep -q -- "--explain needs both tasks" "$TMP/err" || fail "--explain --tasks pose: $(cat "$TMP/err")"
expect_exit 1 probe-disentangle birds "${EX[@]}" --explain -
grep -q -- "--explain - and -o - name the same file" "$TMP/err" || fail "--explain -: $(cat "$TMP/err")"
# A probe that fails after the explaining (400 clusters of 400 images: no same-style pair) leaves
# no table behind.
expect_exit 2 probe-disentangle -q birds --vectors pose=pose.t2i --clusters 400 --pairs 4000 --threads 1 --explain late.tsv -o late-probe.tsv
grep -q "give no same-style or no different-style pairs" "$TMP/err" || fail "400 clusters: $(cat "$TMP/err")"
[ ! -e late.tsv ] && [ ! -e late-probe.tsv ] || fail "a failed probe left a table: $(ls late*)"
cp birds/style.txt nostyle/style.txt && sed -i '7s/ \(plain\|gradient\|horizon\) / leafy /' nostyle/style.txt
expect_exit 2 probe-disentangle nostyle "${EX[@]}" --explain x.tsv
grep -q "style.txt:7: background 'leafy': expected plain, gradient or horizon" "$TMP/err" || fail "bad style.txt: $(cat "$TMP/err")"
[ ! -e x.tsv ] || fail "--explain wrote a table on bad input"
pass "--explain: each stream's variance by the part of the style that explains it; two labels without style.txt; bad lines refused"

# --- A task's clusters and pairs do not depend on the other tasks: --tasks background gives the
# background rows of the default run (the seed is a hash of the task name, not its position).
probe-disentangle -q birds "${ARGS[@]}" --tasks background > bgonly.tsv
probe-disentangle -q birds "${ARGS[@]}" --tasks background,pose > swapped.tsv
[ "$(grep -P '\tbackground\t' bgonly.tsv)" = "$(grep -P '\tbackground\t' table.tsv)" ] \
  || fail "--tasks background differs from the default run: $(cat bgonly.tsv) vs $(cat table.tsv)"
[ "$(sort swapped.tsv)" = "$(sort table.tsv)" ] || fail "task order changed the results: $(cat swapped.tsv)"
pass "--tasks background equals the background rows of the default run; the task order does not matter"

# --- Images without any keypoint line have no pose label: left out of the pose task, counted.
cp -r birds unlab
awk '$1 > 40' birds/parts/part_locs.txt > unlab/parts/part_locs.txt
probe-disentangle birds --vectors pose=pose.t2i --tasks pose --clusters 20 --pairs 4000 --threads 1 > /dev/null 2> all.err
probe-disentangle unlab --vectors pose=pose.t2i --tasks pose --clusters 20 --pairs 4000 --threads 1 > unlab.tsv 2> unlab.err
grep -q "pose: 40 of the 400 probed images have no keypoint lines in unlab/parts/part_locs.txt and are left out" unlab.err \
  || fail "no drop note: $(cat unlab.err)"
grep -q "pose: 360 images in 20 clusters" unlab.err || fail "pose clustered unlabelled images: $(cat unlab.err)"
[ "$(cut -f7 unlab.tsv | tail -1)" = 360 ] || fail "images column: $(cat unlab.tsv)"
if grep -q "no keypoint lines" all.err; then fail "drop note without unlabelled images: $(cat all.err)"; fi
pass "images without keypoint lines are left out of the pose task"

# --- No background_rgb.txt (real CUB): estimated from the pixels outside the bounding boxes.
cp -r birds nobg
rm nobg/background_rgb.txt
probe-disentangle -q nobg --vectors bg=bg.t2i --tasks background --clusters 20 --pairs 4000 --threads 1 > nobg.tsv
"$PY" -c '
r = open("nobg.tsv").read().splitlines()[1].split("\t")
print("estimated backgrounds: bg", r[2])
assert r[:2] == ["bg", "background"] and float(r[2]) > 0.75, r
' || fail "estimated background: $(cat nobg.tsv)"
pass "without background_rgb.txt the estimated colours give the same styles"

# --- bad input: one line, exit 2; usage: exit 1.
expect_exit 2 probe-disentangle birds --vectors unknown.t2i --clusters 2 --pairs 100
grep -q "unknown.t2i: key '999.Nobird/Nobird_1' is not an image of birds" "$TMP/err" || fail "key: $(cat "$TMP/err")"
expect_exit 2 probe-disentangle birds --vectors image.t2i
grep -q "image.t2i: key '.*': uint8 \[3,64,64\]; expected a float32 vector" "$TMP/err" || fail "shape: $(cat "$TMP/err")"
expect_exit 2 probe-disentangle birds --vectors mixed.t2i
grep -q "mixed.t2i: key '.*' has 4 values; expected 3" "$TMP/err" || fail "dims: $(cat "$TMP/err")"
expect_exit 2 probe-disentangle birds --vectors wide.t2i
grep -q "wide.t2i: key '.*' has 70000 values; expected at most 65536" "$TMP/err" || fail "wide: $(cat "$TMP/err")"
expect_exit 2 probe-disentangle birds --vectors few.t2i
grep -q "10 images of birds are in every vector stream, fewer than --clusters 100" "$TMP/err" || fail "few: $(cat "$TMP/err")"
expect_exit 2 probe-disentangle nonexistent --vectors bg.t2i
mkdir -p noparts && cp -r birds/images birds/images.txt noparts/
expect_exit 2 probe-disentangle noparts --vectors bg.t2i --clusters 20 --tasks pose
grep -q "part_locs.txt: no part keypoints" "$TMP/err" || fail "no parts: $(cat "$TMP/err")"
expect_exit 1 probe-disentangle birds
expect_exit 1 probe-disentangle birds --vectors a=bg.t2i --vectors a=pose.t2i
expect_exit 1 probe-disentangle birds --vectors bg.t2i --tasks colour
pass "unknown keys, wrong shapes, too few images, missing keypoints: one line, exit 2; usage errors exit 1"
