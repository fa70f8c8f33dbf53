#!/usr/bin/env bash
# The paper recipe (pipelines/paper) end to end at PRESET=smoke, so it cannot rot: every figure
# and table is made and non-empty, the results page references only files that exist, a second
# make -j2 does nothing, and (where Debian's chromium is installed) the page renders headless.
. "$(dirname "$0")/lib.sh"
out="$TMP/out"
args=(PRESET=smoke OUT="$out" BIN="$T2I_BIN")
make -C "$T2I_SRC/pipelines/paper" "${args[@]}" -j2 all report > "$TMP/make.log" 2>&1 \
  || { tail -n 40 "$TMP/make.log"; for f in "$out"/log/*.log; do echo "== $f"; tail -n 5 "$f"; done; fail "paper pipeline (smoke)"; }
res="$out/results"

# Every figure and table, non-empty; the figures are PNGs.
for f in check.txt zeroshot.txt fig3-captions.tsv fig3.png fig8-sentence.png fig8-style.png fig6.png \
         fig7-roc.png probe.tsv roc.tsv eval.tsv zeroshot.png zeroshot-captions.tsv index.html index.md; do
  [ -s "$res/$f" ] || fail "$res/$f is missing or empty"
done
for f in "$res"/*.png; do
  [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$f is not a PNG"
done
grep -qP '^top1\t' "$res/zeroshot.txt" || fail "zeroshot.txt: $(cat "$res/zeroshot.txt")"

# Figure 3: a row per caption and variant (labelled), FIG3_SAMPLES (4 at smoke) 64-pixel tiles.
n=$(grep -c . "$res/fig3-captions.tsv")
[ "$n" -eq 6 ] || fail "fig3-captions.tsv has $n captions, expected 6"
shape() { png-to-tensor -q "$1" | tensor-info --no-stats | awk -F'\t' 'NR==2 {print $3}'; }
fig3=$(shape "$res/fig3.png")
[[ "$fig3" == "[3,$((2 + 4 * n * 66)),"* ]] || fail "fig3.png is $fig3, expected $((4 * n)) rows of 64-pixel tiles"
# Figure 6: the query and one image per caption in each row.
fig6=$(shape "$res/fig6.png")
[ "$fig6" = "[3,$((2 + 2 * 66)),$((2 + (n + 1) * 66))]" ] || fail "fig6.png is $fig6"

# The tables: the four variants and the real ceiling in eval.tsv; the probe of two style encoders
# and the caption baseline on both tasks.
[ "$(head -n 1 "$res/eval.tsv")" = "$(printf 'metric\tgan\tcls\tint\tint-cls\treal')" ] || fail "eval.tsv columns: $(head -n 1 "$res/eval.tsv")"
for m in r_precision attribute_accuracy judge_fd judge_is diversity; do
  for s in seen unseen; do
    grep -qP "^$m\\.$s\t[0-9.]+\t" "$res/eval.tsv" || fail "eval.tsv has no $m.$s row: $(cat "$res/eval.tsv")"
  done
done
[ "$(awk -F'\t' 'NR > 1 {print $1 ":" $2}' "$res/probe.tsv" | sort | tr '\n' ' ')" = \
  "caption:background caption:pose cls:background cls:pose int-cls:background int-cls:pose " ] \
  || fail "probe.tsv: $(cat "$res/probe.tsv")"

# The page: every file it references exists (relative to results/); every figure is on it; every
# section quotes its commands.
refs=$(grep -oE '(src|href)="[^"]*"' "$res/index.html" | sed -E 's/^(src|href)="(.*)"$/\2/' | sort -u)
[ -n "$refs" ] || fail "index.html references nothing"
for r in $refs; do
  [[ "$r" != /* && "$r" != *..* && "$r" != *:* ]] || fail "index.html references $r outside results/"
  [ -s "$res/$r" ] || fail "index.html references $r, which does not exist"
done
for f in fig3.png fig8-sentence.png fig8-style.png fig6.png fig7-roc.png zeroshot.png; do
  grep -q "src=\"$f\"" "$res/index.html" || fail "index.html does not show $f"
  grep -q "($f)" "$res/index.md" || fail "index.md does not show $f"
done
for t in train-text train-gan invert-style probe-disentangle eval-images generate montage; do
  grep -qE "(^ *|\| )$t " "$res/index.md" || fail "index.md quotes no $t command"
done
[ "$(grep -c '^<h2>' "$res/index.html")" = "$(grep -c '^## ' "$res/index.md")" ] || fail "index.html and index.md differ in sections"

# A finished run: make -j2 again has nothing to do, and rewrites nothing.
touch "$TMP/before"
sleep 1
make -C "$T2I_SRC/pipelines/paper" "${args[@]}" -j2 all report > "$TMP/again.log" 2>&1 || { cat "$TMP/again.log"; fail "second make"; }
for t in all report; do
  grep -q "Nothing to be done for '$t'" "$TMP/again.log" || fail "a second make did work: $(cat "$TMP/again.log")"
done
changed=$(find "$out" -newer "$TMP/before" -print)
[ -z "$changed" ] || fail "a second make rewrote: $changed"
pass "paper pipeline (smoke): every figure and table, the page's references, nothing to redo"

# The page in headless Chromium (Debian's chromium), where it is installed.
browser=$(command -v chromium || true)
if [ -z "$browser" ]; then
  echo "skipped: headless rendering of index.html (no chromium)"
else
  timeout 120 "$browser" --headless --disable-gpu --no-sandbox --user-data-dir="$TMP/chromium" \
    --window-size=1200,3000 --screenshot="$TMP/page.png" "file://$res/index.html" > "$TMP/chromium.log" 2>&1 \
    || { cat "$TMP/chromium.log"; fail "chromium could not render index.html"; }
  [ -s "$TMP/page.png" ] || fail "chromium wrote no screenshot"
  pass "index.html renders in headless chromium"
fi
