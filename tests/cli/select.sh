#!/usr/bin/env bash
# tensor-select: by key list, glob, regex, parent keys, inversion, head and seeded sampling.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

# A stream of 20 images with grouped keys: c0/0 .. c3/4.
png-to-tensor "$DATA/images/rgb8.png" > one.t2i
for c in 0 1 2 3; do for i in 0 1 2 3 4; do sed "s/^rgb8 /c$c\/$i /" one.t2i; done; done > all.t2i
[ "$(tensor-info --keys all.t2i | wc -l)" -eq 20 ] || fail "setup"
keys() { tensor-info --keys | tr '\n' ' '; }

printf 'c1/2\tcaption text ignored\n# comment\n\nc3/4\nmissing\n' > list.txt
[ "$(tensor-select --keys list.txt < all.t2i | keys)" = "c1/2 c3/4 " ] || fail "--keys"
[ "$(tensor-select --match 'c2/*' --match 'c0/0' < all.t2i | keys)" = "c0/0 c2/0 c2/1 c2/2 c2/3 c2/4 " ] || fail "--match"
[ "$(tensor-select --regex 'c[13]/[0-1]' < all.t2i | keys)" = "c1/0 c1/1 c3/0 c3/1 " ] || fail "--regex"
printf 'c1\n' > parents.txt
[ "$(tensor-select --keys parents.txt --parent < all.t2i | keys)" = "c1/0 c1/1 c1/2 c1/3 c1/4 " ] || fail "--parent"
[ "$(tensor-select --keys parents.txt < all.t2i | keys)" = "" ] || fail "without --parent, c1 matches nothing"
[ "$(tensor-select --match 'c[0-2]*' --invert < all.t2i | keys)" = "c3/0 c3/1 c3/2 c3/3 c3/4 " ] || fail "--invert"
[ "$(tensor-select --head 3 < all.t2i | keys)" = "c0/0 c0/1 c0/2 " ] || fail "--head"
pass "keys, globs, regexes, parents, invert, head"

# Sampling: the requested count, in stream order, the same for a seed, different across seeds.
tensor-select --sample 5 --seed 7 < all.t2i | keys > s7a
tensor-select --sample 5 --seed 7 < all.t2i | keys > s7b
tensor-select --sample 5 --seed 8 < all.t2i | keys > s8
same_file s7a s7b
[ "$(wc -w < s7a)" -eq 5 ] || fail "sample size"
cmp -s s7a s8 && fail "seeds 7 and 8 gave the same sample"
[ "$(tr ' ' '\n' < s7a | sed '/^$/d' | sort -c 2>&1 && echo sorted)" = sorted ] || fail "sample not in stream order"
[ "$(tensor-select --sample 50 < all.t2i | keys | wc -w)" -eq 20 ] || fail "sample larger than stream"
pass "seeded sampling"

# Data passes through untouched.
tensor-select --match 'c2/3' < all.t2i | sed 's/^c2\/3 /rgb8 /' > back.t2i
same_file one.t2i back.t2i
tensor-select -i all.t2i -o copy.t2i
same_file all.t2i copy.t2i
pass "records pass through byte for byte"

# --reorder: the order of the key file, from a file (random access) or a pipe (held in memory).
printf 'c3/1\nc0/4\nc2/2\n' > order.txt
[ "$(tensor-select --keys order.txt --reorder -i all.t2i | keys)" = "c3/1 c0/4 c2/2 " ] || fail "--reorder from a file"
[ "$(cat all.t2i | tensor-select --keys order.txt --reorder --head 2 | keys)" = "c3/1 c0/4 " ] || fail "--reorder from a pipe"
cat all.t2i all.t2i > twice.t2i
expect_exit 2 tensor-select --keys order.txt --reorder -i twice.t2i
grep -q "duplicate key 'c0/0'" "$TMP/err" || fail "$(cat "$TMP/err")"
expect_exit 2 tensor-select --keys list.txt --reorder --require-all -i all.t2i
expect_exit 1 tensor-select --reorder -i all.t2i
expect_exit 1 tensor-select --keys order.txt --reorder --invert -i all.t2i
pass "--reorder joins by key"

# Errors: listed keys that are missing, bad regexes, contradictory options.
expect_exit 2 tensor-select --keys list.txt --require-all -i all.t2i
grep -q "key 'missing' listed in list.txt is not in the stream" "$TMP/err" || fail "$(cat "$TMP/err")"
expect_exit 1 tensor-select --regex '([' -i all.t2i
expect_exit 1 tensor-select --invert -i all.t2i
expect_exit 1 tensor-select --require-all -i all.t2i
expect_exit 2 tensor-select --keys no-such-file -i all.t2i
pass "errors"

# A failed run leaves an existing output file as it was, and no temporary file.
cp one.t2i keep.t2i
cat all.t2i "$DATA/bad/bad-magic.t2i" > broken.t2i
expect_exit 2 tensor-select -i broken.t2i -o keep.t2i
same_file one.t2i keep.t2i
[ -z "$(ls -A | grep tmp || true)" ] || fail "temporary file left: $(ls -A)"
pass "failed runs corrupt nothing"

# Interrupted by a signal, a tool removes its temporary output file and writes nothing.
mkfifo fifo
tensor-select -i fifo -o killed.t2i 2>/dev/null &
pid=$!
exec 3> fifo
cat one.t2i >&3
for _ in $(seq 50); do ls -A | grep -q '^\.killed\.t2i\.tmp-' && break; sleep 0.1; done
ls -A | grep -q '^\.killed\.t2i\.tmp-' || fail "no temporary file while writing"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
exec 3>&-
[ "$rc" -eq 143 ] || fail "expected death by SIGTERM (143), got $rc"
[ -z "$(ls -A | grep -E 'killed' || true)" ] || fail "left behind: $(ls -A | grep killed)"
pass "a signal leaves no temporary file"
