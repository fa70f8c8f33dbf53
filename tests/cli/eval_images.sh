#!/usr/bin/env bash
# eval-images on a tiny synthetic bird set with a briefly trained judge: real held-out images
# score well above chance on attributes, the same images with the captions of other classes score
# near chance; a stream of one repeated image has zero diversity; R-precision with an untrained
# text model lies in range; missing models are skipped with a note; bad inputs fail with one line.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

make-birds --out d --count 400 --size 68 --threads 1 -q
pack-images d --split cub-train --size 68 --threads 1 -q > tr.t2i
pack-images d --split cub-test --size 68 --threads 1 -q > te.t2i
list-captions d --split cub-test -q > te.tsv
train-judge --images tr.t2i --dataset d -o judge.st --epochs 16 --batch 32 --lr 2e-3 --threads 1 --seed 3 -q
"$T2I_MAKE_TEXT_MODEL" text.st 5

# value FILE METRIC.SUBSET
value() { awk -F'\t' -v k="$2" '$1 == k {print $2; found=1} END {exit !found}' "$1" || fail "$1 has no $2: $(cat "$1")"; }

# --- Real held-out images with their own captions: the ceiling.
eval-images --captions te.tsv --judge judge.st --text-model text.st --real tr.t2i --unseen d/testclasses.txt \
  --threads 1 -q te.t2i > real.txt
grep -q '^# eval-images: 200 samples of 200 caption keys (te.t2i); 50 of unseen classes' real.txt || fail "header: $(cat real.txt)"
grep -q '^# judge_fd: Frechet distance of the judge.s 128-d features to tr.t2i' real.txt || fail "FD note: $(cat real.txt)"
for m in attribute_accuracy r_precision judge_is judge_fd judge_class_accuracy; do
  for s in all seen unseen; do value real.txt "$m.$s" > /dev/null; done
done
[ "$(value real.txt samples.unseen)" = 50 ] || fail "expected 50 unseen samples"
real_attr=$(value real.txt attribute_accuracy.all)
awk -v r="$(value real.txt r_precision.all)" 'BEGIN {exit !(r >= 0 && r <= 1)}' || fail "r_precision out of range"
awk -v r="$(value real.txt judge_is.all)" 'BEGIN {exit !(r >= 1 && r <= 200)}' || fail "judge_is out of range"
awk -v r="$(value real.txt judge_fd.all)" 'BEGIN {exit !(r >= 0)}' || fail "judge_fd negative"
grep -q '^# diversity: none (no caption key has two samples)' real.txt || fail "diversity note: $(cat real.txt)"
pass "real held-out images: attribute accuracy $real_attr"

# --- The same images with the captions of other classes: near chance.
cut -f1 te.tsv | uniq > keys.txt
n=$(wc -l < keys.txt)
{ tail -n +$((n / 2 + 1)) keys.txt; head -n $((n / 2)) keys.txt; } > rot.txt
paste rot.txt keys.txt > map.tsv
awk -F'\t' '{split($1, a, "/"); split($2, b, "/"); if (a[1] == b[1]) exit 1}' map.tsv || fail "shuffle kept a class"
awk -F'\t' 'NR == FNR {to[$1] = $2; next} {print to[$1] "\t" $2}' map.tsv te.tsv > shuf.tsv
eval-images --captions shuf.tsv --judge judge.st --text-model text.st --threads 1 -q te.t2i > shuf.txt
shuf_attr=$(value shuf.txt attribute_accuracy.all)
awk -v r="$real_attr" -v s="$shuf_attr" 'BEGIN {exit !(r > s + 0.08 && r > 0.3)}' \
  || fail "attribute accuracy of real captions $real_attr is not above shuffled captions $shuf_attr"
awk -v r="$(value shuf.txt r_precision.all)" 'BEGIN {exit !(r >= 0 && r <= 0.1)}' || fail "shuffled r_precision not near chance"
grep -q '^# judge_fd: skipped (no --real)' shuf.txt || fail "no skip note: $(cat shuf.txt)"
if grep -q '\.seen' shuf.txt; then fail "seen/unseen reported without --unseen"; fi
pass "shuffled captions: attribute accuracy $shuf_attr (real $real_attr)"

# Deterministic: the same seed gives the same table.
eval-images --captions shuf.tsv --judge judge.st --text-model text.st --threads 1 -q te.t2i > shuf2.txt
same_file shuf.txt shuf2.txt

# --- Diversity: one image repeated as four generated samples of one caption key: 0; four
# different images: not.
key=$(head -1 keys.txt)
tensor-select --head 4 -q < te.t2i | tensor-to-png imgs -q
first=$(find imgs -name '*.png' | sort | head -1)
mkdir rep varied
for i in 0 1 2 3; do cp "$first" rep/$i.png; done
i=0
for f in $(find imgs -name '*.png' | sort); do cp "$f" varied/$i.png; i=$((i + 1)); done
png-to-tensor --dtype float32 --channels 3 --size 64 --key-prefix "$key/" -q rep/0.png rep/1.png rep/2.png rep/3.png > rep.t2i
png-to-tensor --dtype float32 --channels 3 --size 64 --key-prefix "$key/" -q varied/0.png varied/1.png varied/2.png varied/3.png > varied.t2i
eval-images --captions te.tsv --threads 1 -q rep.t2i > rep.txt
[ "$(value rep.txt diversity.all)" = 0.0000 ] || fail "one repeated image: diversity $(value rep.txt diversity.all)"
grep -q '^# r_precision: skipped (no --text-model)' rep.txt || fail "no skip note: $(cat rep.txt)"
grep -q '^# attribute_accuracy, judge_is, judge_fd: skipped (no --judge)' rep.txt || fail "no skip note: $(cat rep.txt)"
eval-images --captions te.tsv --threads 1 -q < varied.t2i > varied.txt
awk -v d="$(value varied.txt diversity.all)" 'BEGIN {exit !(d > 0.1)}' || fail "four birds: diversity $(value varied.txt diversity.all)"
pass "diversity: one repeated image 0, four birds $(value varied.txt diversity.all)"

# --- Bad input: one line, exit 2 (1 for usage).
expect_exit 1 eval-images --judge judge.st te.t2i
grep -q "eval-images: .*--captions is required" "$TMP/err" || fail "$(cat "$TMP/err")"
expect_exit 2 eval-images --captions te.tsv --judge text.st --threads 1 te.t2i
grep -q "text.st: not a t2igan judge (__metadata__ model is 't2igan-text'" "$TMP/err" || fail "text model as judge: $(cat "$TMP/err")"
expect_exit 2 eval-images --captions te.tsv --text-model judge.st --threads 1 te.t2i
grep -q "judge.st: not a t2igan text model" "$TMP/err" || fail "judge as text model: $(cat "$TMP/err")"
grep -v -F "$key" te.tsv > missing.tsv
expect_exit 2 eval-images --captions missing.tsv --threads 1 rep.t2i
grep -q "missing.tsv: no caption for key '$key' (of sample '$key/0' in rep.t2i)" "$TMP/err" || fail "missing caption: $(cat "$TMP/err")"
png-to-tensor --dtype float32 --channels 3 --size 32 --key-prefix "$key/" -q rep/0.png > small.t2i
expect_exit 2 eval-images --captions te.tsv --threads 1 small.t2i
grep -q "small.t2i: record '$key/0' is float32 \[3,32,32\], expected float32 \[3,64,64\]" "$TMP/err" \
  || fail "wrong shape: $(cat "$TMP/err")"
pass "bad inputs fail with one line"
