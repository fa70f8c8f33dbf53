#!/usr/bin/env bash
# pack-images, list-captions and check-dataset on tiny CUB-200-2011 and Oxford-102 folders made
# here: PNGs drawn with NumPy (through tensor-to-png), plus a JPEG written by the data unit tests.
. "$(dirname "$0")/lib.sh"
PY="${T2I_PYTHON3:-python3}"
if ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "skipped: $PY has no numpy"
  exit 77
fi
cd "$TMP"

# Image streams from NumPy: `draw KEY=SPEC...` where SPEC is "rgb:W:H:R,G,B" or
# "box:W:H:R,G,B:X,Y,BW,BH:R,G,B" or "grey:W:H:V".
draw() {
  "$PY" - "$@" <<'EOF'
import io, sys, numpy as np
out = sys.stdout.buffer
for arg in sys.argv[1:]:
    key, spec = arg.split("=", 1)
    kind, w, h, *rest = spec.split(":")
    w, h = int(w), int(h)
    if kind == "grey":
        a = np.full((1, h, w), int(rest[0]), np.uint8)
    else:
        a = np.empty((3, h, w), np.uint8)
        a[:] = np.array([int(v) for v in rest[0].split(",")], np.uint8)[:, None, None]
        if kind == "box":
            x, y, bw, bh = (int(v) for v in rest[1].split(","))
            a[:, y:y + bh, x:x + bw] = np.array([int(v) for v in rest[2].split(",")], np.uint8)[:, None, None]
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=(1, 0))
    out.write(key.encode() + b" " + buf.getvalue())
EOF
}

# Pixel statistics of a stream: "key shape min max mean-of-each-channel" a line.
stats() {
  "$PY" -c '
import io, sys, numpy as np
f = io.BytesIO(sys.stdin.buffer.read())
while True:
    key = b""
    while (c := f.read(1)) not in (b" ", b""):
        key += c
    if not key: break
    a = np.lib.format.read_array(f)
    print(key.decode(), "x".join(map(str, a.shape)), a.dtype, *[int(round(float(a[c].mean()))) for c in range(a.shape[0])])
'
}

# A JPEG from the unit tests (48x32, green), if they were built.
JPEG=""
if [ -x "${T2I_BUILD:-}/tests/t2i_data_tests" ]; then
  T2I_DATA_JPEG_FIXTURE="$TMP/green.jpg" "$T2I_BUILD/tests/t2i_data_tests" \
    --gtest_filter=DataLoaders.WritesTheCliJpegFixture > /dev/null && JPEG="$TMP/green.jpg"
fi

# --- A CUB-200-2011 folder: 3 classes, 6 images; 001 and 002 trainval, 003 test.
make_cub() {
  local d=$1
  mkdir -p "$d/images"
  draw "001.Red_bird/Red_0001=box:40:30:200,30,30:10,5,16,16:20,40,220" \
       "001.Red_bird/Red_0002=grey:20:20:90" \
       "002.Blue_bird/Blue_0003=rgb:30:30:20,40,220" \
       "002.Blue_bird/Blue_0004=rgb:16:24:20,40,200" \
       "003.Green_bird/Green_0005=rgb:32:32:30,160,30" \
       "003.Green_bird/Green_0006=rgb:32:32:30,170,30" | tensor-to-png -q "$d/images"
  local ext5=png
  if [ -n "$JPEG" ]; then
    rm "$d/images/003.Green_bird/Green_0005.png"
    cp "$JPEG" "$d/images/003.Green_bird/Green_0005.jpg"
    ext5=jpg
  fi
  printf '1 001.Red_bird/Red_0001.png\n2 001.Red_bird/Red_0002.png\n3 002.Blue_bird/Blue_0003.png\n4 002.Blue_bird/Blue_0004.png\n5 003.Green_bird/Green_0005.%s\n6 003.Green_bird/Green_0006.png\n' "$ext5" > "$d/images.txt"
  printf '1 001.Red_bird\n2 002.Blue_bird\n3 003.Green_bird\n' > "$d/classes.txt"
  printf '1 1\n2 1\n3 2\n4 2\n5 3\n6 3\n' > "$d/image_class_labels.txt"
  printf '1 1\n2 0\n3 1\n4 0\n5 1\n6 0\n' > "$d/train_test_split.txt"
  printf '1 10.0 5.0 16.0 16.0\n2 0 0 20 20\n3 1 1 10 10\n4 0 0 16 24\n5 2 2 20 20\n6 0 0 32 32\n' > "$d/bounding_boxes.txt"
  printf '001.Red_bird\n002.Blue_bird\n003.Green_bird\n' > "$d/allclasses.txt"
  printf '001.Red_bird\r\n002.Blue_bird\r\n' > "$d/trainvalclasses.txt"
  printf '003.Green_bird\n' > "$d/testclasses.txt"
  printf '0 0 0\n' > "$d/background_rgb.txt"
  local k
  for k in 001.Red_bird/Red_0001 001.Red_bird/Red_0002 002.Blue_bird/Blue_0003 002.Blue_bird/Blue_0004 \
           003.Green_bird/Green_0005 003.Green_bird/Green_0006; do
    mkdir -p "$d/text_c10/${k%/*}"
    for i in 1 2 3 4 5 6 7 8 9 10; do echo "caption $i of ${k#*/}"; done > "$d/text_c10/$k.txt"
  done
  # CRLF line ends, blank lines, trailing spaces, a tab inside a caption.
  printf 'a red bird with a blue patch  \r\n\r\n   \r\nits\twings are red\r\n' > "$d/text_c10/001.Red_bird/Red_0001.txt"
}
make_cub cub

# check-dataset: the report, exit 0.
check-dataset cub > report 2> err || fail "check-dataset on a good CUB folder: $(cat err)"
want='layout	cub
images	6
image_files_missing	0
classes	3
classes_with_images	3
captions	52
images_10_captions	5
images_fewer_captions	1
images_more_captions	0
images_no_captions	0
class_lists	yes
trainval_classes	2
test_classes	1
trainval_images	4
test_images	2
unlisted_images	0
cub_split	yes
cub_train_images	3
cub_test_images	3
bounding_boxes	6'
[ "$(cat report)" = "$want" ] || fail "check-dataset report: $(diff <(echo "$want") report)"
check-dataset --decode cub | grep -qx 'image_files_bad	0' || fail "check-dataset --decode"
pass "check-dataset reports a good CUB folder"

# pack-images: keys in images.txt order, uint8 [3,76,76], grey made RGB, colours kept.
pack-images -q cub > all.t2i
tensor-info --keys all.t2i | tr '\n' ' ' > keys
[ "$(cat keys)" = "001.Red_bird/Red_0001 001.Red_bird/Red_0002 002.Blue_bird/Blue_0003 002.Blue_bird/Blue_0004 003.Green_bird/Green_0005 003.Green_bird/Green_0006 " ] \
  || fail "keys: $(cat keys)"
stats < all.t2i > all.stats
grep -q '^001.Red_bird/Red_0002 3x76x76 uint8 90 90 90$' all.stats || fail "grey image: $(cat all.stats)"
grep -q '^002.Blue_bird/Blue_0003 3x76x76 uint8 20 40 220$' all.stats || fail "colours: $(cat all.stats)"
[ -z "$JPEG" ] || grep -qE '^003.Green_bird/Green_0005 3x76x76 uint8 (29|30|31) (159|160|161) (29|30|31)$' all.stats \
  || fail "JPEG image: $(cat all.stats)"
[ "$(pack-images -q cub --split trainval | tensor-info --keys | wc -l)" -eq 4 ] || fail "--split trainval"
[ "$(pack-images -q cub --split test | tensor-info --keys | tr '\n' ' ')" = "003.Green_bird/Green_0005 003.Green_bird/Green_0006 " ] \
  || fail "--split test"
[ "$(pack-images -q cub --split cub-train | tensor-info --keys | wc -l)" -eq 3 ] || fail "--split cub-train"
[ "$(pack-images -q cub --limit 2 --size 8 | stats | cut -d' ' -f2 | tr '\n' ' ')" = "3x8x8 3x8x8 " ] || fail "--limit, --size"
pass "pack-images: keys, splits, sizes, grey and ${JPEG:+JPEG and }PNG"

# Squashed, not cropped: the red image with its blue box keeps the red; --crop bbox keeps only blue.
grep -q '^001.Red_bird/Red_0001 3x76x76 uint8 1[0-9][0-9] ' all.stats || fail "squash: $(grep Red_0001 all.stats)"
pack-images -q cub --crop bbox --limit 1 | stats > crop.stats
grep -q '^001.Red_bird/Red_0001 3x76x76 uint8 20 40 220$' crop.stats || fail "--crop bbox: $(cat crop.stats)"
pack-images -q cub --crop bbox --crop-margin 0.25 --limit 1 | stats > margin.stats
grep -q '^001.Red_bird/Red_0001 3x76x76 uint8 20 40 220$' margin.stats && fail "--crop-margin had no effect"
pass "--crop bbox crops to the box, --crop-margin enlarges it"

# The same bytes for any thread count, to a file or to stdout.
pack-images -q cub --threads 1 > t1.t2i
pack-images -q cub --threads 3 -o t3.t2i
same_file t1.t2i t3.t2i
same_file t1.t2i all.t2i
pass "pack-images is identical across --threads"

# list-captions: trimmed, CRLF and blank lines dropped, tabs made spaces.
list-captions -q cub > captions.tsv
[ "$(wc -l < captions.tsv)" -eq 52 ] || fail "caption count $(wc -l < captions.tsv)"
[ "$(head -2 captions.tsv)" = "001.Red_bird/Red_0001	a red bird with a blue patch
001.Red_bird/Red_0001	its wings are red" ] || fail "cleaned captions: $(head -2 captions.tsv | cat -A)"
grep -q $'\r' captions.tsv && fail "CR in captions"
[ "$(awk -F'\t' 'NF != 2' captions.tsv | wc -l)" -eq 0 ] || fail "lines without exactly one tab"
[ "$(list-captions -q cub --first | cut -f1 | tr '\n' ' ')" = "$(cat keys)" ] || fail "--first"
[ "$(list-captions -q cub --split test --first --limit 1)" = "003.Green_bird/Green_0005	caption 1 of Green_0005" ] || fail "--split test --limit 1"
pass "list-captions"

# A missing caption file: one error line, exit 2; --allow-missing skips and counts.
rm cub/text_c10/002.Blue_bird/Blue_0003.txt
expect_exit 2 list-captions cub
grep -q "Blue_0003.txt: missing caption file for image '002.Blue_bird/Blue_0003'" "$TMP/err" || fail "$(cat "$TMP/err")"
list-captions cub --allow-missing > some.tsv 2> err
[ "$(wc -l < some.tsv)" -eq 42 ] || fail "--allow-missing output"
grep -q "1 of 6 images have no captions" err || fail "--allow-missing count: $(cat err)"
rc=0; check-dataset cub > report 2> err || rc=$?
[ "$rc" -eq 2 ] || fail "check-dataset with a missing caption file exited $rc"
grep -qx 'images_no_captions	1' report || fail "report: $(cat report)"
grep -q "Blue_0003.txt: missing caption file" err || fail "$(cat err)"
tail -1 err | grep -q "check-dataset: error: cub: not usable: 1 problem listed above" || fail "final line: $(cat err)"
pass "missing captions"

# check-dataset failures: a missing image file, overlapping lists, a listed class not in the data.
make_cub bad
rm bad/images/002.Blue_bird/Blue_0004.png
printf '003.Green_bird\n002.Blue_bird\n004.Ghost_bird\n' > bad/testclasses.txt
rc=0; check-dataset bad > report 2> err || rc=$?
[ "$rc" -eq 2 ] || fail "check-dataset on a bad folder exited $rc"
grep -qx 'image_files_missing	1' report || fail "report: $(cat report)"
grep -q "Blue_0004.png: missing image file" err || fail "missing image: $(cat err)"
grep -q "class '002.Blue_bird' is in both" err || fail "overlap: $(cat err)"
grep -q "testclasses.txt:3: class '004.Ghost_bird' is not in the data" err || fail "unknown class: $(cat err)"
[ "$(grep -c ': error: ' err)" -eq 4 ] || fail "expected 3 problems and a final line: $(cat err)"
expect_exit 2 pack-images bad
grep -q "testclasses.txt:3: class '004.Ghost_bird' is not in the data" "$TMP/err" || fail "$(cat "$TMP/err")"
pass "check-dataset lists the problems"

# Malformed lines, whitespace in paths, not a dataset: one clear line, exit 2.
make_cub mal
printf '1 001.Red_bird/Red_0001.png\n2\n' > mal/images.txt
expect_exit 2 pack-images mal
grep -qF "mal/images.txt:2: expected '<id> <class>/<name>.<ext>'" "$TMP/err" || fail "$(cat "$TMP/err")"
expect_exit 2 check-dataset mal
printf '1 001.Red_bird/Red 0001.png\n' > mal/images.txt
expect_exit 2 list-captions mal
grep -qF "mal/images.txt:1: '001.Red_bird/Red 0001.png' holds whitespace" "$TMP/err" || fail "$(cat "$TMP/err")"
make_cub mal2
printf '1 10 5 16\n' > mal2/bounding_boxes.txt
expect_exit 2 pack-images mal2 --crop bbox
grep -qF "mal2/bounding_boxes.txt:1: expected '<image_id> <x> <y> <width> <height>'" "$TMP/err" || fail "$(cat "$TMP/err")"
mkdir empty
expect_exit 2 check-dataset empty
grep -q "expected images.txt and images/ (CUB-200-2011) or jpg/ and text_c10/" "$TMP/err" || fail "$(cat "$TMP/err")"
expect_exit 1 pack-images cub --split train
expect_exit 1 pack-images cub --crop-margin 0.1
expect_exit 1 list-captions
pass "bad input and usage errors"

# --- An Oxford-102 folder: jpg/ (PNG bytes under .jpg names, and the JPEG), text_c10/class_*/.
mkdir -p ox/jpg ox/png
draw "image_00001=rgb:20:20:250,250,0" "image_00002=rgb:24:20:250,0,250" "image_00003=rgb:20:24:0,250,250" \
     "image_00005=rgb:8:8:9,9,9" | tensor-to-png -q ox/png
for i in 1 2 3 5; do mv "ox/png/image_0000$i.png" "ox/jpg/image_0000$i.jpg"; done
if [ -n "$JPEG" ]; then cp "$JPEG" ox/jpg/image_00004.jpg; else cp ox/jpg/image_00001.jpg ox/jpg/image_00004.jpg; fi
mkdir -p ox/text_c10/class_00001 ox/text_c10/class_00002
printf 'pink petals\r\nyellow centre\r\n' > ox/text_c10/class_00002/image_00001.txt
printf 'purple\n' > ox/text_c10/class_00001/image_00002.txt
printf 'cyan\n' > ox/text_c10/class_00001/image_00003.txt
printf 'green\n' > ox/text_c10/class_00002/image_00004.txt
printf 'class_00001\n' > ox/trainvalclasses.txt
printf 'class_00002\n' > ox/testclasses.txt
printf 'class_00001\nclass_00002\n' > ox/allclasses.txt
check-dataset ox > report 2> err || fail "check-dataset on Oxford: $(cat err)"
grep -qx 'layout	oxford' report && grep -qx 'images	4' report && grep -qx 'images_unlabelled	1' report \
  && grep -qx 'classes	2' report && grep -qx 'test_images	2' report || fail "Oxford report: $(cat report)"
[ "$(pack-images -q ox --size 4 | tensor-info --keys | tr '\n' ' ')" = "class_00001/image_00002 class_00001/image_00003 class_00002/image_00001 class_00002/image_00004 " ] \
  || fail "Oxford keys"
pack-images -q ox --split test --size 4 | stats > ox.stats
grep -qx 'class_00002/image_00001 3x4x4 uint8 250 250 0' ox.stats || fail "Oxford pixels: $(cat ox.stats)"
[ "$(list-captions -q ox --split test)" = "class_00002/image_00001	pink petals
class_00002/image_00001	yellow centre
class_00002/image_00004	green" ] || fail "Oxford captions: $(list-captions ox --split test)"
expect_exit 2 pack-images ox --crop bbox
touch "ox/text_c10/class_00001/image 00009.txt"
expect_exit 2 list-captions ox
grep -q "image 00009.txt: file name holds whitespace" "$TMP/err" || fail "$(cat "$TMP/err")"
pass "Oxford-102: report, keys, splits, captions"
