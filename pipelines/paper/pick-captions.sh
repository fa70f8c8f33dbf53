#!/usr/bin/env bash
# pick-captions.sh CAPTIONS STRIDE OFFSET COUNT PREFIX: from a list-captions file (image-key TAB
# caption, an image's captions together), the first caption of every STRIDE-th image starting
# at the (OFFSET mod STRIDE + 1)-th, COUNT of them, keyed PREFIX1, PREFIX2, ... One awk reads the
# whole file (no head: under pipefail a closed pipe would kill the writer with SIGPIPE).
# Fails (exit 2, one line) when the file has fewer such images than COUNT.
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: pick-captions.sh CAPTIONS STRIDE OFFSET COUNT PREFIX" >&2; exit 1; }
for n in "$2" "$3" "$4"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "pick-captions.sh: '$n' is not a whole number" >&2; exit 1; }
done
[ "$2" -ge 1 ] || { echo "pick-captions.sh: STRIDE must be at least 1" >&2; exit 1; }
awk -F'\t' -v s="$2" -v o="$3" -v n="$4" -v p="$5" -v f="$1" '
  BEGIN { o = o % s }
  !seen[$1]++ { if (i++ % s == o && k < n) print p (++k) "\t" $2 }
  END { if (k < n) { printf "pick-captions.sh: %s has only %d images at stride %d from image %d, not %d\n", f, k, s, o + 1, n > "/dev/stderr"; exit 2 } }' "$1"
