#!/usr/bin/env bash
# tests/gpu/gan-probe, the GPU's probe-along-a-GAN-run script, with the cpu backend and tiny sizes:
# every chunk is trained, resumed, probed and scored (--eval), so the script cannot rot where no GPU is.
. "$(dirname "$0")/lib.sh"
script="$T2I_SRC/tests/gpu/gan-probe"
"$T2I_MAKE_TEXT_MODEL" "$TMP/text.st" 1 || fail "t2i_make_text_model"
"$script" --text-model "$TMP/text.st" --build-dir "$T2I_BUILD" --backend cpu --count 300 --size 64 --chunk 2 \
  --epochs 3 --style-options "--epochs 1 --batch 32" --style-ensemble 2 --probe-options "--pairs 400 --clusters 8" --out "$TMP/p" \
  --eval --eval-keys 6 --judge-options "--epochs 2 --ndf 4 --feat-dim 16 --batch 32" \
  -- --ngf 8 --ndf 8 --batch 32 --threads 2 > "$TMP/table" 2> "$TMP/log" || { cat "$TMP/log"; fail "gan-probe on cpu"; }
# Chunks end at epochs 2 and 3 (the last is shorter); each is probed: AU-ROCs in [0,1], R^2 at most 1.
[ "$(tail -n +2 "$TMP/table" | cut -f1 | tr '\n' ' ')" = "2 3 " ] || fail "epochs probed: $(cat "$TMP/table")"
tail -n +2 "$TMP/table" | awk -F'\t' 'NF != 10 { exit 1 } { for (i = 3; i <= 8; i++) if ($i !~ /^[0-9.]+$/ || $i > 1) exit 1
                                    for (i = 9; i <= 10; i++) if ($i !~ /^-?[0-9.]+$/ || $i > 1) exit 1 }' \
  || fail "probe figures: $(cat "$TMP/table")"
# --style-ensemble 2: two style encoders a chunk, of seeds 1 and 2, and the probe read the mean of
# their z (what invert-style apply gives with both models).
for k in 1 2; do
  grep -qP "^# metadata\ttrain\.seed\t$k\$" <(tensor-info "$TMP/p/style-3.$k.st") || fail "style-3.$k.st: not seed $k"
done
[ ! -e "$TMP/p/style-3.st" ] || fail "style-3.st beside the ensemble's encoders"
invert-style apply -q -m "$TMP/p/style-3.1.st" -m "$TMP/p/style-3.2.st" -o "$TMP/z-mean.t2i" < "$TMP/p/img-test.t2i" \
  && cmp -s "$TMP/z-mean.t2i" "$TMP/p/z-3.t2i" || fail "z-3.t2i: not the two encoders' mean"
# The options reach train-gan, and the second chunk resumed the first.
info=$(tensor-info "$TMP/p/gan-3.st")
grep -qP '^# metadata\ttrain\.epoch\t3$' <<< "$info" || fail "gan-3.st epoch"
grep -P '^# metadata\ttrain\.commands\t' <<< "$info" | grep -q -- '--ngf 8 .*--resume' || fail "gan-3.st: not resumed with the options"
# The losses of every minibatch of the three epochs, one log across the chunks.
awk -F'\t' 'NR > 1 { if ($3 != NR - 1) exit 1; e = $1 } END { if (e != 3) exit 1 }' "$TMP/p/gan-losses.tsv" \
  || fail "gan-losses.tsv: not every minibatch of the 3 epochs"
# --eval: both chunks scored on the unseen classes, figures in range, the same real ceiling in
# every row; the samples are 4 of each of the 6 + 6 drawn keys; the judge took its options.
[ "$(tail -n +2 "$TMP/p/eval.tsv" | cut -f1 | tr '\n' ' ')" = "2 3 " ] || fail "epochs scored: $(cat "$TMP/p/eval.tsv")"
tail -n +2 "$TMP/p/eval.tsv" | awk -F'\t' 'NF != 8 { exit 1 } { for (i = 2; i <= 5; i++) if ($i !~ /^[0-9.]+$/ || $i > 1) exit 1
                                          for (i = 6; i <= 8; i++) if ($i !~ /^[0-9.]+$/) exit 1; real[$3 "/" $5] = 1 }
                                          END { if (length(real) != 1) exit 1 }' || fail "eval figures: $(cat "$TMP/p/eval.tsv")"
[ "$(tensor-info --no-stats "$TMP/p/samples-3.t2i" | awk -F'\t' 'NR > 1 && !/^#/' | wc -l)" -eq 48 ] || fail "samples-3.t2i: not 4 samples of 12 keys"
[ "$(wc -l < "$TMP/p/eval-keys.txt")" -eq 12 ] && [ "$(grep -cFf <(sed 's/$/\//' "$TMP/p/birds/testclasses.txt") "$TMP/p/eval-keys.txt")" -eq 6 ] \
  || fail "eval keys: not 6 seen and 6 unseen: $(cat "$TMP/p/eval-keys.txt")"
# (train-judge saves after every epoch: the script scores with judge.st only once it is renamed
# from judge.part.st at the end, so every row has the same, finished judge.)
info=$(tensor-info "$TMP/p/judge.st")
grep -qP '^# metadata\ttrain\.commands\t.*--ndf 4 ' <<< "$info" && grep -qP '^# metadata\ttrain\.epoch\t2$' <<< "$info" \
  && [ ! -e "$TMP/p/judge.part.st" ] || fail "judge.st: not the finished judge of --judge-options"
pass "gan-probe: two chunks trained, probed and scored"
# Without --style-ensemble: one encoder a chunk, seed 1, as the README's GPU tables had.
"$script" --text-model "$TMP/text.st" --build-dir "$T2I_BUILD" --backend cpu --count 300 --size 64 --chunk 1 \
  --epochs 1 --style-options "--epochs 1 --batch 32" --probe-options "--pairs 400 --clusters 8" --out "$TMP/one" \
  -- --ngf 8 --ndf 8 --batch 32 --threads 2 > /dev/null 2> "$TMP/log" || { cat "$TMP/log"; fail "gan-probe, one encoder"; }
grep -qP '^# metadata\ttrain\.seed\t1$' <(tensor-info "$TMP/one/style-1.st") && [ ! -e "$TMP/one/style-1.1.st" ] \
  || fail "one encoder: not style-1.st of seed 1"
invert-style apply -q -m "$TMP/one/style-1.st" -o "$TMP/z-one.t2i" < "$TMP/one/img-test.t2i" \
  && cmp -s "$TMP/z-one.t2i" "$TMP/one/z-1.t2i" || fail "z-1.t2i: not the one encoder's z"
pass "gan-probe: one style encoder by default"
rc=0; "$script" --build-dir "$T2I_BUILD" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "no --text-model: exit $rc"
rc=0; "$script" --text-model "$TMP/text.st" --build-dir "$T2I_BUILD" --chunk 0 > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--chunk 0: exit $rc"
rc=0; "$script" --text-model "$TMP/text.st" --build-dir "$T2I_BUILD" --style-ensemble 0 > /dev/null 2> "$TMP/log" || rc=$?
[ $rc -eq 2 ] && grep -q -- '--style-ensemble must be 1 to 20' "$TMP/log" || fail "--style-ensemble 0: exit $rc, $(cat "$TMP/log")"
rc=0; "$script" --text-model "$TMP/text.st" --build-dir "$T2I_BUILD" --eval --eval-keys 0 > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--eval-keys 0: exit $rc"
rc=0; "$script" --text-model "$TMP/text.st" --build-dir "$T2I_BUILD" --eval --eval-text-model "$TMP/none.st" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--eval-text-model of no file: exit $rc"
rc=0; "$script" --text-model "$TMP/text.st" --build-dir "$T2I_BUILD" --eval-keys 5 > /dev/null 2> "$TMP/log" || rc=$?
[ $rc -eq 2 ] && grep -q -- '--eval-keys needs --eval' "$TMP/log" || fail "--eval-keys without --eval: exit $rc, $(cat "$TMP/log")"
"$script" --help | grep -q '^Exit status' || fail "--help does not print the whole header"
rc=0; "$script" --text-model "$TMP/text.st" --build-dir "$T2I_BUILD" --backend cpu --count 300 --size 64 --chunk 1 \
  --epochs 1 --out "$TMP/bad" -- --ngf 0 > /dev/null 2> "$TMP/log" || rc=$?
[ $rc -eq 1 ] || fail "a failing train-gan: exit $rc; $(cat "$TMP/log")"
grep -q "train-gan failed" "$TMP/log" || fail "the failure is not named: $(cat "$TMP/log")"
pass "gan-probe: usage errors and a failing run"
