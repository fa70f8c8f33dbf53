#!/usr/bin/env bash
# make-birds: a small dataset in CUB-200-2011 + text_c10 layout, the same bytes for a seed
# whatever the thread count, consistent index files, and captions free of style words.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

N=300
make-birds --out a --count $N --size 32 --seed 5 --threads 1 -q
make-birds --out b --count $N --size 32 --seed 5 --threads 2 -q
make-birds --out c --count $N --size 32 --seed 6 -q
# The hash of every file but README.txt (which records the command line).
tree_hash() { (cd "$1" && find . -type f ! -name README.txt | LC_ALL=C sort | xargs sha256sum | sha256sum); }
[ "$(tree_hash a)" = "$(tree_hash b)" ] || fail "same seed, different threads: different files"
[ "$(tree_hash a)" != "$(tree_hash c)" ] || fail "seeds 5 and 6 gave the same dataset"
cmp -s a/images.txt c/images.txt || fail "the file names must not depend on the seed"
cmp -s a/classes.txt c/classes.txt || fail "the classes must not depend on the seed"
pass "deterministic for a seed, whatever --threads"

cd a
for f in README.txt images.txt classes.txt image_class_labels.txt train_test_split.txt bounding_boxes.txt \
         parts/parts.txt parts/part_locs.txt attributes.txt attributes/image_attribute_labels.txt \
         allclasses.txt trainvalclasses.txt testclasses.txt background_rgb.txt style.txt; do
  [ -s "$f" ] || fail "missing or empty: $f"
done
grep -q "synthetic\|Synthetic" README.txt && grep -q "^Seed: 5$" README.txt || fail "README.txt: $(cat README.txt)"
lines() { wc -l < "$1"; }
for f in images.txt image_class_labels.txt train_test_split.txt bounding_boxes.txt background_rgb.txt style.txt; do
  [ "$(lines $f)" -eq $N ] || fail "$f: $(lines $f) lines, expected $N"
  [ "$(cut -d' ' -f1 $f | tr '\n' ' ')" = "$(seq 1 $N | tr '\n' ' ')" ] || fail "$f: ids are not 1..$N"
done
[ "$(lines classes.txt)" -eq 200 ] && [ "$(lines allclasses.txt)" -eq 200 ] || fail "200 classes"
[ "$(lines trainvalclasses.txt)" -eq 150 ] && [ "$(lines testclasses.txt)" -eq 50 ] || fail "150/50 class split"
[ -z "$(LC_ALL=C comm -12 <(LC_ALL=C sort trainvalclasses.txt) <(LC_ALL=C sort testclasses.txt))" ] || fail "classes in both splits"
cmp -s <(LC_ALL=C sort allclasses.txt) <(cat trainvalclasses.txt testclasses.txt | LC_ALL=C sort) || fail "split != all"
cmp -s <(cut -d' ' -f2 classes.txt) allclasses.txt || fail "classes.txt and allclasses.txt disagree"
grep -qvE '^[0-9]{3}\.[A-Z][A-Za-z]*(_[A-Z][A-Za-z]*)+$' allclasses.txt && fail "class names: $(head -3 allclasses.txt)"
[ "$(cat parts/parts.txt | tr '\n' '|')" = "1 back|2 beak|3 belly|4 breast|5 crown|6 forehead|7 left eye|8 left leg|9 left wing|10 nape|11 right eye|12 right leg|13 right wing|14 tail|15 throat|" ] || fail "parts.txt"
[ "$(lines parts/part_locs.txt)" -eq $((N * 15)) ] || fail "part_locs.txt lines"
[ "$(lines attributes/image_attribute_labels.txt)" -eq $((N * $(lines attributes.txt))) ] || fail "attribute labels: not every image x attribute"
awk '$4 != 4 || $5 != 0 || ($3 != 0 && $3 != 1) { exit 1 }' attributes/image_attribute_labels.txt || fail "attribute label columns"
grep -qv '^[0-9]* has_[a-z_]*::[a-z_]*$' attributes.txt && fail "attributes.txt names"
# Every image and caption file listed exists; its class folder matches its label; 10 captions each.
[ "$(find images -name '*.png' | wc -l)" -eq $N ] || fail "png count"
[ "$(find text_c10 -name '*.txt' | wc -l)" -eq $N ] || fail "caption file count"
join <(sort -k1,1 images.txt) <(sort -k1,1 image_class_labels.txt) | while read -r id path cls; do
  [ -f "images/$path" ] || fail "missing images/$path"
  [ "$((10#${path%%.*}))" -eq "$cls" ] || fail "image $id: folder $path, class $cls"
  name=$(basename "$path" .png)
  [[ "$name" =~ ^[A-Za-z_]+_[0-9]{4}_${id}$ ]] || fail "image name $name"
  [ "$(wc -l < "text_c10/${path%.png}.txt")" -eq 10 ] || fail "text_c10/${path%.png}.txt: not 10 captions"
done
[ "$(awk '{ t += $2 } END { print (t > 0.4 * NR && t < 0.6 * NR) }' train_test_split.txt)" = 1 ] || fail "train/test split not about half"
pass "layout, counts and ids"

# Boxes inside the image; visible keypoints inside their box, hidden ones at 0,0; one eye seen.
awk '$2 < 0 || $3 < 0 || $4 <= 0 || $5 <= 0 || $2 + $4 > 32.001 || $3 + $5 > 32.001 { print; exit 1 }' bounding_boxes.txt || fail "box outside the image"
awk 'NR == FNR { x[$1] = $2; y[$1] = $3; w[$1] = $4; h[$1] = $5; next }
     $5 == 1 && ($3 < x[$1] || $3 > x[$1] + w[$1] || $4 < y[$1] || $4 > y[$1] + h[$1]) { print "outside:", $0; bad = 1 }
     $5 == 0 && ($3 != 0 || $4 != 0) { print "hidden not at 0,0:", $0; bad = 1 }
     ($2 == 7 || $2 == 11) { eyes[$1] += $5 }
     END { for (i in eyes) if (eyes[i] != 1) { print "eyes of", i; bad = 1 } exit bad }' \
    bounding_boxes.txt parts/part_locs.txt || fail "keypoints"
awk '$2 < 0 || $2 > 255 || $3 < 0 || $3 > 255 || $4 < 0 || $4 > 255 || NF != 4 { exit 1 }' background_rgb.txt || fail "background_rgb.txt"
# style.txt: 26 fields after the id, in the ranges make-birds draws; the facing agrees with the
# visible eye; a plain backdrop has one colour; no branch, no branch fields; README names the columns.
awk 'NR == FNR { if ($2 == 11) right[$1] = $5; next }
     NF != 27 { print "fields:", NF, $0; bad = 1; exit }
     ($2 != 0 && $2 != 1) || $2 != right[$1] { print "facing:", $0; bad = 1; exit }
     $3 <= 0 || $6 < -0.15 || $6 > 0.15 || $7 < -0.3 || $7 > 0.25 { print "pose:", $0; bad = 1; exit }
     $8 != "plain" && $8 != "gradient" && $8 != "horizon" { print "background:", $0; bad = 1; exit }
     $8 == "plain" && ($9 != $12 || $10 != $13 || $11 != $14) { print "plain backdrop:", $0; bad = 1; exit }
     { for (i = 9; i <= 17; ++i) if ($i < 0 || $i > 255) { print "colour:", $0; bad = 1; exit } }
     $18 < 0.45 * 32 - 0.01 || $18 > 0.85 * 32 + 0.01 { print "horizon:", $0; bad = 1; exit }
     $19 == 0 { for (i = 20; i <= 25; ++i) if ($i != 0) { print "no branch:", $0; bad = 1; exit } }
     $19 == 1 && ($22 <= 0 || $22 > 32 || $23 + $24 + $25 <= 0) { print "branch:", $0; bad = 1; exit }
     $19 != 0 && $19 != 1 { print "branch flag:", $0; bad = 1; exit }
     $26 < -18 || $26 > 18 || $27 < 0.85 || $27 > 1.12 { print "lighting:", $0; bad = 1; exit }
     { kinds[$8] = 1; branches += $19 }
     END { if (bad) exit 1; if (length(kinds) != 3 || branches < 0.3 * FNR || branches > 0.7 * FNR) { print "draws:", length(kinds), branches; exit 1 } }' \
    parts/part_locs.txt style.txt || fail "style.txt"
grep -q "^style.txt (the drawn style" README.txt && grep -q "brightness contrast)" README.txt || fail "README.txt does not describe style.txt"
pass "boxes, keypoints, background colours and the drawn style"

# Captions: lower-case ASCII, 5 to 40 words, and never a word of style.
cat text_c10/*/*.txt > all-captions
[ "$(lines all-captions)" -eq $((N * 10)) ] || fail "caption count"
LC_ALL=C grep -n '[^a-z ,.]' all-captions && fail "captions must be lower-case ASCII"
awk 'NF < 5 || NF > 40 { print; exit 1 }' all-captions || fail "caption length"
style='left|right|facing|faces|sky|background|branch|perched|perching|standing|sitting|flying|ground|water|tree|horizon|light|dark|corner|centre|center|top|bottom|side|front|up|down|looking|image|picture|photo|frame|scene|leaf|grass|shadow|pose|position'
grep -nwE "$style" all-captions && fail "style words in captions"
[ "$(sort -u all-captions | wc -l)" -gt $((N * 7)) ] || fail "captions repeat too much"
pass "captions"
cd ..

# Small counts: one image in each of the first N classes (all 200 classes still listed).
make-birds --out seven --count 7 --size 24 -q
[ "$(cut -d' ' -f2 seven/image_class_labels.txt | tr '\n' ' ')" = "1 2 3 4 5 6 7 " ] || fail "--count 7"
[ "$(wc -l < seven/classes.txt)" -eq 200 ] || fail "--count 7: classes.txt"
# PNG header: width and height, big-endian, at bytes 16..23.
[ "$(od -An -tu1 -j16 -N8 seven/images/001.*/*.png | tr -s ' ')" = " 0 0 0 24 0 0 0 24" ] || fail "--size 24"
pass "--count and --size"

# A non-empty --out is refused unless --force, which replaces the dataset there.
expect_exit 1 make-birds --out seven --count 3 --size 24
grep -q "not empty.*--force" "$TMP/err" || fail "$(cat "$TMP/err")"
touch seven/mine.txt
make-birds --out seven --count 3 --size 24 --force -q
[ "$(wc -l < seven/images.txt)" -eq 3 ] && [ "$(find seven/images -name '*.png' | wc -l)" -eq 3 ] || fail "--force"
[ -f seven/mine.txt ] || fail "--force removed a file that is not make-birds'"
expect_exit 1 make-birds --out x --count 0
expect_exit 1 make-birds --count 5
expect_exit 1 make-birds --out x --size 8
touch plainfile
expect_exit 1 make-birds --out plainfile
pass "refusals"
