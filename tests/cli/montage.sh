#!/usr/bin/env bash
# montage: grid geometry, grouping by key, labels, output to a file or stdout.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

png-to-tensor --channels 3 "$DATA/images" > six.t2i   # six 13x9 images
shape() { png-to-tensor "$1" | tensor-info --no-stats | awk -F'\t' 'NR==2 {print $3}'; }

montage --cols 4 --pad 2 -i six.t2i -o grid.png
# 4 columns x 2 rows of 13x9 tiles with 2-pixel padding: 2+4*15 = 62 wide, 2+2*11 = 24 high.
[ "$(shape grid.png)" = "[3,24,62]" ] || fail "grid shape $(shape grid.png)"
montage --cols 4 --pad 2 < six.t2i > stdout.png
same_file grid.png stdout.png
montage --cols 3 --pad 0 --tile 20x10 < six.t2i > tiles.png
[ "$(shape tiles.png)" = "[3,20,60]" ] || fail "tile shape $(shape tiles.png)"
pass "grid geometry"


# Rows by key group, with labels: 3 groups of 2 -> 3 rows of 2 columns, and a label column.
for g in a b c; do for i in 0 1; do tensor-select --match rgb8 < six.t2i | sed "s/^rgb8 /grp-$g\/$i /"; done; done > groups.t2i
montage --rows-by-group --cols 8 --pad 1 < groups.t2i > rows.png
[ "$(shape rows.png)" = "[3,31,29]" ] || fail "rows shape $(shape rows.png)"   # 1+3*10 high, 1+2*14 wide
montage --rows-by-group --labels --label-scale 1 --pad 1 < groups.t2i > labelled.png
# Label column: "grp-a" is 5 glyphs of 6 pixels + 1 pad = 31 more pixels.
[ "$(shape labelled.png)" = "[3,31,60]" ] || fail "labelled shape $(shape labelled.png)"
# The labels are drawn from the keys: other group names, same images, other pixels.
sed 's/grp-/grp_/' groups.t2i | montage --rows-by-group --labels --label-scale 1 --pad 1 > relabelled.png
[ "$(shape relabelled.png)" = "[3,31,60]" ] || fail "relabelled shape"
cmp -s labelled.png relabelled.png && fail "labels not drawn: different keys gave the same picture"
pass "rows by group and labels"

# Captions under each image, by key or by the key's group, wrapped to the tile width.
printf 'grp-a\ta small red bird with a long pointed beak\ngrp-b/0\tshort\n' > caps.tsv
montage --rows-by-group --captions caps.tsv --caption-lines 1 --pad 1 < groups.t2i > cap1.png
[ "$(shape cap1.png)" = "[3,67,29]" ] || fail "captioned shape $(shape cap1.png)"   # rows 9 + 10 + 2 high, 3 rows
montage --rows-by-group --captions caps.tsv --pad 1 < groups.t2i > cap3.png
[ "$(shape cap3.png)" = "[3,127,29]" ] || fail "3-line captioned shape $(shape cap3.png)"
sed 's/\ta small/\tb small/' caps.tsv > caps2.tsv
montage --rows-by-group --captions caps2.tsv --caption-lines 1 --pad 1 < groups.t2i > cap1b.png
cmp -s cap1.png cap1b.png && fail "captions not drawn: other text gave the same picture"
printf 'no tab here\n' > badcaps.tsv
expect_exit 2 montage --captions badcaps.tsv -i six.t2i
grep -q "badcaps.tsv:1: expected 'key<TAB>caption'" "$TMP/err" || fail "$(cat "$TMP/err")"
expect_exit 1 montage --captions caps.tsv --caption-lines 0 -i six.t2i
pass "captions"

expect_exit 2 montage < /dev/null
grep -q "no images" "$TMP/err" || fail "$(cat "$TMP/err")"
expect_exit 2 montage -i "$DATA/bad/truncated-record.t2i" -o never.png
[ ! -e never.png ] || fail "a failed montage wrote its output"
expect_exit 1 montage --cols 0 -i six.t2i
expect_exit 1 montage --background blue -i six.t2i
expect_exit 2 montage --max-images 3 -i six.t2i
pass "errors"
