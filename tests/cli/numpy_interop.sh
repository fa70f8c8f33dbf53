#!/usr/bin/env bash
# Streams and checkpoints cross between the toolkit and NumPy in both directions.
. "$(dirname "$0")/lib.sh"
PY="${T2I_PYTHON3:-python3}"
if ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "skipped: $PY has no numpy (pipelines/install-deps installs python3-numpy)"
  exit 77
fi
exec "$PY" "$T2I_SRC/tests/cli/numpy_interop.py" "$TMP"
