#!/usr/bin/env bash
# eval-images on tiny synthetic bird sets, with checks that fail when a metric is broken:
# - R-precision with a briefly trained text model: real images with their own captions score
#   well above the same images with the captions of other classes (which score near chance);
#   too few caption keys of other classes is an error, never 1.0 from nothing;
# - judge-FD of a set to itself is 0 and far below that of noise images;
# - attribute accuracy of real held-out images is above its chance line (printed in the same run)
#   and the chance line is near the accuracy of captions of other classes;
# - --real images are scored beside the samples (the ceiling), with a warning when they were the
#   judge's training images, and one when the samples score above them; float32 real images need
#   no "/<i>" keys;
# - diversity, the background's share fixed by the caption, skips without models, and bad inputs
#   with one line.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

make-birds --out d --count 400 --size 68 --threads 1 -q
pack-images d --split cub-train --size 68 --threads 1 -q > tr.t2i
pack-images d --split cub-test --size 68 --threads 1 -q > te.t2i
list-captions d --split cub-test -q > te.tsv
train-judge --images tr.t2i --dataset d -o judge.st --epochs 16 --batch 32 --lr 2e-3 --threads 1 --seed 3 -q
"$T2I_MAKE_TEXT_MODEL" text.st 5

# value FILE METRIC.COLUMN
value() { awk -F'\t' -v k="$2" '$1 == k {print $2; found=1} END {exit !found}' "$1" || fail "$1 has no $2: $(cat "$1")"; }
# check 'AWK-CONDITION' MESSAGE NAME=VALUE...
check() {
  local cond=$1 msg=$2; shift 2
  local args=()
  for a in "$@"; do args+=(-v "$a"); done
  awk "${args[@]}" "BEGIN {exit !($cond)}" || fail "$msg ($*)"
}

# --- The judge's held-out images scored as samples, with the same images as --real: every metric
# for all, seen and unseen, and a real column beside each.
eval-images --captions te.tsv --judge judge.st --real te.t2i --unseen d/testclasses.txt --threads 1 -q te.t2i > real.txt
grep -q '^# eval-images: 200 samples of 200 caption keys (te.t2i); 50 of unseen classes' real.txt || fail "header: $(cat real.txt)"
grep -q '^# judge_fd: Frechet distance of the judge.s 128-d features to te.t2i' real.txt || fail "FD note: $(cat real.txt)"
for m in attribute_accuracy attribute_accuracy_chance judge_is judge_fd judge_class_accuracy; do
  for s in all seen unseen; do value real.txt "$m.$s" > /dev/null; done
done
for m in attribute_accuracy attribute_accuracy_chance judge_is judge_class_accuracy; do
  for s in real real_seen real_unseen; do value real.txt "$m.$s" > /dev/null; done
done
[ "$(value real.txt samples.unseen)" = 50 ] || fail "expected 50 unseen samples"
[ "$(value real.txt samples.real)" = 200 ] || fail "expected 200 real images"
[ "$(value real.txt judge_training_images.real)" = 0 ] || fail "te.t2i counted as judge training images"
real_attr=$(value real.txt attribute_accuracy.all)
chance_attr=$(value real.txt attribute_accuracy_chance.all)
check 'r > c + 0.08 && r > 0.3 && c > 0.05' "attribute accuracy is not above its chance line" r="$real_attr" c="$chance_attr"
# The same images in both columns: the same numbers (the chance line draws its own captions).
[ "$(value real.txt attribute_accuracy.real)" = "$real_attr" ] || fail "real column differs for the same images"
# judge-FD of a set to itself: 0.
check 'f < 0.001' "judge_fd of a set to itself" f="$(value real.txt judge_fd.all)"
grep -q '^# diversity: none (no caption key has two samples)' real.txt || fail "diversity note: $(cat real.txt)"
pass "real held-out images: attribute accuracy $real_attr, chance line $chance_attr; judge_fd to themselves 0"

# --- The same images with the captions of other classes: near the chance line.
cut -f1 te.tsv | uniq > keys.txt
n=$(wc -l < keys.txt)
{ tail -n +$((n / 2 + 1)) keys.txt; head -n $((n / 2)) keys.txt; } > rot.txt
paste rot.txt keys.txt > map.tsv
awk -F'\t' '{split($1, a, "/"); split($2, b, "/"); if (a[1] == b[1]) exit 1}' map.tsv || fail "shuffle kept a class"
awk -F'\t' 'NR == FNR {to[$1] = $2; next} {print to[$1] "\t" $2}' map.tsv te.tsv > shuf.tsv
eval-images --captions shuf.tsv --judge judge.st --text-model text.st --threads 1 -q te.t2i > shuf.txt
shuf_attr=$(value shuf.txt attribute_accuracy.all)
check 'r > s + 0.08 && s < c + 0.06 && s > c - 0.06' "shuffled captions: not near the chance line" \
  r="$real_attr" s="$shuf_attr" c="$chance_attr"
grep -q '^# judge_fd: skipped (no --real)' shuf.txt || fail "no skip note: $(cat shuf.txt)"
if grep -q '\.seen\|\.real' shuf.txt; then fail "seen/unseen or real columns without --unseen or --real"; fi
pass "shuffled captions: attribute accuracy $shuf_attr (real $real_attr, chance line $chance_attr)"

# --- --by-attribute: the same hits per attribute group. Each group's accuracy lies in [0, 1], the
# overall figure lies between the groups' (it is their pair-weighted mean), the real images beat
# the shuffled captions group by group on the big parts, and the rows come only when asked for.
if grep -q '^attr:' real.txt shuf.txt; then fail "attr: rows without --by-attribute"; fi
eval-images --captions te.tsv --judge judge.st --real te.t2i --by-attribute --threads 1 -q te.t2i > by.txt
eval-images --captions shuf.tsv --judge judge.st --by-attribute --threads 1 -q te.t2i > by-shuf.txt
[ "$(grep -c '^attr:[a-z_]*\.all' by.txt)" = 16 ] || fail "expected 16 attribute groups: $(cat by.txt)"
[ "$(value by.txt attribute_accuracy.all)" = "$real_attr" ] || fail "--by-attribute changed the overall figure"
awk -F'\t' -v all="$real_attr" '$1 ~ /^attr:.*\.all$/ {n++; if ($2 < 0 || $2 > 1) bad = 1; if (n == 1 || $2 < lo) lo = $2; if (n == 1 || $2 > hi) hi = $2}
  END {exit !(n == 16 && !bad && lo <= all && all <= hi && lo < hi)}' by.txt || fail "groups do not bracket the overall $real_attr: $(grep '^attr:' by.txt)"
for g in wing_color head_color tail_color; do
  check 'r > s + 0.2' "attr:$g: real images not above shuffled captions" r="$(value by.txt "attr:$g.all")" s="$(value by-shuf.txt "attr:$g.all")"
  [ "$(value by.txt "attr:$g.real")" = "$(value by.txt "attr:$g.all")" ] || fail "attr:$g: real column differs for the same images"
done
# Every group: the real captions above the shuffled ones (a group scored on another group's head would not be).
# One group may score exactly the same: a head of this small judge that gives every image the same
# value scores the same on any order of the captions (the shuffle only moves them between images).
join -t $'\t' <(grep '^attr:.*\.all' by.txt | sort) <(grep '^attr:.*\.all' by-shuf.txt | sort) |
  awk -F'\t' '$2 < $3 {print; bad = 1} $2 == $3 {print; same++} END {exit bad || same > 1}' \
  || fail "a group where shuffled captions score above the real ones, or more than one where they score the same"
expect_exit 1 eval-images --captions te.tsv --by-attribute te.t2i
grep -q -- "--by-attribute needs --judge" "$TMP/err" || fail "--by-attribute without --judge: $(cat "$TMP/err")"
pass "--by-attribute: 16 groups, wing colour $(value by.txt attr:wing_color.all) (shuffled $(value by-shuf.txt attr:wing_color.all))"

# Deterministic: the same seed gives the same table.
eval-images --captions shuf.tsv --judge judge.st --text-model text.st --threads 1 -q te.t2i > shuf2.txt
same_file shuf.txt shuf2.txt

# --- The ceiling must be held out: the judge's own training images as --real are flagged.
eval-images --captions te.tsv --judge judge.st --real tr.t2i --threads 1 -q te.t2i > over.txt 2> over.err
[ "$(value over.txt judge_training_images.real)" = 200 ] || fail "overlap not counted: $(cat over.txt)"
grep -q "tr.t2i: 200 of its 200 images were training images of the judge judge.st" over.err || fail "no warning: $(cat over.err)"
grep -q "^# judge_training_images: 200 of the 200 images of tr.t2i were training images of the judge: NOT a held-out ceiling" \
  over.txt || fail "no note: $(cat over.txt)"
pass "judge training images as the ceiling are flagged"

# --- R-precision with a briefly trained text model, on 16 classes of 8 images (each image's key
# ranks against 99 keys of the 15 other classes).
make-birds --out r --count 1600 --size 64 --threads 1 -q
list-captions r -q > rall.tsv
cut -f1 rall.tsv | cut -d/ -f1 | sort -u | sed -n 1,16p > rcls.txt
pack-images r --size 64 --threads 1 -q | tensor-select --keys rcls.txt --parent -q > rsel.t2i
grep -F -f <(sed 's|$|/|' rcls.txt) rall.tsv > rsel.tsv
train-text --images rsel.t2i --captions rsel.tsv -o rtext.st --c1 32 --c2 32 --c3 32 --emb-dim 32 --image-ndf 8 --batch 16 \
  --lr 0.002 --epochs 60 --threads 1 --seed 3 -q
eval-images --captions rsel.tsv --text-model rtext.st --threads 1 -q rsel.t2i > rp.txt
cut -f1 rsel.tsv | uniq > rkeys.txt
n=$(wc -l < rkeys.txt)
{ tail -n +$((n / 2 + 1)) rkeys.txt; head -n $((n / 2)) rkeys.txt; } > rrot.txt
paste rrot.txt rkeys.txt > rmap.tsv
awk -F'\t' '{split($1, a, "/"); split($2, b, "/"); if (a[1] == b[1]) exit 1}' rmap.tsv || fail "shuffle kept a class"
awk -F'\t' 'NR == FNR {to[$1] = $2; next} {print to[$1] "\t" $2}' rmap.tsv rsel.tsv > rshuf.tsv
eval-images --captions rshuf.tsv --text-model rtext.st --threads 1 -q rsel.t2i > rpshuf.txt
rp=$(value rp.txt r_precision.all)
rps=$(value rpshuf.txt r_precision.all)
check 'r > s + 0.08 && s < 0.05' "R-precision of real captions is not above shuffled captions" r="$rp" s="$rps"
grep -q '^# r_precision: .*mean embedding of its caption key.s captions .* 99 caption keys of other classes.*chance 0.0100' rp.txt \
  || fail "r_precision note: $(cat rp.txt)"
pass "R-precision: own captions $rp, captions of other classes $rps (chance 0.01)"

# Fewer than 99 caption keys of other classes: one line, exit 2 (never 1.0 from nothing).
head -n 400 rsel.tsv > few.tsv   # 40 keys of 5 classes
cut -f1 few.tsv | uniq > fewkeys.txt
tensor-select --keys fewkeys.txt -q < rsel.t2i > few.t2i
expect_exit 2 eval-images --captions few.tsv --text-model rtext.st --threads 1 few.t2i
grep -q "few.tsv: 32 caption keys are of classes other than '.*' (of sample '.*'); R-precision ranks each key against 99 keys of other classes" \
  "$TMP/err" || fail "too few negatives: $(cat "$TMP/err")"
pass "too few caption keys of other classes: one line, exit 2"

# --- Diversity and judge-FD against noise: one image repeated as four generated samples of one
# caption key: diversity 0; four different images: not; 40 noise images: a large judge-FD.
key=$(head -1 keys.txt)
tensor-select --head 4 -q < te.t2i | tensor-to-png imgs -q
first=$(find imgs -name '*.png' | sort | awk 'NR == 1')
mkdir rep varied noise
for i in 0 1 2 3; do cp "$first" rep/$i.png; done
i=0
for f in $(find imgs -name '*.png' | sort); do cp "$f" varied/$i.png; i=$((i + 1)); done
png-to-tensor --dtype float32 --channels 3 --size 64 --key-prefix "$key/" -q rep/0.png rep/1.png rep/2.png rep/3.png > rep.t2i
png-to-tensor --dtype float32 --channels 3 --size 64 --key-prefix "$key/" -q varied/0.png varied/1.png varied/2.png varied/3.png > varied.t2i
"${T2I_PYTHON3:-python3}" - <<'PYEOF' || fail "writing noise PNGs"
import random, struct, zlib
rnd = random.Random(7)
def png(path, w, h, rows):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\0" + r for r in rows)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for i in range(40):
    png("noise/%02d.png" % i, 64, 64, [bytes(rnd.randrange(256) for _ in range(64 * 3)) for _ in range(64)])
PYEOF
png-to-tensor --dtype float32 --channels 3 --size 64 --key-prefix "$key/" -q noise/*.png > noise.t2i
eval-images --captions te.tsv --threads 1 -q rep.t2i > rep.txt
[ "$(value rep.txt diversity.all)" = 0.0000 ] || fail "one repeated image: diversity $(value rep.txt diversity.all)"
grep -q '^# r_precision: skipped (no --text-model)' rep.txt || fail "no skip note: $(cat rep.txt)"
grep -q '^# attribute_accuracy, judge_is, judge_fd: skipped (no --judge)' rep.txt || fail "no skip note: $(cat rep.txt)"
eval-images --captions te.tsv --threads 1 -q < varied.t2i > varied.txt
check 'd > 0.1' "four birds: diversity" d="$(value varied.txt diversity.all)"
eval-images --captions te.tsv --judge judge.st --real te.t2i --threads 1 -q noise.t2i > noise.txt
list-captions d --split cub-train -q > tr.tsv
eval-images --captions tr.tsv --judge judge.st --real te.t2i --threads 1 -q tr.t2i > other.txt
check 'n > 3 * o && o > 0.001' "judge_fd: noise not far above other real images" \
  n="$(value noise.txt judge_fd.all)" o="$(value other.txt judge_fd.all)"
pass "diversity: one repeated image 0, four birds $(value varied.txt diversity.all); judge_fd to te.t2i: noise $(value noise.txt judge_fd.all), other real images $(value other.txt judge_fd.all), itself 0"

# --- Samples above the ceiling: the real held-out images as samples, against a "ceiling" of noise
# images (the 40 above, in turn) carrying their caption keys: a warning and a note. With 200
# images a side, one key each, twice the standard error of the difference is at most about 0.1
# (a variance of at most 0.25 / 199 a side), so samples 0.11 above the noise must be flagged. The
# same images in both columns, and noise samples under real images, give none.
mapfile -t nzkeys < keys.txt
mapfile -t nzpngs < <(find noise -name '*.png' | sort)
for j in "${!nzkeys[@]}"; do
  mkdir -p "nz/$(dirname "${nzkeys[j]}")"
  cp "${nzpngs[j % 40]}" "nz/${nzkeys[j]}.png"
done
png-to-tensor --channels 3 --size 64 -q nz > nz.t2i
eval-images --captions te.tsv --judge judge.st --real nz.t2i --threads 1 -q te.t2i > above.txt 2> above.err
check 'a > r + 0.11' "the samples are not above the noise ceiling" a="$(value above.txt attribute_accuracy.all)" r="$(value above.txt attribute_accuracy.real)"
grep -q "^eval-images: warning: attribute_accuracy.all of te.t2i is 0.[0-9]*, above the 0.[0-9]* of nz.t2i by more than twice the standard error" above.err \
  || fail "no above-the-ceiling warning: $(cat above.err)"
grep -q "^# above_ceiling: attribute_accuracy.all of te.t2i .*look at the pictures before trusting the figure" above.txt \
  || fail "no above-the-ceiling note: $(cat above.txt)"
[ "$(grep -c above_ceiling above.txt)" = 1 ] || fail "expected one note (no text model, no --unseen): $(cat above.txt)"
for f in real.txt noise.txt; do
  if grep -q above_ceiling $f; then fail "$f: flagged as above the ceiling: $(cat $f)"; fi
done
# R-precision likewise: the 128 images of the R-precision section against noise under their keys.
mapfile -t rnkeys < rkeys.txt
for j in "${!rnkeys[@]}"; do
  mkdir -p "rnz/$(dirname "${rnkeys[j]}")"
  cp "${nzpngs[j % 40]}" "rnz/${rnkeys[j]}.png"
done
png-to-tensor --channels 3 --size 64 -q rnz > rnz.t2i
eval-images --captions rsel.tsv --text-model rtext.st --real rnz.t2i --threads 1 -q rsel.t2i > rabove.txt 2> rabove.err
grep -q "^eval-images: warning: r_precision.all of rsel.t2i is 0.[0-9]*, above the 0.[0-9]* of rnz.t2i" rabove.err \
  || fail "R-precision: no above-the-ceiling warning: $(cat rabove.err; cat rabove.txt)"
pass "samples above the ceiling: attribute accuracy $(value above.txt attribute_accuracy.all) against noise's $(value above.txt attribute_accuracy.real), R-precision $(value rabove.txt r_precision.all) against $(value rabove.txt r_precision.real): flagged"

# --- background_by_caption: four copies of one real bird per caption key: the caption fixes the
# whole border colour (1); four different birds per key, whose backgrounds the renderer draws
# independently of the bird, as the noise should: about 0.
tensor-select --head 40 -q < te.t2i | tensor-to-png bgall -q
mapfile -t pngs < <(find bgall -name '*.png' | sort)
mapfile -t bgkeys < <(awk 'NR <= 10' keys.txt)
: > same.t2i
: > indep.t2i
for j in $(seq 0 9); do
  mkdir "same$j" "indep$j"
  for i in 0 1 2 3; do
    cp "${pngs[j]}" "same$j/$i.png"
    cp "${pngs[4 * j + i]}" "indep$j/$i.png"
  done
  png-to-tensor --dtype float32 --channels 3 --size 64 --key-prefix "${bgkeys[j]}/" -q same$j/*.png >> same.t2i
  png-to-tensor --dtype float32 --channels 3 --size 64 --key-prefix "${bgkeys[j]}/" -q indep$j/*.png >> indep.t2i
done
eval-images --captions te.tsv --threads 1 -q same.t2i > same.txt
eval-images --captions te.tsv --threads 1 -q indep.t2i > indep.txt
[ "$(value same.txt background_by_caption.all)" = 1.0000 ] || fail "copies: $(cat same.txt)"
check 'b < 0.35 && b > -0.35' "independent backgrounds: background_by_caption" b="$(value indep.txt background_by_caption.all)"
grep -q '^# background_by_caption: the share of the variance of the images. border colour' same.txt || fail "note: $(cat same.txt)"
grep -q '^# background_by_caption: none' real.txt || fail "real images, one a key: $(cat real.txt)"
pass "background_by_caption: copies 1, different birds $(value indep.txt background_by_caption.all)"

# --- float32 real images keyed without "/<i>" (png-to-tensor): accepted as --real; they have no
# captions here, so only the judge's class metrics are scored for them, with a note.
png-to-tensor --dtype float32 --channels 3 --size 64 -q varied > freal.t2i
eval-images --captions te.tsv --judge judge.st --real freal.t2i --threads 1 -q te.t2i > freal.txt
[ "$(value freal.txt samples.real)" = 4 ] || fail "float32 real images: $(cat freal.txt)"
grep -q '^# real: 0 of the 4 --real images have captions' freal.txt || fail "no caption note: $(cat freal.txt)"
value freal.txt judge_is.real > /dev/null
pass "float32 --real images without '/<i>' keys are scored"

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
