#!/usr/bin/env bash
# cmake --install puts every tool in bin/ and every man page in share/man, and the installed
# tools run from there.
. "$(dirname "$0")/lib.sh"
: "${T2I_BUILD:?set T2I_BUILD to the build directory}"
cmake --install "$T2I_BUILD" --prefix "$TMP/prefix" > /dev/null
for tool in $T2I_TOOLS; do
  [ -x "$TMP/prefix/bin/$tool" ] || fail "bin/$tool not installed"
  [ -f "$TMP/prefix/share/man/man1/$tool.1" ] || fail "man1/$tool.1 not installed"
  "$TMP/prefix/bin/$tool" --version > /dev/null || fail "installed $tool does not run"
done
[ -f "$TMP/prefix/share/man/man5/t2i-stream.5" ] || fail "man5/t2i-stream.5 not installed"
pass "install layout"
