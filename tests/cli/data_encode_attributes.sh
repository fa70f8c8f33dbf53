#!/usr/bin/env bash
# encode-attributes on a tiny synthetic bird set: every image's vector is its rows of
# image_attribute_labels.txt (checked with NumPy against the files), one colour a part, the split
# and the two key modes; the vectors train a GAN and feed generate in place of caption embeddings;
# bad input gives one error line and leaves an earlier output file alone.
. "$(dirname "$0")/lib.sh"
need_numpy
cd "$TMP"
make-birds -q --out birds --count 120 --size 76 --threads 2

encode-attributes -q birds > all.t2i
encode-attributes -q birds --split trainval --mode each -o tr.t2i
encode-attributes -q birds --split test > te.t2i
"$PY" - <<'PYEOF' || fail "the vectors are not the dataset's attribute labels"
import io, numpy as np
def load(path):
    f = io.BytesIO(open(path, "rb").read()); out = []
    while True:
        key = b""
        while (c := f.read(1)) not in (b" ", b""):
            key += c
        if not key: break
        out.append((key.decode(), np.lib.format.read_array(f)))
    return out
names = [l.split()[1] for l in open("birds/attributes.txt")]
images = {int(i): p.rsplit(".", 1)[0] for i, p in (l.split() for l in open("birds/images.txt"))}
truth = {k: np.zeros(len(names), np.float32) for k in images.values()}
for l in open("birds/attributes/image_attribute_labels.txt"):
    i, a, present = l.split()[:3]
    truth[images[int(i)]][int(a) - 1] = float(present)
test = {l.strip() for l in open("birds/testclasses.txt") if l.strip()}
every = load("all.t2i")
assert [k for k, _ in every] == [images[i] for i in sorted(images)], "all: not every image in dataset order"
for k, v in every:
    assert v.dtype == np.float32 and v.shape == (len(names),), (k, v.dtype, v.shape)
    assert np.array_equal(v, truth[k]), k
    for part in ("crown", "breast", "wing"):   # the birds have one colour a part
        assert sum(v[j] for j, n in enumerate(names) if n.startswith(f"has_{part}_color::")) == 1, (k, part)
tr, te = load("tr.t2i"), load("te.t2i")
assert tr and te and len(tr) + len(te) == len(every), (len(tr), len(te), len(every))
for k, v in tr:
    assert k.endswith("/0") and k[:-2].split("/")[0] not in test and np.array_equal(v, truth[k[:-2]]), k
for k, v in te:
    assert k.split("/")[0] in test and np.array_equal(v, truth[k]), k
PYEOF
pass "encode-attributes: $(grep -c . birds/attributes.txt) attributes an image, as in image_attribute_labels.txt; splits and --mode each"

# In place of caption embeddings: train-gan reads the each-mode vectors, generate the mean-mode ones.
pack-images -q --size 76 --threads 2 --split trainval birds > im.t2i
train-gan -q --images im.t2i --embeddings tr.t2i -o gan.st --epochs 1 --ngf 4 --ndf 4 --z-dim 10 --proj-dim 8 \
  --batch 16 --backend cpu --threads 1 --seed 3
A=$(grep -c . birds/attributes.txt)
head -c 8192 gan.st | grep -aq "\"emb_dim\":\"$A\"" || fail "gan.st is not conditioned on the $A attributes"
generate -q -m gan.st -n 2 --threads 1 < te.t2i > samples.t2i
[ "$(tensor-info --no-stats samples.t2i | awk 'NR > 1 && !/^#/' | wc -l)" = $((2 * $(tensor-info --no-stats te.t2i | awk 'NR > 1 && !/^#/' | wc -l))) ] ||
  fail "generate did not make 2 samples per attribute vector"
pass "the vectors train a GAN (train-gan --embeddings) and drive generate"

# --- Bad input: one line each; an earlier output is left alone.
cp te.t2i keep.t2i
expect_exit 1 encode-attributes birds --mode every -o te.t2i
grep -q -- "--mode 'every': expected mean or each" "$TMP/err" || fail "--mode every: $(cat "$TMP/err")"
expect_exit 1 encode-attributes birds --split validation -o te.t2i
expect_exit 2 encode-attributes missing-dir -o te.t2i
cp -r birds bare && rm bare/attributes/image_attribute_labels.txt
expect_exit 2 encode-attributes bare -o te.t2i
grep -q "image_attribute_labels.txt" "$TMP/err" || fail "no attribute labels: $(cat "$TMP/err")"
same_file te.t2i keep.t2i
pass "bad input: one line, exit 1 or 2, the earlier output untouched"
