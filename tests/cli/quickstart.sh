#!/usr/bin/env bash
# The quickstart pipeline runs end to end on the built tools (small settings), so it cannot rot.
. "$(dirname "$0")/lib.sh"
# Tiny widths and one epoch each: the stages run and connect; the preset's quality is the
# quickstart's own business.
args=(BIN="$T2I_BIN" OUT="$TMP/out" COUNT=200 SIZE=64 LOOK_SIZE=64 TEXT_EPOCHS=1 GAN_EPOCHS=1
      "TEXT_WIDTHS=--c1 16 --c2 16 --c3 16 --emb-dim 24 --image-ndf 4 --threads 1"
      "GAN_WIDTHS=--ngf 8 --ndf 8 --threads 1")
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
# The sentences to birds: one row of 8 samples per sentence of sentences.tsv, labelled.
n=$(grep -c . "$T2I_SRC/pipelines/quickstart/sentences.tsv")
samples=$(png-to-tensor "$TMP/out/samples.png" | tensor-info --no-stats | awk -F'\t' 'NR==2 {print $3}')
[[ "$samples" == "[3,$((2 + n * 66)),"* ]] || fail "samples.png is $samples, expected $n rows of 64-pixel tiles"
# The shipped model's picture: the same rows, drawn first.
shipped=$(png-to-tensor "$TMP/out/shipped.png" | tensor-info --no-stats | awk -F'\t' 'NR==2 {print $3}')
[ "$shipped" = "$samples" ] || fail "shipped.png is $shipped, expected $samples like samples.png"
tensor-info "$TMP/out/gan.st" > "$TMP/gan-info.txt"
grep -qP '^# metadata\tmodel\tt2igan-gan$' "$TMP/gan-info.txt" || fail "gan.st is not a GAN checkpoint"
grep -qP '^# metadata\ttrain.variant\tint-cls$' "$TMP/gan-info.txt" || fail "gan.st is not GAN-INT-CLS"
# A second make has nothing to do.
make -q -C "$T2I_SRC/pipelines/quickstart" "${args[@]}" "$TMP/out/shipped.png" "$TMP/out/look.png" "$TMP/out/info.txt" "$TMP/out/check.txt" "$TMP/out/samples.png" \
  || fail "a second make would redo work"
pass "quickstart pipeline"
