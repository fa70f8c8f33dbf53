#!/usr/bin/env bash
# The quickstart pipeline runs end to end on the built tools (small settings), so it cannot rot.
. "$(dirname "$0")/lib.sh"
args=(BIN="$T2I_BIN" OUT="$TMP/out" COUNT=200 SIZE=64 LOOK_SIZE=64)
make -s -C "$T2I_SRC/pipelines/quickstart" "${args[@]}" -j2 > "$TMP/make.log" 2>&1 \
  || { cat "$TMP/make.log"; fail "quickstart pipeline"; }
grep -q "^# $TMP/out/images.t2i: 200 records" "$TMP/out/info.txt" || fail "info.txt: $(cat "$TMP/out/info.txt")"
grep -q "^# captions: 2000$" "$TMP/out/info.txt" || fail "captions: $(cat "$TMP/out/info.txt")"
[ "$(tensor-info --no-stats "$TMP/out/images.t2i" | awk -F'\t' 'NR>1 && !/^#/ {print $2 $3}' | sort -u)" = "uint8[3,76,76]" ] \
  || fail "image shapes"
grep -q "^images	200$" "$TMP/out/check.txt" || fail "check.txt: $(cat "$TMP/out/check.txt")"
# 8 x 8 tiles of 64 pixels with 4 caption lines (4 x 10 + 2) under each, 2-pixel padding.
look=$(png-to-tensor "$TMP/out/look.png" | tensor-info --no-stats | awk -F'\t' 'NR==2 {print $3}')
[ "$look" = "[3,$((2 + 8 * (64 + 42 + 2))),$((2 + 8 * 66))]" ] || fail "look.png is $look"
# A second make has nothing to do.
make -q -C "$T2I_SRC/pipelines/quickstart" "${args[@]}" "$TMP/out/look.png" "$TMP/out/info.txt" "$TMP/out/check.txt" \
  || fail "a second make would redo work"
pass "quickstart pipeline"
