# Shared by the CLI tests: strict mode, a scratch directory, the tools on PATH, and checks.
set -euo pipefail
: "${T2I_BIN:?set T2I_BIN to the directory of the built tools}"
: "${T2I_SRC:?set T2I_SRC to the source tree}"
export PATH="$T2I_BIN:$PATH"
DATA="$T2I_SRC/tests/data"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/t2i-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export T2I_PROGRESS_INTERVAL=1000

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# expect_exit CODE CMD...: runs CMD (stdout discarded), checks the exit status and that stderr
# holds exactly one line, the tool's error line. Leaves stderr in $TMP/err.
expect_exit() {
  local want=$1; shift
  local rc=0
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want; stderr: $(cat "$TMP/err")"
  [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "$*: expected one line on stderr, got: $(cat "$TMP/err")"
}

# same_file A B: byte-identical.
same_file() { cmp -s "$1" "$2" || fail "$1 and $2 differ"; }

# same_model A B: two safetensors checkpoints with the same tensors (same bytes) and the same
# metadata except train.commands, the command lines that made each (a resumed run adds its own,
# and another -o name is another command).
same_model() {
  "${PY:-${T2I_PYTHON3:-python3}}" - "$1" "$2" <<'PYEOF' || fail "$1 and $2 differ"
import json, struct, sys
def parts(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h["__metadata__"].pop("train.commands", None)
    return h, b[8 + n:]
(ha, da), (hb, db) = parts(sys.argv[1]), parts(sys.argv[2])
assert ha == hb, "headers differ: " + str({k: (ha.get(k), hb.get(k)) for k in set(ha) | set(hb) if ha.get(k) != hb.get(k)})[:600]
assert da == db, "tensor data differ"
PYEOF
}

# need_numpy: the tests that check numbers with NumPy skip (CTest code 77) without it; sets PY
# and puts tests/cli (t2i_stream.py) on PYTHONPATH.
need_numpy() {
  PY="${T2I_PYTHON3:-python3}"
  if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "skipped: $PY has no numpy"
    exit 77
  fi
  export PYTHONPATH="$T2I_SRC/tests/cli${PYTHONPATH:+:$PYTHONPATH}"
}
