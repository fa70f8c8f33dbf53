#!/usr/bin/env bash
# pipelines/cub and pipelines/flowers: the paper recipe on a given DATA folder, at PRESET=smoke on
# tiny fixtures in the real layouts, made here from make-birds output: CUB-200-2011 without
# background_rgb.txt (real CUB has none: the probe estimates it), and the same birds rearranged as
# Oxford-102 (jpg/image_NNNNN.jpg, text_c10/class_NNNNN/, no attributes, parts or image split).
. "$(dirname "$0")/lib.sh"
unset_env=()
for v in $(grep -oE '^[A-Z0-9_]+ *[?:]?=' "$T2I_SRC/pipelines/paper/config.mk" | grep -oE '^[A-Z0-9_]+' | sort -u) \
         OUT BIN DATA SKIP DATASET_NAME MAKEFLAGS MFLAGS GNUMAKEFLAGS MAKELEVEL; do
  unset_env+=(-u "$v")
done
# recipe NAME DATA OUT: make all report in pipelines/NAME at PRESET=smoke.
recipe() {
  env "${unset_env[@]}" make -C "$T2I_SRC/pipelines/$1" PRESET=smoke DATA="$2" OUT="$3" BIN="$T2I_BIN" \
    FIG3_STRIDE=7 -j2 all report > "$TMP/$1.log" 2>&1 \
    || { tail -n 30 "$TMP/$1.log"; for f in "$3"/log/*.log; do echo "== $f"; tail -n 5 "$f"; done; fail "pipelines/$1 (smoke)"; }
}
# page OUT: every file index.html and index.md reference exists.
page() {
  local r
  for r in $(grep -oE '(src|href)="[^"]*"' "$1/results/index.html" | sed -E 's/^(src|href)="(.*)"$/\2/' | sort -u) \
           $(grep -oE '\]\([^)]*\)' "$1/results/index.md" | sed -E 's/^\]\((.*)\)$/\1/' | sort -u); do
    [ -s "$1/results/$r" ] || fail "$1/results/index.* references $r, which does not exist"
  done
}

make-birds --out "$TMP/birds" --count 200 --size 64 --seed 3 --threads 1 2> /dev/null

# ---- CUB-200-2011: every stage; the images cropped to the bounding box ----
cp -r "$TMP/birds" "$TMP/cub"
rm "$TMP/cub/background_rgb.txt" "$TMP/cub/style.txt"
recipe cub "$TMP/cub" "$TMP/cub-out"
for f in check.txt zeroshot.txt fig3.png fig8-sentence.png fig8-style.png fig6.png fig7-roc.png probe.tsv explain.tsv eval.tsv zeroshot.png index.html index.md; do
  [ -s "$TMP/cub-out/results/$f" ] || fail "cub: $f is missing or empty"
done
grep -q -- '--crop bbox' "$TMP/cub-out/cmd/images-trainval.sh" || fail "cub: no bounding-box crop: $(cat "$TMP/cub-out/cmd/images-trainval.sh")"
[ ! -e "$TMP/cub-out/data/birds" ] && ! grep -q make-birds "$TMP/cub-out/cmd/birds.sh" || fail "cub: the birds were rendered"
grep -qP '^caption\tbackground\t' "$TMP/cub-out/results/probe.tsv" || fail "cub: probe.tsv: $(cat "$TMP/cub-out/results/probe.tsv")"
# Real CUB has no style.txt: the probe explains the vectors by the two labels alone.
[ "$(awk -F'\t' 'NR > 1 && $1 == "caption" {print $2}' "$TMP/cub-out/results/explain.tsv" | tr '\n' ' ')" = \
  "pose background pose+background " ] || fail "cub: explain.tsv: $(cat "$TMP/cub-out/results/explain.tsv")"
grep -q 'experiments on CUB-200-2011' "$TMP/cub-out/results/index.md" || fail "cub: the page does not name the dataset"
page "$TMP/cub-out"
pass "pipelines/cub on a CUB-200-2011 folder (smoke): every figure and table, bounding-box crops"

# ---- Oxford-102: the same birds as flowers; no judge, no probe ----
ox="$TMP/ox"
mkdir -p "$ox/jpg" "$ox/text_c10"
# class name -> class_NNNNN (classes.txt order), image id -> image_NNNNN.
awk '{ printf "%s class_%05d\n", $2, $1 }' "$TMP/birds/classes.txt" > "$TMP/class-map"
for l in allclasses trainvalclasses testclasses; do
  awk 'NR == FNR { m[$1] = $2; next } { sub(/\r$/, ""); print m[$1] }' "$TMP/class-map" "$TMP/birds/$l.txt" > "$ox/$l.txt"
done
awk 'NR == FNR { c[$1] = sprintf("class_%05d", $2); next }
     { n = $2; sub(/\.[a-z]+$/, "", n); printf "%s %s %s image_%05d\n", $2, n, c[$1], $1 }' \
  "$TMP/birds/image_class_labels.txt" "$TMP/birds/images.txt" |
while read -r img name cls id; do
  mkdir -p "$ox/text_c10/$cls"
  cp "$TMP/birds/images/$img" "$ox/jpg/$id.jpg"
  cp "$TMP/birds/text_c10/$name.txt" "$ox/text_c10/$cls/$id.txt"
done
check-dataset "$ox" 2> "$TMP/err" | grep -qx 'layout	oxford' || fail "the Oxford fixture: $(cat "$TMP/err")"
recipe flowers "$ox" "$TMP/ox-out"
for f in check.txt zeroshot.txt fig3.png fig8-sentence.png fig8-style.png fig6.png zeroshot.png index.html index.md; do
  [ -s "$TMP/ox-out/results/$f" ] || fail "flowers: $f is missing or empty"
done
for f in eval.tsv probe.tsv fig7-roc.png; do
  [ ! -e "$TMP/ox-out/results/$f" ] || fail "flowers: $f was made"
done
ran=$(find "$TMP/ox-out/cmd" -name 'judge*' -o -name 'probe*' -o -name 'eval*')
[ -z "$ran" ] || fail "flowers: judge, probe or eval stages ran: $ran"
grep -q '^## Not made for this dataset' "$TMP/ox-out/results/index.md" && grep -q 'no figure 7 and section 5.3' "$TMP/ox-out/results/index.md" \
  && grep -q 'the evaluation table (the judge' "$TMP/ox-out/results/index.md" || fail "flowers: the page does not say what was skipped"
! grep -qE '^## (Figure 7|The evaluation table)' "$TMP/ox-out/results/index.md" || fail "flowers: the page has a skipped section"
page "$TMP/ox-out"
pass "pipelines/flowers on an Oxford-102 folder (smoke): every figure but the judge's and the probe's, a note for those"
