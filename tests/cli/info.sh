#!/usr/bin/env bash
# tensor-info: the table, keys, summaries, header-only mode on files and pipes, checkpoints.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

png-to-tensor "$DATA/images" > in.t2i
tensor-info in.t2i > table.txt
[ "$(head -1 table.txt)" = $'key\tdtype\tshape\tmin\tmean\tmax\tnonfinite' ] || fail "header: $(head -1 table.txt)"
grep -q $'^grey8\tuint8\t\\[1,9,13\\]\t0\t122.812\t253\t0$' table.txt || fail "grey8 row: $(cat table.txt)"
grep -q '^# in.t2i: 6 records, 1872 bytes of data, dtypes uint8:6, 0 non-finite values$' table.txt || fail "summary: $(tail -1 table.txt)"
pass "table and summary"

[ "$(tensor-info --keys < in.t2i | wc -l)" -eq 6 ] || fail "--keys"
[ "$(tensor-info --summary in.t2i)" = "# in.t2i: 6 records, 1872 bytes of data, dtypes uint8:6, 0 non-finite values" ] || fail "--summary"
# Header-only mode over a file (seeks) and a pipe (reads and discards) agree.
tensor-info --no-stats in.t2i | sed 1d | sed '$d' > seek.txt
cat in.t2i | tensor-info --no-stats | sed 1d | sed '$d' > pipe.txt
same_file seek.txt pipe.txt
[ "$(wc -l < seek.txt)" -eq 6 ] || fail "--no-stats rows"
# Several inputs, and '-' for stdin among them.
[ "$(tensor-info --summary in.t2i - < in.t2i | wc -l)" -eq 2 ] || fail "two inputs"
# Concatenated streams are one stream.
cat in.t2i in.t2i | tensor-info --summary | grep -q " 12 records" || fail "concatenation"
# An empty stream is valid.
[ "$(tensor-info --summary < /dev/null)" = "# <stdin>: 0 records, 0 bytes of data, dtypes none, 0 non-finite values" ] || fail "empty"
pass "keys, summary, header-only, several inputs"

expect_exit 1 tensor-info --keys --summary in.t2i
expect_exit 1 tensor-info --format npz in.t2i
expect_exit 2 tensor-info no-such-file.t2i
grep -q "no-such-file.t2i: cannot open" "$TMP/err" || fail "$(cat "$TMP/err")"
expect_exit 2 tensor-info "$DATA"
grep -q "is a directory" "$TMP/err" || fail "$(cat "$TMP/err")"
pass "errors"
