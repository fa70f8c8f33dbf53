#!/usr/bin/env bash
# pipelines/batch: sentences -> sharded PNG folder + contact sheet, on tiny untrained models
# (t2i_make_text_model and t2i_model_probe, emb_dim 24). The pictures do not depend on the number
# of shards; the sheet escapes the sentences and names only pictures that exist; a second make
# draws nothing; a changed setting redraws; a repeated key or a bad key stops with one line.
. "$(dirname "$0")/lib.sh"
need_numpy
PROBE="${T2I_MODEL_PROBE:-}"
MAKE_MODEL="${T2I_MAKE_TEXT_MODEL:-}"
[ -x "$PROBE" ] || fail "no t2i_model_probe (T2I_MODEL_PROBE=$PROBE)"
[ -x "$MAKE_MODEL" ] || fail "no t2i_make_text_model (T2I_MAKE_TEXT_MODEL=$MAKE_MODEL)"
cd "$TMP"
"$PROBE" write plain gan.st io.st
"$MAKE_MODEL" text.st 7
printf 'a small red bird with a black cap\n\nthis bird is <blue> & "green"\nfoo/bar\ta yellow bird\nsix\ta bird with six words\n' > s.txt
M=(make -s -C "$T2I_SRC/pipelines/batch" BIN="$T2I_BIN" SENTENCES="$TMP/s.txt" TEXT="$TMP/text.st" GAN="$TMP/gan.st" N=3)

"${M[@]}" SHARDS=3 OUT="$TMP/a" -j3 > a.log 2>&1 || { cat a.log; fail "batch with 3 shards"; }
grep -q "batch: 4 sentences, 3 pictures each" a.log || fail "closing line: $(cat a.log)"
"${M[@]}" SHARDS=1 OUT="$TMP/b" > b.log 2>&1 || { cat b.log; fail "batch with 1 shard"; }
"${M[@]}" SHARDS=6 OUT="$TMP/c" -j2 > c.log 2>&1 || { cat c.log; fail "batch with empty shards"; }
for o in b c; do
  diff -r "$TMP/a/png" "$TMP/$o/png" > /dev/null || fail "pictures differ between 3 shards and $o"
done
[ "$(find "$TMP/a/png" -name '*.png' | wc -l)" -eq 12 ] || fail "expected 12 PNGs: $(find "$TMP/a/png" | sort)"
for k in s00001 s00003 foo/bar six; do
  for i in 0 1 2; do [ -s "$TMP/a/png/$k/$i.png" ] || fail "missing $k/$i.png"; done
done
pass "4 sentences (bare and keyed, a blank line skipped) x 3 pictures; the same files for 1, 3 and 6 shards"

"$PY" - "$TMP/a" <<'PYEOF' || fail "contact sheet"
import html.parser, os, sys
out = sys.argv[1]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.srcs = []; self.text = []
    def handle_starttag(self, tag, attrs):
        if tag == "img": self.srcs.append(dict(attrs)["src"])
    def handle_data(self, d): self.text.append(d)
p = P(); raw = open(os.path.join(out, "index.html")).read(); p.feed(raw)
assert len(p.srcs) == 12, p.srcs
assert all(os.path.isfile(os.path.join(out, s)) for s in p.srcs), p.srcs
assert 'this bird is <blue> & "green"' in "".join(p.text), p.text
assert "<blue>" not in raw
PYEOF
pass "contact sheet: 12 pictures that exist, sentences escaped"

before=$(stat -c %Y "$TMP/a/shard-0.stamp")
sleep 1
"${M[@]}" SHARDS=3 OUT="$TMP/a" -j3 > a2.log 2>&1 || fail "second make"
[ "$(stat -c %Y "$TMP/a/shard-0.stamp")" = "$before" ] || fail "a second make drew again"
"${M[@]}" SHARDS=3 OUT="$TMP/a" N=2 -j3 > a3.log 2>&1 || fail "make with N=2"
[ "$(stat -c %Y "$TMP/a/shard-0.stamp")" != "$before" ] || fail "N=2 did not redraw"
[ "$(grep -o '<img ' "$TMP/a/index.html" | wc -l)" -eq 8 ] || fail "N=2: expected 8 pictures on the sheet"
pass "a second make draws nothing; a changed setting redraws"

printf 'k\tone\nk\ttwo\n' > dup.txt
rc=0; "${M[@]}" SENTENCES="$TMP/dup.txt" OUT="$TMP/d" > d.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a repeated key was accepted"
grep -q 'dup.txt:2: key "k" given twice (first on line 1)' d.log || fail "repeated key: $(cat d.log)"
printf '../x\tbad\n' > badkey.txt
rc=0; "${M[@]}" SENTENCES="$TMP/badkey.txt" OUT="$TMP/e" > e.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "key ../x was accepted"
grep -q 'key "../x": expected' e.log || fail "bad key: $(cat e.log)"
[ ! -e "$TMP/e/png" ] || fail "a bad key still drew pictures"
rc=0; make -s -C "$T2I_SRC/pipelines/batch" BIN="$T2I_BIN" OUT="$TMP/f" > f.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q "SENTENCES=file is required" f.log || fail "missing SENTENCES: $(cat f.log)"
pass "a repeated key, a key leaving the folder and missing settings stop with one line"

# Without TEXT and GAN: the model the repository ships.
printf 'a bright yellow bird with a short beak\n' > one.txt
make -s -C "$T2I_SRC/pipelines/batch" BIN="$T2I_BIN" SENTENCES="$TMP/one.txt" N=2 SHARDS=1 OUT="$TMP/g" > g.log 2>&1 \
  || { cat g.log; fail "batch with the shipped model"; }
for i in 0 1; do [ -s "$TMP/g/png/s00001/$i.png" ] || fail "shipped model: missing s00001/$i.png"; done
pass "TEXT and GAN default to the shipped model (pipelines/paper/model/)"
