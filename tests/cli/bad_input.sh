#!/usr/bin/env bash
# Every malformed stream and checkpoint of tests/data/bad gets one clear error line and exit
# status 2 from every tool that reads it, from a file and from a pipe: no crash, no hang, no
# giant allocation (run under a 2 GiB address-space limit and a time limit).
. "$(dirname "$0")/lib.sh"
mkdir "$TMP/work" && cd "$TMP/work"

limit() { ( ulimit -v 2097152; exec timeout 30 "$@" ); }

# run_bad TOOL-NAME FRAGMENT CMD...: exit 2, one line "TOOL-NAME: error: ...", FRAGMENT in it.
run_bad() {
  local tool=$1 fragment=$2; shift 2
  expect_exit 2 limit "$@"
  grep -q "^$tool: error: " "$TMP/err" || fail "$*: not a '$tool: error:' line: $(cat "$TMP/err")"
  [ -z "$fragment" ] || grep -qF -- "$fragment" "$TMP/err" || fail "$*: expected '$fragment' in: $(cat "$TMP/err")"
}

n=0
while IFS=$'\t' read -r file kind fragment; do
  case "$file" in '#'*|'') continue ;; esac
  f="$DATA/bad/$file"
  case "$kind" in
    stream)
      run_bad tensor-info "$fragment" tensor-info "$f"
      grep -qF "$f: offset " "$TMP/err" || fail "no file and offset in: $(cat "$TMP/err")"
      run_bad tensor-info "" sh -c 'cat "$1" | tensor-info' sh "$f"
      grep -qF "<stdin>: offset " "$TMP/err" || fail "no offset in: $(cat "$TMP/err")"
      run_bad tensor-info "" sh -c 'cat "$1" | tensor-info --no-stats' sh "$f"
      run_bad tensor-select "$fragment" tensor-select -i "$f" -o out.t2i
      [ ! -e out.t2i ] || fail "tensor-select left out.t2i after failing on $file"
      run_bad tensor-to-png "" tensor-to-png pngs -i "$f"
      run_bad montage "" montage -i "$f" -o grid.png
      [ ! -e grid.png ] || fail "montage wrote grid.png for $file"
      ;;
    join)
      tensor-info "$f" > /dev/null || fail "$file is a valid sequential stream"
      ;;
    checkpoint)
      run_bad tensor-info "$fragment" tensor-info --format safetensors "$f"
      run_bad tensor-info "" tensor-info "$f"
      ;;
    *) fail "unknown kind $kind" ;;
  esac
  n=$((n + 1))
done < "$DATA/bad/EXPECTED.tsv"
[ "$n" -ge 30 ] || fail "only $n corpus files"
[ -z "$(ls -A | grep -v '^pngs$' || true)" ] || fail "files left behind: $(ls -A)"
pass "$n malformed files rejected cleanly"

# Usage errors: one line, exit 1, for every tool.
for tool in $T2I_TOOLS; do
  expect_exit 1 "$tool" --no-such-option
  grep -q "^$tool: error: .*see $tool --help" "$TMP/err" || fail "$tool usage error: $(cat "$TMP/err")"
done
pass "usage errors"
