#!/usr/bin/env bash
# The paper recipe (pipelines/paper) end to end at PRESET=smoke, so it cannot rot: every figure
# and table is made with the shapes its settings give, the results page references only files
# that exist, a second make -j2 does nothing, a changed setting or tool re-runs only the stages
# that use it, an interrupted training resumes, and (where Debian's chromium is installed) the
# page renders headless. Also pick-captions.sh at the cpu preset's size.
. "$(dirname "$0")/lib.sh"
paper="$T2I_SRC/pipelines/paper"

# ---- pick-captions.sh (figure 3's and the zero-shot captions): one awk, no SIGPIPE at the cpu
# preset's 2250 trainval images x 10 captions; every stride from 1 works ----
seq 1 2250 | awk '{ for (c = 1; c <= 10; c++) printf "img%04d\tcaption %d of image %d\n", $1, c, $1 }' > "$TMP/caps.tsv"
pick() { ( set -o pipefail; "$paper/pick-captions.sh" "$@" ); }
[ "$(pick "$TMP/caps.tsv" 37 0 3 seen | tr '\n' '|')" = \
  "seen1	caption 1 of image 1|seen2	caption 1 of image 38|seen3	caption 1 of image 75|" ] \
  || fail "pick-captions.sh stride 37: $(pick "$TMP/caps.tsv" 37 0 3 seen)"
[ "$(pick "$TMP/caps.tsv" 1 0 2 s | cut -f2 | tr '\n' '|')" = "caption 1 of image 1|caption 1 of image 2|" ] \
  || fail "pick-captions.sh stride 1 offset 0"
[ "$(pick "$TMP/caps.tsv" 1 1 2 s | cut -f2 | tr '\n' '|')" = "caption 1 of image 1|caption 1 of image 2|" ] \
  || fail "pick-captions.sh stride 1 offset 1 (mod 1: 0)"
[ "$(pick "$TMP/caps.tsv" 2 1 2 zs | tr '\n' '|')" = "zs1	caption 1 of image 2|zs2	caption 1 of image 4|" ] \
  || fail "pick-captions.sh stride 2 offset 1: $(pick "$TMP/caps.tsv" 2 1 2 zs)"
[ "$(pick "$TMP/caps.tsv" 11 1 8 zs | wc -l)" -eq 8 ] || fail "pick-captions.sh stride 11: not 8 captions"
rc=0; pick "$TMP/caps.tsv" 1000 0 4 x > /dev/null 2> "$TMP/err" || rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] || fail "pick-captions.sh with too few images: rc $rc, $(cat "$TMP/err")"
pass "pick-captions.sh: strides 1, 2, 11, 37 at 22500 captions; too few images fail in one line"

# ---- The smoke run. The tools come from a folder of links (a test below makes one newer); make
# runs with no config.mk setting, OUT, BIN, DATA or make flags from the environment ----
mkdir "$TMP/bin"
for t in "$T2I_BIN"/*; do [ -f "$t" ] && [ -x "$t" ] && ln -s "$t" "$TMP/bin/"; done
unset_env=()
for v in $(grep -oE '^[A-Z0-9_]+ *[?:]?=' "$paper/config.mk" | grep -oE '^[A-Z0-9_]+' | sort -u) \
         OUT BIN DATA MAKEFLAGS MFLAGS GNUMAKEFLAGS MAKELEVEL; do
  unset_env+=(-u "$v")
done
out="$TMP/out"
args=(PRESET=smoke OUT="$out" BIN="$TMP/bin")
mk() { env "${unset_env[@]}" make -C "$paper" "${args[@]}" "$@"; }
mk -j2 all report model > "$TMP/make.log" 2>&1 \
  || { tail -n 40 "$TMP/make.log"; for f in "$out"/log/*.log; do echo "== $f"; tail -n 5 "$f"; done; fail "paper pipeline (smoke)"; }
res="$out/results"
# make model: the small inference models, float16 exports of text.st and gan-int-cls.st.
grep -qP '^# metadata\texport.parts\tgenerator$' <(tensor-info "$out/model/gan.st") || fail "model/gan.st is not a generator export"
grep -qP '^# metadata\texport.parts\ttext_encoder$' <(tensor-info "$out/model/text.st") || fail "model/text.st is not a text encoder export"
grep -aq '"dtype":"F16"' <(head -c 4096 "$out/model/gan.st") || fail "model/gan.st is not float16"
echo "a red bird" | "$TMP/bin/encode-text" -q -m "$out/model/text.st" | "$TMP/bin/generate" -q -m "$out/model/gan.st" -n 2 > "$TMP/m.t2i" \
  || fail "the exported models do not draw"
[ -z "$(find "$out" -name '*.part')" ] || fail "a finished run left .part files: $(find "$out" -name '*.part')"
for s in text gan-int style-cls style-cls.2; do
  grep -q -- "-o [^ ]*\.st\.part " "$out/cmd/$s.sh" || fail "$s trains into its final path: $(cat "$out/cmd/$s.sh")"
done

# Every figure and table, non-empty; the figures are PNGs.
for f in check.txt zeroshot.txt fig3-captions.tsv fig3.png fig8-sentence.png fig8-style.png fig6.png \
         fig7-roc.png probe.tsv roc.tsv explain.tsv eval.tsv zeroshot.png zeroshot-captions.tsv index.html index.md; do
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
# Figure 8 (smoke: FIG8_ROWS 2, FIG8_STEPS 5): sentence, a row per z, no labels; style, a row per
# caption with its label (a column wider than the tiles, narrower than two).
fig8=$(shape "$res/fig8-sentence.png")
[ "$fig8" = "[3,$((2 + 2 * 66)),$((2 + 5 * 66))]" ] || fail "fig8-sentence.png is $fig8, expected 2 x 5 tiles"
# labelled SHAPE ROWS COLS: ROWS rows and COLS columns of 64-pixel tiles and a label column
# (narrower than 4 tiles); sets W to the width.
labelled() {
  local h
  IFS=, read -r _ h W <<< "${1//[][]/}"
  [ "$h" -eq $((2 + $2 * 66)) ] && [ "$W" -gt $((2 + $3 * 66)) ] && [ "$W" -lt $((2 + ($3 + 4) * 66)) ]
}
labelled "$(shape "$res/fig8-style.png")" 2 5 || fail "fig8-style.png is $(shape "$res/fig8-style.png"), expected 2 x 5 tiles and labels"
labelled "$fig3" $((4 * n)) 4 || fail "fig3.png is $fig3, expected $((4 * n)) x 4 tiles and labels"
fig3_w=$W
# Zero-shot (ZS_CAPTIONS 4, ZS_SAMPLES 3).
[ "$(grep -c . "$res/zeroshot-captions.tsv")" -eq 4 ] || fail "zeroshot-captions.tsv: $(cat "$res/zeroshot-captions.tsv")"
labelled "$(shape "$res/zeroshot.png")" 4 3 || fail "zeroshot.png is $(shape "$res/zeroshot.png"), expected 4 x 3 tiles and labels"
# Figure 3's samples of every variant come from the one z file: each command passes it, and each
# variant's keys are its keys (caption/sample).
keys() { tensor-info --no-stats "$1" | awk -F'\t' 'NR > 1 && !/^#/ {print $1}'; }
keys "$out/data/fig3-z.t2i" > "$TMP/z-keys"
[ "$(wc -l < "$TMP/z-keys")" -eq $((4 * n)) ] || fail "fig3-z.t2i has $(wc -l < "$TMP/z-keys") z's, expected $((4 * n))"
for v in gan cls int int-cls; do
  grep -q -- "--z $out/data/fig3-z.t2i " "$out/cmd/fig3-$v.sh" || fail "fig3-$v was not made from fig3-z.t2i: $(cat "$out/cmd/fig3-$v.sh")"
  keys "$out/data/fig3-$v.t2i" | sed "s/^$v://" | cmp -s - "$TMP/z-keys" || fail "fig3-$v.t2i's keys are not fig3-z.t2i's"
done

# The tables: the four variants and the real ceiling in eval.tsv; the probe of two style encoders
# and the caption baseline on both tasks.
[ "$(head -n 1 "$res/eval.tsv")" = "$(printf 'metric\tgan\tcls\tint\tint-cls\treal')" ] || fail "eval.tsv columns: $(head -n 1 "$res/eval.tsv")"
for m in r_precision attribute_accuracy judge_fd judge_is diversity background_by_caption; do
  for s in all seen unseen; do
    grep -qP "^$m\\.$s\t" "$res/eval.tsv" || fail "eval.tsv has no $m.$s row: $(cat "$res/eval.tsv")"
  done
done
# A number in every variant's column of every row, and in the real column but for judge_fd,
# diversity and background_by_caption (no real value: "-").
bad=$(awk -F'\t' 'NR > 1 { for (i = 2; i <= 5; i++) if ($i !~ /^-?[0-9]+(\.[0-9]+)?$/) print $1 ":" i;
                            if ($1 ~ /^(judge_fd|diversity|background_by_caption)\./ ? $6 != "-" : $6 !~ /^-?[0-9]+(\.[0-9]+)?$/) print $1 ":real";
                            if (NF != 6) print $1 ":NF" }' "$res/eval.tsv")
[ -z "$bad" ] || fail "eval.tsv cells without the expected number: $bad"
[ "$(awk -F'\t' 'NR > 1 {print $1 ":" $2}' "$res/probe.tsv" | sort | tr '\n' ' ')" = \
  "caption:background caption:pose cls:background cls:pose int-cls:background int-cls:pose " ] \
  || fail "probe.tsv: $(cat "$res/probe.tsv")"
# explain.tsv: every probed stream by the five sources of the synthetic birds (style.txt).
[ "$(awk -F'\t' 'NR > 1 {print $1 ":" $2}' "$res/explain.tsv" | sort | tr '\n' ' ')" = \
  "$(for v in caption cls int-cls; do for s in all background other pose pose+background; do printf '%s:%s ' $v $s; done; done)" ] \
  || fail "explain.tsv: $(cat "$res/explain.tsv")"
bad=$(awk -F'\t' 'NR > 1 { d = ($2 == "pose" ? 18 : $2 == "background" ? 3 : $2 == "pose+background" ? 21 : $2 == "other" ? 19 : 40)
                            if ($3 != d || $4 !~ /^[0-9]+$/ || $5 !~ /^-?[0-9]+\.[0-9]+$/ || $5 > 1) print $1 ":" $2 }' "$res/explain.tsv")
[ -z "$bad" ] || fail "explain.tsv rows without the source's width or a share: $bad"
# STYLE_ENSEMBLE (smoke: 2): two style encoders a probed variant, seeds 1 and 2; the probe's and
# figure 6's z are their mean (invert-style apply -m a -m b), and the page quotes both trainings.
for v in cls int-cls; do
  grep -q -- " --seed 1 " "$out/cmd/style-$v.sh" && grep -q -- " --seed 2 " "$out/cmd/style-$v.2.sh" \
    && grep -q -- "-m [^ ]*/gan-$v\.st " "$out/cmd/style-$v.2.sh" || fail "style-$v.2: $(cat "$out/cmd/style-$v.2.sh")"
  grep -q -- "apply -m [^ ]*/style-$v\.st -m [^ ]*/style-$v\.2\.st " "$out/cmd/probe-z-$v.sh" \
    || fail "probe-z-$v is not the two encoders' mean: $(cat "$out/cmd/probe-z-$v.sh")"
done
[ ! -e "$out/data/style-gan.st" ] && [ ! -e "$out/data/style-gan.2.st" ] || fail "a style encoder of an unprobed variant"
grep -q -- "apply -m [^ ]*/style-int-cls\.st -m [^ ]*/style-int-cls\.2\.st " "$out/cmd/fig6-z.sh" || fail "fig6-z: $(cat "$out/cmd/fig6-z.sh")"
grep -q -- "--seed 2 .*style-int-cls\.2-losses" "$res/index.md" || fail "index.md does not quote the second style encoder"
grep -q "the mean of 2 encoders' z" "$res/index.md" || fail "index.md does not say the z is the encoders' mean"

# The page: every file it references exists (relative to results/); every figure is on it; every
# section quotes its commands.
refs=$(grep -oE '(src|href)="[^"]*"' "$res/index.html" | sed -E 's/^(src|href)="(.*)"$/\2/' | sort -u)
[ -n "$refs" ] || fail "index.html references nothing"
for r in $refs; do
  [[ "$r" != /* && "$r" != *..* && "$r" != *:* ]] || fail "index.html references $r outside results/"
  [ -s "$res/$r" ] || fail "index.html references $r, which does not exist"
done
mdrefs=$(grep -oE '\]\([^)]*\)' "$res/index.md" | sed -E 's/^\]\((.*)\)$/\1/' | sort -u)
[ "$(echo "$mdrefs" | wc -w)" -ge 11 ] || fail "index.md links too few files: $mdrefs"
for r in $mdrefs; do
  [[ "$r" != /* && "$r" != *..* && "$r" != *:* ]] || fail "index.md links $r outside results/"
  [ -s "$res/$r" ] || fail "index.md links $r, which does not exist"
done
for f in fig3.png fig8-sentence.png fig8-style.png fig6.png fig7-roc.png zeroshot.png; do
  grep -q "src=\"$f\"" "$res/index.html" || fail "index.html does not show $f"
  grep -q "($f)" "$res/index.md" || fail "index.md does not show $f"
done
for t in train-text train-gan invert-style probe-disentangle eval-images generate montage; do
  grep -qE "(^ *|\| )$t " "$res/index.md" || fail "index.md quotes no $t command"
done
[ "$(grep -c '^<h2>' "$res/index.html")" = "$(grep -c '^## ' "$res/index.md")" ] || fail "index.html and index.md differ in sections"
# The evaluation's seen captions are training captions (held out from the judge only).
grep -q 'seen: images of the training classes, whose images and captions the GANs and the text encoder trained on (held out only from the judge)' "$res/index.md" \
  || fail "index.md: the evaluation table's caption does not say the seen captions are training captions"

# A finished run: make -j2 again has nothing to do, and rewrites nothing.
touch "$TMP/before"
sleep 1
mk -j2 all report > "$TMP/again.log" 2>&1 || { cat "$TMP/again.log"; fail "second make"; }
for t in all report; do
  grep -q "Nothing to be done for '$t'" "$TMP/again.log" || fail "a second make did work: $(cat "$TMP/again.log")"
done
# (opts/ itself: the settings are written to a new file there and compared at every make.)
changed=$(find "$out" -newer "$TMP/before" ! -path "$out/opts" -print)
[ -z "$changed" ] || fail "a second make rewrote: $changed"
pass "paper pipeline (smoke): every figure and table, the page's references, nothing to redo"

# make bound (not in all): GAN-INT-CLS on the true attributes (encode-attributes), scored beside
# GAN-INT-CLS with the attribute groups.
[ ! -e "$out/data/gan-attr.st" ] || fail "all trained the attribute-conditioned GAN"
mk bound > "$TMP/bound.log" 2>&1 || { tail -n 20 "$TMP/bound.log"; fail "make bound"; }
[ "$(head -n 1 "$res/eval-bound.tsv")" = "$(printf 'metric\tint-cls\tattr\treal')" ] || fail "eval-bound.tsv columns: $(head -n 1 "$res/eval-bound.tsv")"
for m in r_precision attribute_accuracy attr:wing_color attr:bill_shape; do
  grep -qP "^$m\\.unseen\t" "$res/eval-bound.tsv" || fail "eval-bound.tsv has no $m.unseen row: $(cat "$res/eval-bound.tsv")"
done
grep -aq "\"emb_dim\":\"$(grep -c . "$out/data/birds/attributes.txt")\"" <(head -c 8192 "$out/data/gan-attr.st") \
  || fail "gan-attr.st is not conditioned on the attribute vectors"
grep -q -- "--embeddings [^ ]*/attr-trainval.t2i " "$out/cmd/gan-attr.sh" || fail "gan-attr: $(cat "$out/cmd/gan-attr.sh")"
grep -q "encode-attributes .* --split cub-test" "$out/cmd/eval-samples-attr.sh" || fail "eval-samples-attr: $(cat "$out/cmd/eval-samples-attr.sh")"
[ "$(keys "$out/data/eval-samples-attr.t2i" | sort | tr '\n' ' ')" = "$(keys "$out/data/eval-samples-int-cls.t2i" | sort | tr '\n' ' ')" ] \
  || fail "the attribute-conditioned samples are not those of the same eval keys"
pass "make bound: GAN-INT-CLS on the true attributes, scored beside GAN-INT-CLS (eval-bound.tsv)"

# make -q sees a changed setting without recording it (a later plain make still has nothing to do).
rc=0; mk -q all GAN_EPOCHS=2 > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "make -q GAN_EPOCHS=2 exited $rc, expected 1 (work to do)"
mk -q all report > /dev/null 2>&1 || fail "make -q GAN_EPOCHS=2 changed the recorded settings"

# clean only alone: make -j clean all would remove OUT under running stages.
rc=0; mk clean all > "$TMP/clean.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'run it on its own' "$TMP/clean.log" && [ -s "$res/index.html" ] \
  || fail "make clean all: rc $rc, $(cat "$TMP/clean.log")"

# The page lists the commands of its own stages only (not a leftover of other settings), the
# probe variants it is given; a missing command fails it in one line, writing nothing.
echo 'leftover-command --from-an-old-run' > "$out/cmd/probe-z-gan.sh"
touch "$out/data/probe-z-gan.t2i"
cp -p "$res/index.md" "$TMP/index.md"
bash "$paper/report.sh" "$out" smoke "gan cls int int-cls" "cls int-cls" "" "" 2 2> "$TMP/report.err" || fail "report.sh: $(cat "$TMP/report.err")"
! grep -q 'leftover-command' "$res/index.md" "$res/index.html" || fail "the page quotes a leftover command file"
mv "$out/cmd/fig6.sh" "$TMP/fig6.sh"
rc=0; bash "$paper/report.sh" "$out" smoke "gan cls int int-cls" "cls int-cls" "" "" 2 > /dev/null 2> "$TMP/report.err" || rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l < "$TMP/report.err")" -eq 1 ] && grep -q 'stage(s) fig6 ' "$TMP/report.err" \
  || fail "report.sh without cmd/fig6.sh: rc $rc, $(cat "$TMP/report.err")"
[ -z "$(find "$res" -name '*.tmp')" ] || fail "report.sh left temporary files"
mv "$TMP/fig6.sh" "$out/cmd/fig6.sh"
rm "$out/cmd/probe-z-gan.sh" "$out/data/probe-z-gan.t2i"
cp -p "$TMP/index.md" "$res/index.md"
pass "report.sh: its stages' commands only; a missing one fails in one line"

# ran SINCE: the stages whose command was recorded after the file SINCE, sorted.
ran() { find "$out/cmd" -name '*.sh' -newer "$1" -printf '%f\n' | sed 's/\.sh$//' | sort | tr '\n' ' '; }
# A changed setting re-runs the stages that use it and those after them, nothing else.
touch "$TMP/before"; sleep 1
args+=(FIG3_SAMPLES=5)
mk -j2 all report > "$TMP/fig3.log" 2>&1 || { cat "$TMP/fig3.log"; fail "make FIG3_SAMPLES=5"; }
[ "$(ran "$TMP/before")" = "fig3-cls fig3-gan fig3-int fig3-int-cls fig3-png fig3-z fig8-sentence fig8-style fig8-style-z " ] \
  || fail "FIG3_SAMPLES=5 re-ran: $(ran "$TMP/before")"
[ "$res/index.html" -nt "$TMP/before" ] || fail "FIG3_SAMPLES=5 did not remake the page"
labelled "$(shape "$res/fig3.png")" $((4 * n)) 5 && [ "$W" -eq $((fig3_w + 66)) ] || fail "fig3.png with FIG3_SAMPLES=5 is $(shape "$res/fig3.png")"
# A newer tool re-runs the stages that run it.
touch "$TMP/before"; sleep 1
rm "$TMP/bin/montage"; cp "$T2I_BIN/montage" "$TMP/bin/montage"
mk -j2 all report > "$TMP/tool.log" 2>&1 || { cat "$TMP/tool.log"; fail "make with a newer montage"; }
[ "$(ran "$TMP/before")" = "fig3-png fig6 fig8-sentence fig8-style zeroshot-png " ] \
  || fail "a newer montage re-ran: $(ran "$TMP/before")"
pass "a changed setting (FIG3_SAMPLES) or tool (montage) re-runs the stages that use it, nothing else"

# STYLE_ENSEMBLE=1: one style encoder a variant; the style z, the probe and figure 6 are made
# again (no encoder is trained), and back to 2 the same; a bad value fails in one line.
touch "$TMP/before"; sleep 1
mk -j2 all report STYLE_ENSEMBLE=1 > "$TMP/se.log" 2>&1 || { cat "$TMP/se.log"; fail "make STYLE_ENSEMBLE=1"; }
[ "$(ran "$TMP/before")" = "fig6 fig6-z probe probe-z-cls probe-z-int-cls " ] || fail "STYLE_ENSEMBLE=1 re-ran: $(ran "$TMP/before")"
grep -q -- "apply -m [^ ]*/style-cls\.st --threads" "$out/cmd/probe-z-cls.sh" || fail "STYLE_ENSEMBLE=1: $(cat "$out/cmd/probe-z-cls.sh")"
! grep -q "style-cls\.2\|the mean of" "$res/index.md" || fail "STYLE_ENSEMBLE=1: the page quotes the second encoder"
touch "$TMP/before"; sleep 1
for bad in STYLE_ENSEMBLE=0 STYLE_ENSEMBLE=two STYLE_ENSEMBLE=21; do
  rc=0; mk all $bad > "$TMP/se-bad.log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && [ "$(grep -c 'STYLE_ENSEMBLE' "$TMP/se-bad.log")" -eq 1 ] || fail "make $bad: rc $rc, $(cat "$TMP/se-bad.log")"
done
[ -z "$(find "$out" -newer "$TMP/before" ! -path "$out/opts" -print)" ] || fail "a refused STYLE_ENSEMBLE rewrote: $(find "$out" -newer "$TMP/before" ! -path "$out/opts")"
mk -j2 all report > "$TMP/se.log" 2>&1 || { cat "$TMP/se.log"; fail "make back to STYLE_ENSEMBLE=2"; }
[ "$(ran "$TMP/before")" = "fig6 fig6-z probe probe-z-cls probe-z-int-cls " ] || fail "back to STYLE_ENSEMBLE=2 re-ran: $(ran "$TMP/before")"
pass "STYLE_ENSEMBLE: the style encoders' mean, one encoder and back without training; bad values fail in one line and change nothing"

# An interrupted training (its checkpoint in gan-int.st.part, newer than its inputs and
# settings) resumes; the model appears under its name only when the training is done.
mv "$out/data/gan-int.st" "$out/data/gan-int.st.part"; touch "$out/data/gan-int.st.part"
mk "$out/data/gan-int.st" > "$TMP/resume.log" 2>&1 || { cat "$TMP/resume.log"; fail "make after an interrupted train-gan"; }
grep -q -- '-o [^ ]*/gan-int\.st\.part --resume ' "$out/cmd/gan-int.sh" || fail "train-gan did not resume: $(cat "$out/cmd/gan-int.sh")"
[ -s "$out/data/gan-int.st" ] && [ ! -e "$out/data/gan-int.st.part" ] || fail "gan-int.st.part was not renamed"
# A .part older than its inputs is not resumed: a new training.
mv "$out/data/gan-int.st" "$out/data/gan-int.st.part"; touch -d '2000-01-01' "$out/data/gan-int.st.part"
mk "$out/data/gan-int.st" > "$TMP/resume.log" 2>&1 || { cat "$TMP/resume.log"; fail "make after a stale gan-int.st.part"; }
! grep -q -- '--resume' "$out/cmd/gan-int.sh" || fail "train-gan resumed a stale .part: $(cat "$out/cmd/gan-int.sh")"
# The same for a second style encoder (STYLE_ENSEMBLE): its own .part, resumed with its own seed.
mv "$out/data/style-cls.2.st" "$out/data/style-cls.2.st.part"; touch "$out/data/style-cls.2.st.part"
mk "$out/data/style-cls.2.st" > "$TMP/resume.log" 2>&1 || { cat "$TMP/resume.log"; fail "make after an interrupted second style encoder"; }
grep -q -- '-o [^ ]*/style-cls\.2\.st\.part --resume .*--seed 2 ' "$out/cmd/style-cls.2.sh" || fail "style-cls.2 did not resume: $(cat "$out/cmd/style-cls.2.sh")"
[ -s "$out/data/style-cls.2.st" ] && [ ! -e "$out/data/style-cls.2.st.part" ] || fail "style-cls.2.st.part was not renamed"
pass "train-gan and invert-style train (the second style encoder too) train into .part, resume it, start again when it is stale"

# TEXT_COUNT: the text encoder learns from the seen classes of a separate rendering of the same
# species; the text stages and zero-shot re-run, nothing else (make text), and the page quotes
# the rendering. Test-class images never reach it. A count below one per species, or with DATA,
# is refused in one line.
touch "$TMP/before"; sleep 1
mk -j2 text TEXT_COUNT=600 > "$TMP/tc.log" 2>&1 || { cat "$TMP/tc.log"; fail "make text TEXT_COUNT=600"; }
[ "$(ran "$TMP/before")" = "text text-birds text-captions text-images zeroshot " ] \
  || fail "TEXT_COUNT=600 re-ran: $(ran "$TMP/before")"
grep -q -- "--count 600 " "$out/cmd/text-birds.sh" || fail "text-birds: $(cat "$out/cmd/text-birds.sh")"
grep -q -- "--images [^ ]*/text-images-trainval\.t2i --captions [^ ]*/text-captions-trainval\.tsv " "$out/cmd/text.sh" \
  || fail "text did not learn from the TEXT_COUNT birds: $(cat "$out/cmd/text.sh")"
n_run=$(keys "$out/data/images-trainval.t2i" | wc -l); n_text=$(keys "$out/data/text-images-trainval.t2i" | wc -l)
# (smoke: 2 birds a species; 600 gives 3)
[ "$n_text" -eq $((n_run * 3 / 2)) ] || fail "text-images-trainval.t2i has $n_text images, this run's trainval $n_run"
keys "$out/data/text-images-trainval.t2i" | cut -d/ -f1 | sort -u > "$TMP/tc-classes"
[ "$(wc -l < "$TMP/tc-classes")" -eq "$(grep -c . "$out/data/birds/trainvalclasses.txt")" ] \
  && [ -z "$(grep -Fxf "$out/data/birds/testclasses.txt" "$TMP/tc-classes")" ] \
  || fail "the TEXT_COUNT images are not the seen classes: $(tr '\n' ' ' < "$TMP/tc-classes")"
[ "$(cut -f1 "$out/data/text-captions-trainval.tsv" | sort -u | wc -l)" -eq "$n_text" ] || fail "text-captions-trainval.tsv is not the text images' captions"
bash "$paper/report.sh" "$out" smoke "gan cls int int-cls" "cls int-cls" "" "" 2 2> "$TMP/report.err" || fail "report.sh with TEXT_COUNT: $(cat "$TMP/report.err")"
grep -q 'a separate rendering of the same species' "$res/index.md" && grep -q -- "make-birds --out [^ ]*/text-birds .*--count 600 " "$res/index.md" \
  && grep -q 'the text encoder learnt from the separate rendering; held out only from the judge' "$res/index.md" \
  || fail "the page does not say the text encoder learnt from the TEXT_COUNT rendering"
# A refused value changes nothing: no settings file is rewritten (a plain make would redo work).
touch "$TMP/before"; sleep 1
for bad in TEXT_COUNT=150 TEXT_COUNT=lots "TEXT_COUNT=600 DATA=$out/data/birds"; do
  rc=0; mk text $bad > "$TMP/tc-bad.log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && [ "$(grep -c 'TEXT_COUNT' "$TMP/tc-bad.log")" -eq 1 ] || fail "make $bad: rc $rc, $(cat "$TMP/tc-bad.log")"
done
[ -z "$(find "$out" -newer "$TMP/before" ! -path "$out/opts" -print)" ] || fail "a refused TEXT_COUNT rewrote: $(find "$out" -newer "$TMP/before" ! -path "$out/opts")"
# Back to the run's own birds: the text encoder learns from them again; the page says so.
touch "$TMP/before"; sleep 1
mk -j2 text > "$TMP/tc.log" 2>&1 || { cat "$TMP/tc.log"; fail "make text after TEXT_COUNT"; }
[ "$(ran "$TMP/before")" = "text zeroshot " ] || fail "back to COUNT re-ran: $(ran "$TMP/before")"
grep -q -- "--images [^ ]*/data/images-trainval\.t2i " "$out/cmd/text.sh" || fail "text did not go back to the run's birds: $(cat "$out/cmd/text.sh")"
bash "$paper/report.sh" "$out" smoke "gan cls int int-cls" "cls int-cls" "" "" 2 2> "$TMP/report.err" || fail "report.sh: $(cat "$TMP/report.err")"
! grep -q 'separate rendering' "$res/index.md" || fail "the page still quotes the TEXT_COUNT rendering"
pass "TEXT_COUNT: the text encoder learns from a separate rendering's seen classes and back; the page says so; bad values fail in one line and change nothing"

# The page in headless Chromium (Debian's chromium), where it is installed.
browser=$(command -v chromium || true)
if [ -z "$browser" ]; then
  echo "skipped: headless rendering of index.html (no chromium)"
else
  timeout 120 "$browser" --headless --disable-gpu --no-sandbox --user-data-dir="$TMP/chromium" \
    --window-size=1200,3000 --screenshot="$TMP/page.png" "file://$res/index.html" > "$TMP/chromium.log" 2>&1 \
    || { cat "$TMP/chromium.log"; fail "chromium could not render index.html"; }
  [ -s "$TMP/page.png" ] || fail "chromium wrote no screenshot"
  # Not a blank page: text and figures give dark pixels and many colours (the smoke page: 2% dark,
  # about 760 colours; a blank one has 1).
  png-to-tensor -q "$TMP/page.png" > "$TMP/page.t2i"
  PY="${T2I_PYTHON3:-python3}"
  export PYTHONPATH="$T2I_SRC/tests/cli${PYTHONPATH:+:$PYTHONPATH}"
  "$PY" - "$TMP/page.t2i" <<'PYEOF' || fail "the screenshot of index.html looks blank"
import sys
try:
    import numpy as np
except ImportError:
    print("no numpy: the screenshot's content is not checked")
    sys.exit(0)
from t2i_stream import load
(_, img), = load(sys.argv[1])
grey = img.astype(np.float32).mean(0)
dark, levels = float((grey < 100).mean()), len(np.unique(img.reshape(img.shape[0], -1), axis=1).T)
print("screenshot %s: %.4f of the pixels dark, %d colours" % (img.shape, dark, levels))
assert dark > 0.002 and levels > 100, (dark, levels)
PYEOF
  pass "index.html renders in headless chromium"
fi
