#!/usr/bin/env bash
# Every tool answers --help (usage, example pipeline, see also) and --version, has a man page,
# and every option its --help prints is documented in that page.
. "$(dirname "$0")/lib.sh"

[ -n "${T2I_TOOLS:-}" ] || fail "T2I_TOOLS is empty"
for tool in $T2I_TOOLS; do
  page="$T2I_SRC/man/man1/$tool.1"
  [ -f "$page" ] || fail "no man page $page"
  help=$("$tool" --help) || fail "$tool --help failed"
  for part in "Usage: $tool" "e.g.:" "See also:" "Exit status:"; do
    grep -qF "$part" <<<"$help" || fail "$tool --help lacks '$part'"
  done
  "$tool" --version | grep -q "^$tool (t2igan) " || fail "$tool --version"
  grep -q "^\.TH ${tool^^} 1 " "$page" || fail "$page: no .TH line for ${tool^^}"
  options=$(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u)
  [ -n "$options" ] || fail "$tool --help lists no options"
  for opt in $options; do
    grep -qF -- "\\-\\-${opt#--}" "$page" || fail "$page does not document $opt"
  done
  pass "$tool: --help, --version and man page ($(wc -w <<<"$options") options)"
done
page="$T2I_SRC/man/man5/t2i-stream.5"
[ -f "$page" ] || fail "no $page"
grep -q "^\.TH T2I-STREAM 5 " "$page" || fail "$page: no .TH line"
pass "t2i-stream(5)"
