#!/usr/bin/env bash
# tests/gpu/text-zeroshot, the GPU's zero-shot curve script, with the cpu backend and tiny sizes:
# every chunk of every run is trained, resumed and scored, so the script cannot rot where no GPU is.
. "$(dirname "$0")/lib.sh"
script="$T2I_SRC/tests/gpu/text-zeroshot"
tiny=(--c1 16 --c2 16 --c3 16 --emb-dim 24 --image-ndf 4)
"$script" --build-dir "$T2I_BUILD" --backend cpu --count 300 --size 64 --epochs 3 --every 2 \
  --run "a=--lr-decay 0.99" --run "b=--lr-decay 0.995 --seed 2" --out "$TMP/z" -- "${tiny[@]}" \
  > "$TMP/table" 2> "$TMP/log" || { cat "$TMP/log"; fail "text-zeroshot on cpu"; }
# Two runs, checkpoints after epochs 2 and 3 (the last chunk is shorter), each scored both ways.
[ "$(tail -n +2 "$TMP/table" | cut -f1,2 | tr '\t\n' ': ')" = "a:2 a:3 b:2 b:3 " ] \
  || fail "runs and epochs scored: $(cat "$TMP/table")"
tail -n +2 "$TMP/table" | awk -F'\t' 'NF != 7 { exit 1 } { for (i = 4; i <= 7; i++) if ($i !~ /^[0-9.]+$/ || $i < 0 || $i > 1) exit 1 }' \
  || fail "scores: $(cat "$TMP/table")"
# The run's options reach train-text, and the chunks resume: the last checkpoint says epoch 3, of
# a run with decay 0.995 and seed 2, and its command lines are the first chunk's and a --resume.
info=$(tensor-info "$TMP/z/b.st")
grep -qP '^# metadata\ttrain\.epoch\t3$' <<< "$info" || fail "b.st epoch"
grep -qP '^# metadata\ttrain\.lr_decay\t0\.99(5|499)' <<< "$info" || fail "b.st lr_decay: $(grep lr_decay <<< "$info")"
grep -P '^# metadata\ttrain\.commands\t' <<< "$info" | grep -q -- '--resume' || fail "b.st was not resumed"
pass "text-zeroshot: two runs, two chunks each, all scored"
# A failing run is reported with the script's status 1; usage errors are 2.
rc=0
"$script" --build-dir "$T2I_BUILD" --backend cpu --count 300 --size 64 --epochs 1 --every 1 \
  --run "bad=--lr-decay 7" --out "$TMP/bad" > /dev/null 2> "$TMP/log" || rc=$?
[ $rc -eq 1 ] || fail "a run with a bad option: exit $rc; $(cat "$TMP/log")"
grep -q "bad: train-text failed" "$TMP/log" || fail "bad run not named: $(cat "$TMP/log")"
rc=0; "$script" --run "no-equals" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--run without NAME=: exit $rc"
rc=0; "$script" --build-dir "$T2I_BUILD" --epochs x > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--epochs x: exit $rc"
rc=0; "$script" --build-dir "$T2I_BUILD" --every 0 > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--every 0: exit $rc"
"$script" --help | grep -q '^Exit status' || fail "--help does not print the whole header"
pass "text-zeroshot: failures and usage errors; --help"
