#!/usr/bin/env bash
# The quickstart pipeline runs end to end on the built tools (small settings), so it cannot rot.
. "$(dirname "$0")/lib.sh"
PY="${T2I_PYTHON3:-python3}"
if ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "skipped: $PY has no numpy (pipelines/install-deps installs python3-numpy)"
  exit 77
fi
make -s -C "$T2I_SRC/pipelines/quickstart" BIN="$T2I_BIN" OUT="$TMP/out" PYTHON="$PY" PER_CLASS=6 SIZE=32 -j2 > "$TMP/make.log" 2>&1 \
  || { cat "$TMP/make.log"; fail "quickstart pipeline"; }
# 4 rows of 32-pixel tiles, 2-pixel padding: 2 + 4 * 34 high; a label column for "stripes"
# (7 glyphs of 12 pixels at scale 2, plus padding) and 4 tiles: 2 + 86 + 4 * 34 wide.
grid=$(png-to-tensor "$TMP/out/grid.png" | tensor-info --no-stats | awk -F'\t' 'NR==2 {print $3}')
[ "$grid" = "[3,138,224]" ] || fail "grid.png is $grid"
grep -q " 24 records" "$TMP/out/info.txt" || fail "info.txt: $(cat "$TMP/out/info.txt")"
[ "$(find "$TMP/out/pngs" -name '*.png' | wc -l)" -eq 24 ] || fail "expected 24 PNGs"
grep -q " 24 records" "$TMP/out/roundtrip.ok" || fail "roundtrip"
# A second make has nothing to do.
make -q -C "$T2I_SRC/pipelines/quickstart" BIN="$T2I_BIN" OUT="$TMP/out" PYTHON="$PY" PER_CLASS=6 SIZE=32 \
  "$TMP/out/grid.png" "$TMP/out/info.txt" "$TMP/out/roundtrip.ok" || fail "a second make would redo work"
pass "quickstart pipeline"
