#!/usr/bin/env bash
# encode-text on a tiny untrained text model made by t2i_make_text_model: mean and each modes,
# bare lines, empty lines, odd captions, bad models, determinism and batching.
. "$(dirname "$0")/lib.sh"
need_numpy
MAKE_MODEL="${T2I_MAKE_TEXT_MODEL:-${T2I_BUILD:-}/tests/t2i_make_text_model}"
[ -x "$MAKE_MODEL" ] || fail "no t2i_make_text_model (T2I_MAKE_TEXT_MODEL=$MAKE_MODEL)"
cd "$TMP"
"$MAKE_MODEL" text.st 7

# Prints "key dim" a record, then checks given as python on the dict `s` (key -> array).
py_stream() {
  "$PY" -c '
import io, sys, numpy as np
def load(path):
    f = io.BytesIO(open(path, "rb").read()); out = {}; order = []
    while True:
        key = b""
        while (c := f.read(1)) not in (b" ", b""):
            key += c
        if not key: break
        a = np.lib.format.read_array(f)
        assert a.dtype == np.float32 and a.shape == (24,), (key, a.dtype, a.shape)
        out[key.decode()] = a; order.append(key.decode())
    return out, order
exec(sys.argv[1])
' "$1"
}

# --- mean vs each on keyed lines; keys need not be contiguous.
printf 'b/img1\ta red bird with a white belly\na/img2\ta small blue bird\nb/img1\tthis bird is red\na/img2\tblue wings and a short beak\nb/img1\tred all over\n' > caps.txt
encode-text -q -m text.st caps.txt > mean.t2i
encode-text -q -m text.st --mode each caps.txt > each.t2i
py_stream '
m, mo = load("mean.t2i"); e, eo = load("each.t2i")
assert mo == ["b/img1", "a/img2"], mo
assert eo == ["b/img1/0", "a/img2/0", "b/img1/1", "a/img2/1", "b/img1/2"], eo
for k in mo:
    parts = [e[x] for x in eo if x.rsplit("/", 1)[0] == k]
    avg = np.mean(np.stack(parts).astype(np.float64), axis=0)
    assert np.abs(m[k] - avg).max() < 1e-6, (k, np.abs(m[k] - avg).max())
'
pass "mean is the average of the each records, keys in order of first appearance"

# The same captions from stdin give the same bytes; so does a second run.
encode-text -q -m text.st < caps.txt > mean2.t2i
same_file mean.t2i mean2.t2i
encode-text -q -m text.st -o mean3.t2i caps.txt
same_file mean.t2i mean3.t2i
pass "same input twice, stdin or file, -o or stdout: identical bytes"

# --batch 1 against the default 64, on more captions than one batch.
for i in $(seq 1 150); do printf 'k%d\tcaption number %d of a bird with %d feathers\n' $((i % 7)) "$i" "$i"; done > many.txt
encode-text -q -m text.st --mode each --batch 1 many.txt > b1.t2i
encode-text -q -m text.st --mode each many.txt > b64.t2i
py_stream '
a, ao = load("b1.t2i"); b, bo = load("b64.t2i")
assert ao == bo and len(ao) == 150, (len(ao), len(bo))
assert max(np.abs(a[k] - b[k]).max() for k in ao) < 1e-5
'
pass "--batch 1 and --batch 64 agree within 1e-5"

# --- bare lines: sequential keys by line number; an empty line is skipped and counted.
printf 'a small red bird\n\nwith\ta tab, bare\n' > bare.txt
encode-text -m text.st --bare --mode each bare.txt > bare.t2i 2> bare.err
py_stream 'm, o = load("bare.t2i"); assert o == ["line-1/0", "line-3/0"], o'
grep -q "1 empty lines skipped" bare.err || fail "no empty-line count: $(cat bare.err)"
# Without --bare, a line without a tab is bare and a line with one is keyed.
encode-text -q -m text.st bare.txt > auto.t2i
py_stream 'm, o = load("auto.t2i"); assert o == ["line-1", "with"], o'
echo "a small red bird with a white belly" | encode-text -q -m text.st > one.t2i
py_stream 'm, o = load("one.t2i"); assert o == ["line-1"], o'
expect_exit 2 encode-text -m text.st --strict bare.txt
grep -q "line 2 is empty" "$TMP/err" || fail "--strict: $(cat "$TMP/err")"
pass "bare lines keyed line-N, auto detection, empty lines skipped or refused with --strict"

# --- odd captions: only unknown characters, 10,000 characters, invalid UTF-8.
{
  printf 'u\t\xc3\xa9\xe2\x82\xac\xe4\xb8\xad\n'
  printf 'long\t'; head -c 10000 /dev/zero | tr '\0' 'a'; printf '\n'
  printf 'bad\tred \xff\xfe bird \xc3\n'
} > odd.txt
encode-text -m text.st odd.txt > odd.t2i 2> odd.err
py_stream 'm, o = load("odd.t2i"); assert o == ["u", "long", "bad"], o; assert all(np.isfinite(v).all() for v in m.values())'
grep -q "1 captions cut at 201 characters" odd.err || fail "no cut count: $(cat odd.err)"
grep -q "1 captions with no known character" odd.err || fail "no unknown-only count: $(cat odd.err)"
pass "unknown-only, 10,000-character and invalid UTF-8 captions"

# A line over 1 MiB is bad input naming its line.
{ printf 'a\tshort\n'; printf 'b\t'; head -c 1100000 /dev/zero | tr '\0' 'b'; printf '\n'; } > huge.txt
expect_exit 2 encode-text -m text.st huge.txt
grep -q "line 2 is longer than" "$TMP/err" || fail "huge line: $(cat "$TMP/err")"
# A key with a space cannot be a stream key.
printf 'a b\tred bird\n' > badkey.txt
expect_exit 2 encode-text -m text.st badkey.txt
grep -q "line 1" "$TMP/err" || fail "bad key: $(cat "$TMP/err")"
pass "over-long line and bad key refused"

# --- bad models: missing, not a text model, not a checkpoint; bad usage.
expect_exit 2 encode-text -m missing.st caps.txt
grep -q "missing.st" "$TMP/err" || fail "missing model: $(cat "$TMP/err")"
"$PY" - <<'PYEOF'
import json, struct
import numpy as np
data = np.zeros(4, np.float32).tobytes()
header = json.dumps({"__metadata__": {"model": "t2igan-gan"}, "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
header += b" " * (-len(header) % 8)
open("gan.st", "wb").write(struct.pack("<Q", len(header)) + header + data)
PYEOF
expect_exit 2 encode-text -m gan.st caps.txt
grep -q "gan.st" "$TMP/err" || fail "non-text model: $(cat "$TMP/err")"
expect_exit 2 encode-text -m caps.txt caps.txt
expect_exit 1 encode-text caps.txt
expect_exit 1 encode-text -m text.st --mode median caps.txt
expect_exit 1 encode-text -m text.st --batch 0 caps.txt
[ ! -e out.t2i ] || fail "out.t2i exists"
expect_exit 2 encode-text -m text.st -o out.t2i huge.txt
[ ! -e out.t2i ] || fail "a failed run left out.t2i behind"
pass "missing model, non-text model and usage errors"
