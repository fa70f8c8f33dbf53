# Shared by the long-run scripts of tests/gpu (text-zeroshot, gan-probe): functions only,
# sourced before the script parses its arguments. Each function exits the script on failure
# (2: usage or setup, 1: a tool failed). ME must name the script for the error lines.

# usage: the script's help, its header comment up to the first line that is not one.
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }

# whole_numbers VALUE...: each a whole number, or exit 2.
whole_numbers() {
  local v
  for v in "$@"; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "$ME: expected a whole number, got '$v'" >&2; exit 2; }
  done
}

# use_build DIR TOOL: DIR/tools (which must hold TOOL) first on PATH.
use_build() {
  local dir
  dir=$(cd "$1" 2>/dev/null && pwd) || { echo "$ME: no build directory $1" >&2; exit 2; }
  [ -x "$dir/tools/$2" ] || { echo "$ME: no tools in $dir/tools" >&2; exit 2; }
  export PATH="$dir/tools:$PATH"
}

# enter_out DIR: cd into DIR (made; a fresh temporary folder when empty); sets out to its path
# and starts the clock of el and log.
enter_out() {
  out=$1
  [ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/t2i-$ME.XXXXXX")
  mkdir -p "$out" && out=$(cd "$out" && pwd) && cd "$out" || exit 2
  t0=$(date +%s)
}
el() { echo $(( $(date +%s) - t0 )); }             # seconds since enter_out
log() { echo "[$(el) s] $*" >&2; }

# render_birds COUNT SIZE LOG: the rendered birds (make-birds, seed 1) in ./birds, packed by
# Reed's split as the paper recipe packs them: img-trainval.t2i, img-test.t2i (uint8 [3,76,76])
# and cap-trainval.tsv, cap-test.tsv; the tools' errors appended to LOG.
render_birds() {
  log "rendering $1 birds of $2 px"
  make-birds -q --out birds --count "$1" --size "$2" --seed 1 2>> "$3" || { tail -n 3 "$3" >&2; exit 1; }
  local s
  for s in trainval test; do
    { pack-images -q birds --split $s --size 76 -o img-$s.t2i && list-captions -q birds --split $s -o cap-$s.tsv; } \
      2>> "$3" || { tail -n 3 "$3" >&2; exit 1; }
  done
}
