#!/usr/bin/env bash
# A few hundred GAN-CLS iterations on a tiny synthetic set learn something: the discriminator's
# loss falls, and the generator's images come to depend on the text (the same noise with the
# embeddings of two classes gives clearly different images), far more than after one epoch;
# and with the mode-seeking term (the default) on the noise too, far more than without it.
# Embeddings are synthetic (one random direction per class plus noise per caption), so the test
# needs no text training; the GAN cannot tell.
. "$(dirname "$0")/lib.sh"
need_numpy
cd "$TMP"
make-birds -q --out birds --count 1000 --size 64 --threads 2 --seed 5
pack-images -q --size 64 --threads 2 birds > all.t2i
# 8 classes of 5 images each (make-birds spreads images over all 200 species).
tensor-info --no-stats all.t2i | awk -F'\t' 'NR>1 && !/^#/ {print $1}' > keys.txt
cut -d/ -f1 keys.txt | sort -u | awk 'NR <= 8' > classes.txt  # awk reads on: no SIGPIPE for sort
grep -F -f <(sed 's|$|/|' classes.txt) keys.txt > train-keys.txt
[ "$(wc -l < train-keys.txt)" -eq 40 ] || fail "expected 40 images of 8 classes, got $(wc -l < train-keys.txt)"
tensor-select --keys train-keys.txt < all.t2i > im.t2i

# Embeddings: 4 captions an image, keyed image/i; one unit direction per class (plus noise),
# scaled to norm 4 like train-text's; and one mean embedding per class for generation.
"$PY" - <<'PYEOF' || fail "writing embeddings"
import numpy as np
from t2i_stream import save
rng = np.random.default_rng(11)
keys = [l.strip() for l in open("train-keys.txt")]
classes = sorted({k.split("/")[0] for k in keys})
D = 16
base = {c: rng.standard_normal(D) for c in classes}
def unit(v):
    return 4 * v / np.linalg.norm(v)
save("emb.t2i", [("%s/%d" % (k, i), unit(base[k.split("/")[0]] + 0.2 * rng.standard_normal(D)).astype(np.float32))
                 for k in keys for i in range(4)])
save("classes.t2i", [(c, unit(base[c]).astype(np.float32)) for c in classes])
PYEOF

NETS=(--variant cls --ngf 16 --ndf 16 --z-dim 10 --proj-dim 8 --batch 8 --threads 1 --seed 3)
train-gan -q --images im.t2i --embeddings emb.t2i "${NETS[@]}" -o early.st --epochs 1
train-gan -q --images im.t2i --embeddings emb.t2i "${NETS[@]}" -o late.st --epochs 60 --log late.tsv
train-gan -q --images im.t2i --embeddings emb.t2i "${NETS[@]}" -o paper.st --epochs 60 --ms-weight 0
for m in early late paper; do
  generate -q -m $m.st -n 4 --seed 9 classes.t2i > $m-images.t2i
done

"$PY" - <<'PYEOF' || fail "learning check"
import numpy as np
from t2i_stream import load_dict as read
rows = [l.split("\t") for l in open("late.tsv")][1:]
assert len(rows) == 300, len(rows)                     # 40 images / batch 8 = 5 an epoch, 60 epochs
loss_d = np.array([float(r[3]) for r in rows])
first, last = loss_d[:50].mean(), loss_d[-50:].mean()
print("D loss: first 50 iterations %.3f, last 50 %.3f" % (first, last))
assert last < 0.8 * first, "the discriminator's loss did not fall"

def text_effect(path):
    im = read(path)
    classes = sorted({k.rsplit("/", 1)[0] for k in im})
    # |G(z_i, h_a) - G(z_i, h_b)|: the same noise index i (generate seeds noise by key, so
    # use the noise of one class for all: compare sample i of each class with sample i of the
    # next, averaged over pairs and samples).
    diffs = []
    for a, b in zip(classes, classes[1:]):
        for i in range(4):
            diffs.append(np.abs(im["%s/%d" % (a, i)] - im["%s/%d" % (b, i)]).mean())
    return float(np.mean(diffs)), im
early, _ = text_effect("early-images.t2i")
late, im = text_effect("late-images.t2i")
print("mean |image(class a) - image(class b)|: after 1 epoch %.4f, after 60 %.4f" % (early, late))
assert late > 0.05, "images hardly depend on the text"
assert late > 3 * early, "training did not make images depend more on the text"
assert all(np.isfinite(v).all() and np.abs(v).max() <= 1 for v in im.values())

def noise_effect(path):
    # |G(z_i, h) - G(z_j, h)|: the 4 samples of one class, pairwise, averaged over classes.
    im = read(path)
    classes = sorted({k.rsplit("/", 1)[0] for k in im})
    return float(np.mean([np.abs(im["%s/%d" % (c, i)] - im["%s/%d" % (c, j)]).mean()
                          for c in classes for i in range(4) for j in range(i + 1, 4)]))
ms, paper = noise_effect("late-images.t2i"), noise_effect("paper-images.t2i")
print("mean |image(z_i) - image(z_j)| for one class: mode seeking %.4f, --ms-weight 0 %.4f" % (ms, paper))
assert ms > 0.05, "with mode seeking the images hardly depend on the noise"
assert ms > 2 * paper, "mode seeking did not make the images depend more on the noise"
PYEOF
pass "300 GAN-CLS iterations: D loss falls, images depend on the text, and on the noise with mode seeking"
