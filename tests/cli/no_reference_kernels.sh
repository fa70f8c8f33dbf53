#!/usr/bin/env bash
# oneDNN runs every primitive of a training iteration and of inference on an optimised kernel:
# a "ref:" implementation in its verbose log is 10 to 100 times slower (PERFORMANCE facts),
# which blocked layouts avoid. Checked at the paper's widths on a small batch.
. "$(dirname "$0")/lib.sh"
for arch in plain v2; do
  ONEDNN_VERBOSE=1 bench-gan --arch "$arch" --batch 4 --iters 1 --warmup 0 -q > "$TMP/verbose.txt"
  grep -q "^onednn_verbose,exec" "$TMP/verbose.txt" || fail "no oneDNN verbose output"
  if grep "^onednn_verbose,exec" "$TMP/verbose.txt" | grep -q ",ref:"; then
    grep "^onednn_verbose,exec" "$TMP/verbose.txt" | grep ",ref:" | sort -u | head >&2
    fail "$arch: reference oneDNN kernels in the hot path"
  fi
  pass "$arch: $(grep -c '^onednn_verbose,exec' "$TMP/verbose.txt") primitive executions, none on a reference kernel"
done
