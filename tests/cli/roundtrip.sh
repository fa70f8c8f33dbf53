#!/usr/bin/env bash
# Images in and out: PNG -> stream -> PNG keeps every pixel, and PNGs the toolkit wrote come
# back bit for bit; resizing, channels and dtypes; keys as paths; atomic output.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

# Every colour type and bit depth of the fixtures decodes; 16-bit scales to the 8-bit pixels.
png-to-tensor "$DATA/images" > in.t2i
[ "$(tensor-info --keys in.t2i | tr '\n' ' ')" = "grey-alpha8 grey8 palette rgb16 rgb8 rgba8 " ] || fail "keys of in.t2i"
tensor-select --match rgb8 < in.t2i | sed 's/^rgb8 /same /' > a.t2i
tensor-select --match rgb16 < in.t2i | sed 's/^rgb16 /same /' > b.t2i
same_file a.t2i b.t2i
pass "16-bit PNG equals its 8-bit twin"

# Stream -> PNG -> stream keeps every pixel; PNG -> stream -> PNG is then bit-for-bit.
tensor-to-png out1 < in.t2i
png-to-tensor out1 > back.t2i
same_file in.t2i back.t2i
png-to-tensor out1 | tensor-to-png out2
for f in out1/*.png; do same_file "$f" "out2/$(basename "$f")"; done
[ "$(ls out2 | wc -l)" -eq 6 ] || fail "expected 6 PNGs"
pass "png-to-tensor | tensor-to-png reproduces the input bit for bit"

# Files named on the command line are keyed by their stem; --key-prefix; --list.
png-to-tensor --key-prefix img/ "$DATA/images/rgb8.png" "$DATA/images/grey8.png" | tensor-info --keys > keys.txt
[ "$(tr '\n' ' ' < keys.txt)" = "img/rgb8 img/grey8 " ] || fail "keys: $(cat keys.txt)"
printf '%s\n' "$DATA/images/palette.png" > list.txt
[ "$(png-to-tensor --list list.txt | tensor-info --keys)" = palette ] || fail "--list"
# Parallel decoding writes the same stream as one thread.
png-to-tensor --threads 1 "$DATA/images" "$DATA/images" > one.t2i 2>/dev/null
png-to-tensor --threads 2 "$DATA/images" "$DATA/images" > two.t2i 2>/dev/null
same_file one.t2i two.t2i
expect_exit 1 png-to-tensor --threads -1 "$DATA/images"
pass "keys from file names, prefixes and lists; --threads"

# Resize, channel conversion and float output.
png-to-tensor --size 76x38 --channels 3 --dtype float32 "$DATA/images" > f.t2i
tensor-info f.t2i > f.txt
[ "$(awk -F'\t' 'NR>1 && !/^#/ {print $2 $3}' f.txt | sort -u)" = "float32[3,38,76]" ] || fail "shapes: $(cat f.txt)"
awk -F'\t' 'NR>1 && !/^#/ && ($4 < -1 || $6 > 1) {exit 1}' f.txt || fail "float values outside [-1,1]"
png-to-tensor --channels 1 --size 4 "$DATA/images/rgb8.png" | tensor-info --no-stats | grep -q $'uint8\t\\[1,4,4\\]' || fail "--channels 1 --size 4"
tensor-to-png fout < f.t2i && png-to-tensor --size 13x9 fout/rgb8.png > /dev/null
pass "--size, --channels and --dtype"

# Keys with '/' make subdirectories, or '_' with --flat; '..' is refused.
tensor-select --match rgb8 < in.t2i | sed 's/^rgb8 /cls\/one /' | tensor-to-png nested
[ -f nested/cls/one.png ] || fail "nested/cls/one.png missing"
tensor-select --match rgb8 < in.t2i | sed 's/^rgb8 /cls\/one /' | tensor-to-png --flat flat
[ -f flat/cls_one.png ] || fail "flat/cls_one.png missing"
tensor-select --match rgb8 < in.t2i | sed 's/^rgb8 /..\/x /' > evil.t2i
expect_exit 2 tensor-to-png safe -i evil.t2i
grep -q "refusing to write outside" "$TMP/err" || fail "$(cat "$TMP/err")"
[ ! -e x.png ] || fail "wrote outside the directory"
pass "keys as paths"

# A failure half-way leaves the PNGs already written whole and no temporary files.
head -c -10 in.t2i > half.t2i
expect_exit 2 tensor-to-png half -i half.t2i
grep -q "key 'rgba8': data shorter than the header claims" "$TMP/err" || fail "$(cat "$TMP/err")"
[ "$(ls half | wc -l)" -eq 5 ] || fail "expected the 5 good PNGs before the bad record: $(ls half)"
[ -z "$(find half -name '.*tmp*')" ] || fail "temporary files left"
for f in half/*.png; do png-to-tensor "$f" > /dev/null; done
pass "atomic PNG output"

# Not images: a clear error.
expect_exit 2 png-to-tensor "$DATA/bad/text-not-stream.t2i"
grep -q "not a PNG or JPEG" "$TMP/err" || fail "$(cat "$TMP/err")"
expect_exit 2 png-to-tensor no/such/dir
expect_exit 1 png-to-tensor --size 0 "$DATA/images"
expect_exit 1 png-to-tensor
pass "bad images and options"
