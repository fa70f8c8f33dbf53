#!/usr/bin/env bash
# export-model on a tiny trained GAN and text model: the export keeps only the networks the
# sampling tools run, float16 by default (the values NumPy's float16 rounding gives, bit for bit),
# float32 on request (then generate and encode-text give the bytes of the training checkpoint);
# generate, encode-text and invert-style read exports; the tools that need what an export left
# out say so in one line; bad input and usage errors.
. "$(dirname "$0")/lib.sh"
need_numpy
MAKE_MODEL="${T2I_MAKE_TEXT_MODEL:-${T2I_BUILD:-}/tests/t2i_make_text_model}"
[ -x "$MAKE_MODEL" ] || fail "no t2i_make_text_model (T2I_MAKE_TEXT_MODEL=$MAKE_MODEL)"
cd "$TMP"
make-birds -q --out birds --count 200 --size 64 --threads 2
pack-images -q --size 64 --threads 2 birds > im.t2i
list-captions -q birds > caps.tsv
"$MAKE_MODEL" text.st 7
encode-text -q -m text.st --mode each caps.tsv > emb.t2i
train-gan -q --images im.t2i --embeddings emb.t2i --ngf 8 --ndf 8 --z-dim 10 --proj-dim 8 --batch 16 --threads 2 \
  --seed 3 --epochs 2 -o gan.st

# --- The GAN: the generator and the embedding standardisation, nothing else.
export-model gan.st -o g16.st 2> ex.err || fail "export-model failed: $(cat ex.err)"
grep -q "g16.st: kept 2[0-9] tensors .*generator), dropped" ex.err || fail "no summary line: $(cat ex.err)"
export-model -q gan.st -o g32.st --dtype f32
"$PY" - <<'PYEOF' || fail "export contents"
import json, struct
import numpy as np

def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__")
    dt = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}
    t = {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dt[v["dtype"]]).reshape(v["shape"])
         for k, v in h.items()}
    return meta, t

m0, t0 = read("gan.st")
m16, t16 = read("g16.st")
m32, t32 = read("g32.st")
want = sorted(k for k in t0 if k.startswith("generator.") or k == "embedding_norm.mean")
assert sorted(t16) == want and sorted(t32) == want, (sorted(t16), want)
assert any(k.startswith("discriminator.") for k in t0) and any(k.startswith("optimizer.") for k in t0)
for k in want:
    a = t0[k]
    if a.dtype == np.float32:
        assert t16[k].dtype == np.float16, (k, t16[k].dtype)
        # NumPy's float16 conversion (round to nearest even) is the oracle, bit for bit.
        assert (a.astype(np.float16).view(np.uint16) == t16[k].view(np.uint16)).all(), k
        assert t32[k].dtype == np.float32 and (t32[k] == a).all(), k
    else:
        assert t16[k].dtype == a.dtype and (t16[k] == a).all(), k
for m, dtype in ((m16, "f16"), (m32, "f32")):
    assert m["export.parts"] == "generator" and m["export.dtype"] == dtype, m
    assert m["export.source"] == "gan.st" and m["export.command"].startswith("export-model "), m
    for k, v in m0.items():
        assert m[k] == v, (k, m[k], v)          # configuration and provenance carried over
assert m0["train.commands"].startswith("train-gan -q --images im.t2i "), m0["train.commands"]
PYEOF
s0=$(stat -c %s gan.st); s16=$(stat -c %s g16.st); s32=$(stat -c %s g32.st)
[ "$s32" -lt "$s0" ] && [ $((s16 * 10)) -lt $((s32 * 6)) ] || fail "sizes: checkpoint $s0, f32 export $s32, f16 export $s16"
pass "GAN export: generator and embedding_norm only, float16 = NumPy's rounding, float32 = the same values, metadata kept ($s0 -> $s32 -> $s16 bytes)"

# --- generate reads them: float32 gives the same bytes, float16 nearly the same images.
printf 'a\ta small red bird with black wings\nb\ta blue bird with a white belly\n' > s.tsv
encode-text -q -m text.st s.tsv > s.t2i
generate -q -m gan.st -n 4 s.t2i > a.t2i
generate -q -m g32.st -n 4 s.t2i > b.t2i
generate -q -m g16.st -n 4 s.t2i > c.t2i
same_file a.t2i b.t2i
"$PY" -c '
import numpy as np
from t2i_stream import load
a = np.stack([v for _, v in load("a.t2i")]); c = np.stack([v for _, v in load("c.t2i")])
assert [k for k, _ in load("a.t2i")] == [k for k, _ in load("c.t2i")]
d = np.abs(a - c).max()
m = np.abs(a - c).mean()
assert 0 < d < 0.1 and m < 0.005, (d, m)   # float16 weights: the mean change far below one 8-bit grey level (0.0078)
' || fail "float16 generator's images"
pass "generate: the float32 export gives the checkpoint's bytes, the float16 one nearly the same images"

# --- The text model: the text encoder only, unless --with-image-encoder.
export-model -q text.st -o t16.st
export-model -q text.st -o t32.st --dtype f32
export-model -q text.st -o ti.st --with-image-encoder
encode-text -q -m t32.st s.tsv > s32.t2i
same_file s.t2i s32.t2i
encode-text -q -m t16.st s.tsv > s16.t2i
"$PY" -c '
import numpy as np
from t2i_stream import load
a = np.stack([v for _, v in load("s.t2i")]); b = np.stack([v for _, v in load("s16.t2i")])
assert np.abs(a - b).max() < 2e-3 * np.abs(a).max(), (np.abs(a - b).max(), np.abs(a).max())
' || fail "float16 text encoder's embeddings"
grep -q '^image_encoder\.' <(tensor-info t16.st) && fail "t16.st kept the image encoder"
grep -q '^image_encoder\.' <(tensor-info ti.st) || fail "ti.st lacks the image encoder"
grep -qP '^# metadata\texport.parts\ttext_encoder,image_encoder$' <(tensor-info ti.st) || fail "ti.st: export.parts"
cut -f1 caps.tsv | cut -d/ -f1 | sort -u | sed -n 1,8p > classes.txt
eval-text -q -m ti.st --images im.t2i --captions caps.tsv --classes classes.txt > ev.txt || fail "eval-text on ti.st"
grep -qP '^top1\t' ev.txt || fail "eval-text on ti.st: $(cat ev.txt)"
expect_exit 2 eval-text -m t16.st --images im.t2i --captions caps.tsv --classes classes.txt
grep -q "t16.st: an inference model made by export-model (text_encoder only); this needs the image encoder too" "$TMP/err" ||
  fail "eval-text on t16.st: $(cat "$TMP/err")"
expect_exit 2 eval-images --captions caps.tsv --text-model t16.st im.t2i
grep -q "t16.st: an inference model made by export-model (text_encoder only); this needs the image encoder too" "$TMP/err" ||
  fail "eval-images on t16.st: $(cat "$TMP/err")"
pass "text model export: encode-text reads it (float32: same bytes); eval-text and eval-images need --with-image-encoder and say so"

# --- What needs the training checkpoint says so; invert-style trains on an exported generator.
cp g16.st resume.st
expect_exit 2 train-gan --images im.t2i --embeddings emb.t2i -o resume.st --epochs 3 --resume
grep -q "resume.st: an inference model made by export-model (generator only); --resume needs the training checkpoint" \
  "$TMP/err" || fail "train-gan --resume on an export: $(cat "$TMP/err")"
cmp -s g16.st resume.st || fail "the failed --resume changed the export"
invert-style train -q -m g16.st --embeddings emb.t2i -o style.st --epochs 1 --batch 16 --threads 2 ||
  fail "invert-style train on an exported generator"
export-model -q style.st -o s16.st
invert-style apply -q -m s16.st im.t2i > z.t2i || fail "invert-style apply on an exported style encoder"
"$PY" -c '
from t2i_stream import load
z = load("z.t2i")
assert len(z) == 200 and all(v.shape == (10,) for _, v in z), (len(z), z[0][1].shape if z else None)
' || fail "invert-style apply with the exported style encoder: not 200 z of 10 values"
pass "train-gan --resume refuses an export in one line; invert-style trains on an exported G and applies an exported S"

# --- Bad input and usage.
expect_exit 2 export-model g16.st -o again.st
grep -q "g16.st: is already an export (export.parts: generator)" "$TMP/err" || fail "export of an export: $(cat "$TMP/err")"
expect_exit 2 export-model im.t2i -o x.st
grep -q "im.t2i: not a valid safetensors checkpoint" "$TMP/err" || fail "a stream as checkpoint: $(cat "$TMP/err")"
expect_exit 1 export-model gan.st -o x.st --dtype f8
expect_exit 1 export-model gan.st
expect_exit 1 export-model gan.st -o gan.st
expect_exit 1 export-model gan.st -o x.st --with-image-encoder
expect_exit 2 export-model missing.st -o x.st
[ ! -e x.st ] && [ ! -e again.st ] || fail "a failed export left a file"
pass "bad input and usage: one error line each, nothing written"
