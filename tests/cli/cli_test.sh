#!/usr/bin/env bash
# End-to-end tests of the bruce CLI on real store files.
#
#   bash tests/cli/cli_test.sh path/to/bruce
#
# Every check states what it expected; the first failure stops the script
# with exit 1. Needs python3 (to generate data and parse JSON).
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 path/to/bruce" >&2; exit 2; }
BRUCE=$(realpath "$1")
[[ -x $BRUCE ]] || { echo "not executable: $BRUCE" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"

step() { echo "--- $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
b() { "$BRUCE" "$@"; }

# expect CODE CMD...: runs CMD with stdout in ./out and stderr in ./err and
# fails unless it exits with CODE.
expect() {
  local want=$1 rc=0
  shift
  "$@" >out 2>err || rc=$?
  [[ $rc == "$want" ]] ||
    fail "expected exit $want, got $rc from: $* (stderr: $(head -c 500 err))"
}
# An engine or lookup error is exactly one "bruce: ..." line on stderr.
expect_one_error_line() {
  [[ $(wc -l <err) == 1 ]] || fail "expected one stderr line for $1, got: $(cat err)"
  grep -q '^bruce: ' err || fail "stderr of $1 should start with 'bruce: ': $(cat err)"
}
same() {  # same FILE1 FILE2 WHAT
  cmp -s "$1" "$2" || fail "$3: $1 and $2 differ: $(diff <(od -c "$1") <(od -c "$2") | head -20)"
}
eq() {  # eq GOT WANT WHAT
  [[ $1 == "$2" ]] || fail "$3: got '$1', want '$2'"
}

step "help"
for h in --help help; do
  expect 0 b $h
  for c in create put get cat write truncate del load dump ls count rank nth stat check \
           root-hash trees 'snapshot create' 'snapshot destroy' 'snapshot rollback' \
           'snapshot list'; do
    grep -q "^  $c " out || fail "bruce $h does not list command $c"
  done
done
expect 0 b get --help
grep -q 'usage: bruce get STORE KEY' out || fail "bruce get --help: $(cat out)"
for h in 'snapshot --help' 'help snapshot'; do
  expect 0 b $h
  for c in create destroy rollback list; do
    grep -q "usage: bruce snapshot $c STORE" out || fail "bruce $h: no usage of $c: $(cat out)"
  done
done
expect 0 b snapshot list --help
grep -q 'usage: bruce snapshot list STORE \[--json\]' out || fail "snapshot list --help: $(cat out)"

step "usage errors exit 2"
expect 2 b
expect 2 b frobnicate s
grep -q "unknown command" err || fail "unknown command message: $(cat err)"
expect 2 b get
expect 2 b get s
expect 2 b get s k extra
expect 2 b ls s --bogus
expect 2 b ls s --limit
expect 2 b ls s --limit ten
expect 2 b ls s --offset -1
expect 2 b nth s x
expect 2 b stat s --json=yes
expect 2 b create s --page-size 1000
expect 2 b create s --page-size 131072
expect 2 b get --escaped s 'bad\q'
expect 2 b get s k --snapshot
expect 2 b cat s k --offset x
expect 2 b cat s k --length -1
expect 2 b write s k --offset -1
expect 2 b write s k --offset $(( (1 << 44) + 1 ))
expect 2 b write s k --snapshot a
expect 2 b truncate s k
expect 2 b truncate s k ten
expect 2 b truncate s k $(( (1 << 44) + 1 ))
expect 2 b check s --json=1
expect 2 b snapshot
grep -q 'missing subcommand' err || fail "snapshot without subcommand: $(cat err)"
expect 2 b snapshot frob s
grep -q "unknown command 'snapshot frob'" err || fail "unknown snapshot subcommand: $(cat err)"
expect 2 b snapshot create s
expect 2 b snapshot create s a b
expect 2 b snapshot list s --tree x
[[ ! -e s ]] || fail "a usage error created the store"

step "create"
expect 0 b create s
[[ -s s ]] || fail "create made no file"
expect 3 b create s
expect_one_error_line "create on an existing store"
expect 0 b count s
eq "$(cat out)" 0 "count of a new store"
expect 0 b create s8k --page-size 8192
expect 0 b stat s8k --json
python3 -c 'import json,sys; assert json.load(sys.stdin)["page_size"] == 8192' <out ||
  fail "create --page-size 8192 made page size: $(cat out)"
expect 3 b get missing-store k
expect_one_error_line "get on a missing store"

step "put / get"
expect 0 b put s hello world
expect 0 b get s hello
printf 'world' >want
same out want "get hello (no newline added)"
expect 0 b put s hello 'again and again'
expect 0 b get s hello
eq "$(cat out)" 'again and again' "overwritten value"
printf 'a\x00b\xff\n\x00\t\\ end\n\n' >bin
expect 0 b put s binkey <bin
expect 0 b get s binkey
same out bin "binary value from stdin"
head -c 200000 /dev/urandom >big
expect 0 b put s bigkey <big
expect 0 b get s bigkey
same out big "200 kB value from stdin"
expect 0 b put s empty ''
expect 0 b get s empty
[[ ! -s out ]] || fail "empty value printed bytes"
expect 0 b put s -- -dashed 'starts with a dash'
expect 0 b get s -- -dashed
eq "$(cat out)" 'starts with a dash' "key after --"
# Options may come anywhere after the command.
expect 0 b put --escaped s 'k\x00\tey' 'v\x01\n\\'
expect 0 b get s 'k\x00\tey' --escaped
printf 'v\x01\n\\' >want
same out want "--escaped value"
expect 1 b get s 'k\x00\tey'  # without --escaped the key is taken literally
expect 0 b count s
eq "$(cat out)" 6 "count after 6 distinct puts"

step "get missing key exits 1"
expect 1 b get s nokey
expect_one_error_line "get of a missing key"
grep -q 'bruce: get: key not found: nokey' err || fail "get missing message: $(cat err)"

step "del"
expect 0 b del s hello
expect 1 b get s hello
expect 1 b del s hello
expect_one_error_line "del of a missing key"
expect 0 b count s
eq "$(cat out)" 5 "count after del"

step "load / dump round trip"
# gen.py writes input.tsv (records in random order, escapes written in every
# accepted spelling) and expected.tsv (the canonical dump: sorted by raw key
# bytes, lowercase hex, only the escapes the format requires).
cat >gen.py <<'EOF'
import random, sys
rnd = random.Random(int(sys.argv[1]))
def esc(b, canonical):
    out = []
    for x in b:
        if x == 0x5c: out.append('\\\\')
        elif x == 9: out.append('\\t')
        elif x == 10: out.append('\\n')
        elif x < 0x20 or x >= 0x7f:
            upper = not canonical and rnd.random() < .5
            out.append(('\\x%02X' if upper else '\\x%02x') % x)
        elif not canonical and rnd.random() < .02: out.append('\\x%02x' % x)
        else: out.append(chr(x))
    return ''.join(out)
prefixes = [b'a/', b'a/b/', b'b', b'\t', b'\\', b'\x00', b'\xff', b'', b'ab']
records = {}
while len(records) < int(sys.argv[2]):
    k = rnd.choice(prefixes) + bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 24)))
    v = bytes(rnd.randrange(256) for _ in range(rnd.choice([0, 1, 7, 60, 400])))
    records[k] = v
with open('input.tsv', 'w', encoding='latin-1', newline='') as f:
    for k, v in records.items():
        f.write(esc(k, False) + '\t' + esc(v, False) + '\n')
with open('expected.tsv', 'w', encoding='latin-1', newline='') as f:
    for k in sorted(records):
        f.write(esc(k, True) + '\t' + esc(records[k], True) + '\n')
EOF
python3 gen.py 7 3000
N=$(wc -l <expected.tsv)
eq "$N" 3000 "generated records"
expect 0 b create l
expect 0 b load l <input.tsv
expect 0 b dump l
same out expected.tsv "dump after load"
cp out dump1
expect 0 b count l
eq "$(cat out)" "$N" "count after load"
expect 0 b create l2
b dump l | b load l2 || fail "dump | load failed"
expect 0 b dump l2
same out dump1 "dump | load | dump"
# The hash covers content, not file layout: the same records loaded in the
# same order after another tree took pages first give the same tree hash.
# (Loading them in another order may give another tree shape, so another hash.)
expect 0 b create l3
expect 0 b put l3 x y --tree other
expect 0 b load l3 <input.tsv
eq "$(b root-hash l3 --tree main)" "$(b root-hash l --tree main)" \
  "tree hash of the same data at another file layout"
expect 0 b create empty
expect 0 b dump empty
[[ ! -s out ]] || fail "dump of an empty store printed $(cat out)"
awk -F'\t' 'index($1, "a/") == 1' expected.tsv >want
expect 0 b dump l --prefix a/
same out want "dump --prefix a/"

step "load of a malformed line exits 2 and commits nothing"
expect 0 b create m
printf 'k1\tv1\nk2\tv2\nk3\\qx\tv3\nk4\tv4\n' >bad.tsv
expect 2 b load m <bad.tsv
grep -q 'line 3' err || fail "load error should name line 3: $(cat err)"
expect 1 b get m k1
printf 'k1\tv1\nno tab here\n' | { expect 2 b load m; }
grep -q 'line 2' err || fail "load error should name line 2: $(cat err)"
printf 'k1\tv1\tv2\n' | { expect 2 b load m; }
printf 'k1\tv\\x4\n' | { expect 2 b load m; }
expect 0 b count m
eq "$(cat out)" 0 "count after failed loads"
printf 'k1\tv1\nk2\tv\\x41\\X' | { expect 2 b load m; }
# The last line needs no newline.
printf 'k1\tv1\nk2\tv\\x41' | { expect 0 b load m; }
expect 0 b get m k2
eq "$(cat out)" vA "value from a last line without newline"

step "load --append: keys in order; out of order exits 2 and commits nothing"
expect 0 b create ap
python3 -c '
for i in range(20000): print("k%06d\tvalue %d" % (i, i))' >asc.tsv
expect 0 b load ap --append <asc.tsv
expect 0 b count ap
eq "$(cat out)" 20000 "count after load --append"
expect 0 b dump ap
same out asc.tsv "dump after load --append"
printf 'k020001\tx\nk020000\ty\n' | { expect 2 b load ap --append; }
grep -q 'line 2' err && grep -q 'ascending' err || fail "load --append order error: $(cat err)"
printf 'k000005\tx\n' | { expect 2 b load ap --append; }  # not after the tree's last key
expect 1 b get ap k020001
expect 0 b get ap k000005
eq "$(cat out)" "value 5" "value kept after a refused append"

step "dup trees: put --dup, load --dup, del KEY VALUE"
expect 0 b create dp
expect 2 b put dp k v --dup
grep -q -- '--dup needs --tree' err || fail "put --dup without --tree: $(cat err)"
for v in v2 v0 v1 v0; do expect 0 b put dp k "$v" --tree idx --dup; done
expect 0 b dump dp --tree idx
eq "$(cat out)" "$(printf 'k\tv0\nk\tv1\nk\tv2')" "a dup key's values, sorted, each once"
printf 'j\tb\nj\ta\nl\tz\n' | { expect 0 b load dp --tree idx --dup; }
expect 0 b count dp --tree idx
eq "$(cat out)" 6 "count of every value"
expect 0 b get dp k --tree idx
eq "$(cat out)" v0 "get gives the smallest value"
expect 0 b del dp k v1 --tree idx
expect 1 b del dp k v1 --tree idx
grep -q 'pair not found' err || fail "del of a missing pair: $(cat err)"
expect 0 b ls dp --tree idx
eq "$(cat out | tr '\n' ' ')" "j j k k l " "keys after deleting one value"
expect 0 b del dp k --tree idx
expect 0 b count dp --tree idx
eq "$(cat out)" 3 "del KEY removes all its values"
expect 0 b put dp k v --tree plain
expect 2 b put dp k v2 --tree plain --dup
grep -q 'exists without duplicate keys' err || fail "--dup on a plain tree: $(cat err)"
expect 0 b check dp

step "trees with Bloom filters: load --bloom, put --bloom"
expect 0 b create bl
expect 2 b put bl k v --bloom 10
grep -q -- '--bloom needs --tree' err || fail "put --bloom without --tree: $(cat err)"
expect 2 b put bl k v --tree f --bloom 33
grep -q -- '--bloom must be 0 to 32' err || fail "put --bloom 33: $(cat err)"
expect 2 b put bl k v --tree f --bloom ten
seq 0 2 3998 | awk '{ printf "k%06d\tv%d\n", $1, $1 }' | { expect 0 b load bl --tree f --bloom 10; }
expect 0 b get bl k001000 --tree f
eq "$(cat out)" v1000 "a key of a tree with filters"
expect 1 b get bl k001001 --tree f
expect 0 b put bl k001001 odd --tree f --bloom 4  # an existing tree keeps its own
expect 0 b get bl k001001 --tree f
eq "$(cat out)" odd "a key put into a tree with filters"
expect 1 b del bl k003001 --tree f
expect 0 b count bl --tree f
eq "$(cat out)" 2001 "count of a tree with filters"
expect 0 b check bl
# stat shows the options each tree keeps: its own, not the ones asked later.
expect 0 b stat bl --tree f
grep -qx 'bloom bits per key: *10' out || fail "stat of a tree with filters: $(cat out)"
grep -qx 'duplicate keys: *no' out || fail "stat of a tree with filters: $(cat out)"
expect 0 b stat dp --tree idx --json
python3 - <<'EOF2' || fail "stat --json of a dup tree: $(cat out)"
import json
s = json.load(open('out'))
assert s["duplicate_keys"] == "yes" and s["bloom_bits_per_key"] == 0, s
assert s["zstd_level"] == 1, s  # the store's default level
EOF2

step "ls --prefix / --offset / --limit"
cut -f1 expected.tsv >keys
ls_case() {  # ls_case PREFIX OFFSET LIMIT [extra bruce args]: PREFIX is escaped text
  local p=$1 off=$2 lim=$3
  shift 3
  P="$p" awk 'index($0, ENVIRON["P"]) == 1' keys >range
  # (no `| head`: with pipefail its early exit would fail the pipeline)
  awk -v off="$off" -v lim="$lim" 'NR > off && (lim == "all" || NR <= off + lim)' range >want
  local args=(ls l --offset "$off" "$@")
  [[ -n $p ]] && args+=(--escaped --prefix "$p")
  [[ $lim != all ]] && args+=(--limit "$lim")
  expect 0 b "${args[@]}"
  same out want "bruce ${args[*]}"
}
ls_case '' 0 all
ls_case '' 0 5
ls_case '' 2500 10
ls_case '' $((N - 1)) 10
ls_case '' "$N" 10
ls_case '' $((N + 100)) all
ls_case '' 17 0
ls_case 'a/' 0 all
ls_case 'a/' 7 13
ls_case 'a/b/' 3 all
ls_case '\t' 11 5
ls_case '\\' 1 all
ls_case '\x00' 20 20
ls_case '\xff' 0 3
ls_case 'zz-none' 0 all
ls_case 'zz-none' 4 all
expect 0 b ls --limit=3 --offset=1 l  # --opt=value, options before STORE
sed -n 2,4p keys >want
same out want "ls --limit=3 --offset=1"
expect 0 b ls l --prefix a/ --offset 2 --limit 4  # a literal prefix
awk 'index($0, "a/") == 1' keys | awk 'NR > 2 && NR <= 6' >want
same out want "ls with a literal prefix"

step "count / rank / nth agree"
for p in a/ 'a/b/' b ab '\t' '\\' '\x00' '\xff' zz; do
  want=$(P="$p" awk 'index($0, ENVIRON["P"]) == 1' keys | wc -l)
  expect 0 b count l --escaped --prefix "$p"
  eq "$(cat out)" "$want" "count --prefix $p"
done
for i in 0 1 2 99 1234 $((N / 2)) $((N - 2)) $((N - 1)); do
  expect 0 b nth l "$i"
  sed -n "$((i + 1))p" expected.tsv >want
  same out want "nth $i"
  key=$(cut -f1 out)
  expect 0 b rank l --escaped -- "$key"
  eq "$(cat out)" "$i" "rank of the key nth $i printed"
done
expect 1 b nth l "$N"
expect_one_error_line "nth out of range"
expect 1 b nth l 18446744073709551615
expect 0 b rank l $'\xff\xff\xff\xff'
eq "$(cat out)" "$N" "rank past the last key"
expect 0 b rank l ''
eq "$(cat out)" 0 "rank of the empty key"

step "stat"
expect 0 b stat l --json
python3 -m json.tool <out >/dev/null || fail "stat --json is not valid JSON: $(cat out)"
python3 - "$N" <<'EOF' || fail "stat --json fields: $(cat out)"
import json, sys
s = json.load(open('out'))
assert s["keys"] == int(sys.argv[1]), s
assert s["tree"] == "main" and s["trees"] >= 1 and s["page_size"] == 4096, s
assert s["depth"] >= 2, s  # 3000 records do not fit one leaf
assert s["pages_used"] + s["pages_free"] == s["pages_total"], s
assert s["pages_total"] * s["page_size"] <= s["file_bytes"], s
assert len(s["root_hash"]) == 32 and s["txn_id"] >= 1, s
# Space of the live trees: compression only ever saves bytes.
assert s["logical_bytes"] >= s["stored_bytes"] > 0, s
assert s["stored_pages"] <= s["pages_used"] and s["nodes"] >= 2, s
assert abs(s["compress_ratio"] - s["logical_bytes"] / s["stored_bytes"]) < 0.01, s
EOF
expect 0 b stat l
for f in 'txn id' depth keys 'pages used' 'pages free' 'pages total' 'file bytes' \
         'page size' 'format version' 'root hash' trees 'logical bytes' 'stored bytes' \
         'compress ratio'; do
  grep -q "^$f: " out || fail "stat has no '$f:' line: $(cat out)"
done
grep -q "^keys: *$N\$" out || fail "stat keys line: $(cat out)"
# Aligned: every value starts in the same column.
[[ $(awk '{ match($0, /: +/); print RSTART + RLENGTH }' out | sort -u | wc -l) == 1 ]] ||
  fail "stat values are not aligned: $(cat out)"
expect 0 b root-hash l
grep -qE '^[0-9a-f]{32}$' out || fail "root-hash output: $(cat out)"

step "check on a good store"
for st in s l l2 empty s8k; do
  expect 0 b check "$st"
  grep -q '^ok: ' out || fail "check $st should print an ok: summary: $(cat out)"
done
grep -q "^ok: .* $N keys" <(b check l) || fail "check l key count: $(b check l)"

step "--tree isolation"
expect 0 b put s tk tv --tree A
expect 1 b get s tk
expect 0 b get s tk --tree A
eq "$(cat out)" tv "get --tree A"
expect 1 b get s tk --tree B
expect_one_error_line "get from a missing tree"
grep -q 'no such tree' err || fail "missing tree message: $(cat err)"
expect 1 b del s tk --tree B
expect 0 b count s --tree A
eq "$(cat out)" 1 "count --tree A"
expect 0 b trees s
grep -qx A out || fail "trees should list A: $(cat out)"
expect 0 b dump s --tree A
printf 'tk\ttv\n' >want
same out want "dump --tree A"
printf 'x\t1\ny\t2\n' | { expect 0 b load s --tree C; }
expect 0 b nth s 1 --tree C
eq "$(cat out)" $'y\t2' "nth --tree C"
expect 0 b rank s y --tree C
eq "$(cat out)" 1 "rank --tree C"
expect 0 b ls s --tree C --offset 1
eq "$(cat out)" y "ls --tree C"
ntrees=$(b trees s | wc -l)
grep -qx C <(b trees s) || fail "trees should list C: $(b trees s)"
expect 0 b stat s --tree C --json
python3 - "$ntrees" <<'EOF' || fail "stat --tree C: $(cat out)"
import json, sys
s = json.load(open('out'))
assert s["tree"] == "C" and s["keys"] == 2 and s["trees"] == int(sys.argv[1]), s
EOF
expect 0 b root-hash s --tree C
hc=$(cat out)
expect 0 b root-hash s --tree A
[[ $hc != "$(cat out)" ]] || fail "trees A and C have the same root hash"
expect 1 b root-hash s --tree nope
expect 0 b del s tk --tree A
expect 0 b count s
eq "$(cat out)" 5 "main tree untouched by --tree writes"
expect 0 b check s

step "read-only commands work on a read-only file"
if [[ $(id -u) != 0 ]]; then
  cp l ro && chmod 0444 ro
  expect 0 b count ro
  expect 0 b check ro
  expect 3 b put ro k v
  expect_one_error_line "put on a read-only file"
fi

step "snapshot create / list / get --snapshot / rollback / destroy"
expect 0 b create sn
expect 0 b put sn a old-a
expect 0 b put sn b old-b
expect 0 b put sn x in-T --tree T
head -c 300000 /dev/urandom >snapbig
expect 0 b put sn big <snapbig
expect 0 b dump sn
cp out sn_dump_then
hash_then=$(b root-hash sn --tree main)
expect 0 b snapshot create sn s1
expect 0 b snapshot list sn
grep -qE '^name +txn +created +referenced +unique$' out || fail "snapshot list header: $(cat out)"
grep -qE '^s1 +[0-9]+ +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z +[0-9]+ +[0-9]+$' out ||
  fail "snapshot list row of s1: $(cat out)"
# Change everything after the snapshot: overwrite, delete, add, a new tree,
# a write into the large value.
expect 0 b put sn a new-a
expect 0 b del sn b
expect 0 b put sn c new-c
expect 0 b put sn y in-U --tree U
printf 'CHANGED' | { expect 0 b write sn big --offset 1000; }
expect 0 b get sn a
eq "$(cat out)" new-a "live value after the snapshot"
expect 0 b get sn a --snapshot s1
eq "$(cat out)" old-a "get --snapshot s1 returns the old bytes"
expect 0 b get sn b --snapshot s1
eq "$(cat out)" old-b "get --snapshot s1 of a key deleted since"
expect 1 b get sn c --snapshot s1
expect_one_error_line "get --snapshot of a key added since"
expect 0 b get sn big --snapshot s1
same out snapbig "large value in the snapshot"
expect 0 b cat sn big --snapshot s1 --offset 999 --length 9
head -c 1008 snapbig | tail -c 9 >want
same out want "cat --snapshot"
expect 0 b dump sn --snapshot s1
same out sn_dump_then "dump --snapshot s1"
expect 0 b ls sn --snapshot s1
eq "$(cat out)" $'a\nb\nbig' "ls --snapshot s1"
expect 0 b count sn --snapshot s1
eq "$(cat out)" 3 "count --snapshot s1"
expect 0 b rank sn c --snapshot s1
eq "$(cat out)" 3 "rank --snapshot s1"
expect 0 b nth sn 1 --snapshot s1
eq "$(cat out)" $'b\told-b' "nth --snapshot s1"
expect 0 b trees sn --snapshot s1
eq "$(cat out)" $'T\nmain' "trees --snapshot s1"
expect 0 b get sn x --snapshot s1 --tree T
eq "$(cat out)" in-T "get --snapshot --tree"
expect 1 b get sn y --snapshot s1 --tree U
grep -q 'no such tree' err || fail "tree made after the snapshot: $(cat err)"
expect 0 b root-hash sn --snapshot s1
eq "$(cat out)" "$hash_then" "root-hash --snapshot is the snapshot's main tree hash"
[[ $hash_then != "$(b root-hash sn --tree main)" ]] || fail "main tree hash did not change"
expect 0 b stat sn --snapshot s1 --json
python3 - <<'PY' || fail "stat --snapshot --json: $(cat out)"
import json
s = json.load(open('out'))
assert s["snapshot"] == "s1" and s["keys"] == 3 and s["snapshots"] == 1, s
PY
expect 0 b snapshot create sn s2
expect 3 b snapshot create sn s2
expect_one_error_line "snapshot create of a taken name"
grep -q 'already exists' err || fail "snapshot exists message: $(cat err)"
for bad in .hidden 'a b' 'a/b' "$(printf 'x%.0s' {1..256})"; do
  expect 2 b snapshot create sn "$bad"
  expect_one_error_line "snapshot create of a bad name"
  grep -q 'InvalidArgument: snapshot names' err || fail "bad snapshot name message: $(cat err)"
done
expect 2 b snapshot create sn ''
expect 0 b snapshot list sn --json
python3 -m json.tool <out >/dev/null || fail "snapshot list --json is not JSON: $(cat out)"
python3 - <<'PY' || fail "snapshot list --json fields: $(cat out)"
import json, re
l = json.load(open('out'))
assert [x["name"] for x in l] == ["s1", "s2"], l
for x in l:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", x["created"]), x
    assert x["txn"] >= 1 and x["time_ns"] > 0 and x["referenced_bytes"] > 0, x
    assert 0 <= x["unique_bytes"] <= x["referenced_bytes"], x
assert l[0]["txn"] < l[1]["txn"], l
# s1 alone holds the old value chunks that were overwritten, and b.
assert l[0]["unique_bytes"] > 0, l
PY
expect 0 b stat sn --json
python3 -c 'import json; assert json.load(open("out"))["snapshots"] == 2' ||
  fail "stat snapshots count: $(cat out)"
# Rollback refuses while a newer snapshot exists (a conflict: exit 3).
expect 3 b snapshot rollback sn s1
expect_one_error_line "rollback past a newer snapshot"
grep -q 'newer' err || fail "rollback past s2 message: $(cat err)"
expect 0 b snapshot destroy sn s2
expect 0 b snapshot rollback sn s1
expect 0 b dump sn
same out sn_dump_then "dump after rollback to s1"
expect 0 b get sn a
eq "$(cat out)" old-a "get after rollback"
expect 1 b get sn y --tree U
expect 0 b root-hash sn --tree main
eq "$(cat out)" "$hash_then" "main tree hash after rollback"
expect 0 b check sn
expect 0 b snapshot list sn
grep -q '^s1 ' out || fail "rollback keeps the snapshot: $(cat out)"
expect 0 b snapshot destroy sn s1
expect 1 b get sn a --snapshot s1
expect_one_error_line "get --snapshot of a destroyed snapshot"
grep -q 'no such snapshot: s1' err || fail "destroyed snapshot message: $(cat err)"
expect 1 b snapshot destroy sn s1
expect_one_error_line "destroy of a missing snapshot"
expect 1 b snapshot rollback sn s1
expect 1 b ls sn --snapshot nope
expect 0 b snapshot list sn --json
eq "$(python3 -c 'import json; print(len(json.load(open("out"))))')" 0 "snapshots left"
expect 0 b get sn a
eq "$(cat out)" old-a "live store after destroying the snapshot"
expect 0 b check sn

step "write --offset / cat --offset --length"
expect 0 b create v
head -c 100000 /dev/urandom >val
expect 0 b put v k <val
printf 'MIDDLE of the value' >patch
expect 0 b write v k --offset 40000 <patch
python3 - <<'PY'
d = bytearray(open('val', 'rb').read())
p = open('patch', 'rb').read()
d[40000:40000 + len(p)] = p
open('val2', 'wb').write(d)
PY
expect 0 b get v k
same out val2 "value after write --offset into the middle"
cat_case() {  # cat_case OFFSET LENGTH: against dd on val2
  expect 0 b cat v k --offset "$1" --length "$2"
  dd if=val2 bs=1 skip="$1" count="$2" status=none >want 2>/dev/null ||
    python3 -c "import sys; d=open('val2','rb').read(); sys.stdout.buffer.write(d[$1:$1+$2])" >want
  same out want "cat --offset $1 --length $2"
}
cat_case 39990 40
cat_case 0 1
cat_case 99990 100
cat_case 100000 10
cat_case 250000 10
cat_case 4095 4098
expect 0 b cat v k --offset 99000
tail -c 1000 val2 >want
same out want "cat --offset without --length"
expect 0 b cat v k
same out val2 "cat without a range"
expect 0 b cat v k --length 0
[[ ! -s out ]] || fail "cat --length 0 printed bytes"
expect 1 b cat v nokey
expect_one_error_line "cat of a missing key"
# Appending at the end, and writing into a new key at an offset.
printf 'tail' | { expect 0 b write v k --offset 100000; }
expect 0 b cat v k --offset 99998
# (compared as files: $(...) would drop a random trailing newline of val2)
{ tail -c 2 val2; printf 'tail'; } >want
same out want "append with write --offset SIZE"
printf 'xyz' | { expect 0 b write v fresh --offset 3; }
expect 0 b get v fresh
printf '\0\0\0xyz' >want
same out want "write into a new key past offset 0"
printf 'abc' | { expect 0 b write v --escaped 'e\x00k' --tree W; }
long=$(head -c 65537 /dev/zero | tr '\0' k)
expect 2 b put v "$long" value
expect_one_error_line "put of a key past 65536 bytes"
grep -q 'InvalidArgument' err || fail "long key message: $(cat err)"
printf 'x' | { expect 2 b write v "$long"; }
expect_one_error_line "write of a key past 65536 bytes"
expect 0 b put v "${long:1}" "at the limit"
expect 0 b get v "${long:1}"
[ "$(cat out)" = "at the limit" ] || fail "get of a 65536-byte key: $(cat out)"
printf 'ab' | { expect 0 b write v edge --offset $(( (1 << 44) - 2 )); }
expect 0 b cat v edge --offset $(( (1 << 44) - 3 ))
printf '\0ab' >want
same out want "write ending at the largest value size"
expect 0 b ls v  # lists keys without reading the 16 TiB value
grep -qx edge out || fail "ls with a 16 TiB value: $(cat out)"
printf 'abc' | { expect 2 b write v edge --offset $(( (1 << 44) - 2 )); }
expect_one_error_line "write past the largest value size"
expect 0 b del v edge
expect 0 b get v --escaped 'e\x00k' --tree W
eq "$(cat out)" abc "write --escaped --tree"

step "sparse write 1 GiB out stays small"
used_before=$(b stat v --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pages_used"])')
G=$((1 << 30))
printf 'DATA' | { expect 0 b write v sparse --offset "$G"; }
expect 0 b cat v sparse --offset $((G - 2)) --length 4
printf '\0\0DA' >want
same out want "cat across the hole's end"
expect 0 b cat v sparse --offset $((G + 2))
eq "$(cat out)" TA "cat of the sparse tail"
expect 0 b cat v sparse --offset 123456789 --length 5
printf '\0\0\0\0\0' >want
same out want "cat inside the hole"
expect 0 b stat v --json
python3 - "$used_before" <<'PY' || fail "a 1 GiB sparse value took space: $(cat out)"
import json, sys
s = json.load(open('out'))
assert s["pages_used"] - int(sys.argv[1]) < 64, s
assert s["file_bytes"] < 16 << 20, s
PY
[[ $(du -k v | cut -f1) -lt 16384 ]] || fail "store file is $(du -k v | cut -f1) KiB on disk"

step "truncate shrink / grow"
expect 0 b truncate v k 50000
expect 0 b get v k
head -c 50000 val2 >want
same out want "truncate to 50000"
expect 0 b truncate v k 60000
{ head -c 50000 val2; head -c 10000 /dev/zero; } >want
expect 0 b get v k
same out want "truncate grows with zeros"
expect 0 b truncate v k 3
expect 0 b get v k
head -c 3 val2 >want
same out want "truncate to an inline size"
expect 0 b truncate v k 0
expect 0 b get v k
[[ ! -s out ]] || fail "truncate 0 left bytes"
expect 0 b truncate v sparse 2
expect 0 b get v sparse
printf '\0\0' >want
same out want "truncate of the sparse value"
expect 1 b truncate v nokey 5
expect_one_error_line "truncate of a missing key"
expect 1 b truncate v k 5 --tree nope
expect 0 b check v

step "50 MiB value streamed through put / get"
head -c $((50 << 20)) /dev/urandom >huge
head -c $((1 << 20)) /dev/urandom >small
# Peak memory of a child, in KiB: a streamed value never sits in memory whole.
# Each peak is compared with the same command's on a 1 MiB value in the same
# run: what the process holds anyway (about 14 MiB here; 40 to 50 MiB under
# AddressSanitizer, whose shadow memory and larger binary count too) is in
# both, and a 50 MiB value held whole would add its own 51,200 KiB.
maxrss() {  # maxrss IN OUT CMD...: runs CMD <IN >OUT, prints its peak RSS
  python3 - "$@" <<'PY'
import resource, subprocess, sys
with open(sys.argv[1], 'rb') as i, open(sys.argv[2], 'wb') as o:
    rc = subprocess.run(sys.argv[3:], stdin=i, stdout=o).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if rc == 0 else -rc)
PY
}
expect 0 b create h
expect 0 b create hb  # the 1 MiB value's store
# Under AddressSanitizer, freed buffers sit in its quarantine: turn that off
# so the peak still shows whether the value was streamed.
if [[ -n ${ASAN_OPTIONS:-} ]]; then export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0"; fi
base=$(maxrss small /dev/null "$BRUCE" put hb small)
(( base > 0 )) || fail "put of 1 MiB failed ($base)"
rss=$(maxrss huge /dev/null "$BRUCE" put h huge)
(( rss > 0 )) || fail "put of 50 MiB failed ($rss)"
(( rss - base < 32000 )) || fail "put of 50 MiB used $rss KiB, 1 MiB $base KiB: not streamed"
base=$(maxrss /dev/null out "$BRUCE" get hb small)
(( base > 0 )) || fail "get of 1 MiB failed ($base)"
rss=$(maxrss /dev/null out "$BRUCE" get h huge)
(( rss > 0 )) || fail "get of 50 MiB failed ($rss)"
(( rss - base < 32000 )) || fail "get of 50 MiB used $rss KiB, 1 MiB $base KiB: not streamed"
same out huge "50 MiB value read back"
expect 0 b cat h huge --offset $((30 << 20)) --length 3000000
tail -c +$(( (30 << 20) + 1 )) huge | head -c 3000000 >want || true
same out want "cat inside the 50 MiB value"
expect 0 b put h huge small
expect 0 b get h huge
eq "$(cat out)" small "put replaces a large value"
expect 0 b check h --json
python3 -m json.tool <out >/dev/null || fail "check --json is not JSON: $(cat out)"
python3 - <<'PY' || fail "check --json on a good store: $(cat out)"
import json
r = json.load(open('out'))
assert r["ok"] is True and r["problems"] == [], r
assert r["keys"] == 1 and r["trees"] >= 1 and r["nodes"] >= 1 and r["pages"] >= r["nodes"], r
PY

# Damage. Two meta pages come first, then nodes: overwriting everything past
# the meta pages destroys every node both metas can point at, so whatever the
# layout, no read of data may succeed and check must fail.
# An error is reported either by Open (one stderr line) or by the walk
# (problems on stdout).
check_fails() {
  expect 3 b check "$1"
  if [[ -s err ]]; then expect_one_error_line "check $1"
  else grep -q 'problems: ' out || fail "check $1 should print a problems: summary: $(cat out)"; fi
}
step "garbage over every page past the meta pages -> exit 3"
cp l c
page=$(b stat l --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["page_size"])')
python3 - c "$page" <<'EOF'
import random, sys
path, page = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
with open(path, 'r+b') as f:
    size = f.seek(0, 2)
    assert size > 4 * page, size
    f.seek(2 * page)
    f.write(bytes(rnd.randrange(256) for _ in range(size - 2 * page)))
EOF
check_fails c
expect 3 b check c --json
python3 - <<'EOF' || fail "check --json on a damaged store: $(cat out)"
import json
r = json.load(open('out'))
assert r["ok"] is False and len(r["problems"]) >= 1, r
assert all(isinstance(p, str) and p for p in r["problems"]), r
EOF
key=$(sed -n 1500p keys)
expect 3 b get c --escaped -- "$key"
expect_one_error_line "get from a damaged store"
expect 3 b dump c
expect_one_error_line "dump of a damaged store"
expect 3 b count c --prefix a/

# One damaged page at a time, every page of the file. Whatever the page held,
# check must not crash: it exits 3, or 0 when the page was free, an unused
# meta slot, or a page of the newest commit whose loss makes open fall back to
# the previous commit. So when check passes, the store must read as one whole
# commit: all records (txn of the load) or none (txn of the create). Every live
# node except those of the newest root path is found by the walk, so most
# damaged pages must be caught.
step "damage each page in turn -> exit 3 or an intact commit"
pages=$(( $(stat -c %s l) / page ))
checked=$(b check l | sed -n 's/^ok: \([0-9]*\) pages.*/\1/p')
[[ -n $checked ]] || fail "no page count in check output: $(b check l)"
caught=0
for ((p = 0; p < pages; p++)); do
  cp l d
  dd if=/dev/urandom of=d bs="$page" seek="$p" count=1 conv=notrunc status=none
  rc=0
  b check d >out 2>err || rc=$?
  case $rc in
    3) caught=$((caught + 1))
       if [[ -s err ]]; then expect_one_error_line "check with page $p damaged"
       else grep -q 'problems: ' out || fail "check with page $p damaged: $(cat out)"; fi ;;
    0) expect 0 b dump d
       [[ ! -s out ]] || cmp -s out dump1 ||
         fail "page $p damaged: check passed but the store is neither commit" ;;
    *) fail "check with page $p damaged exited $rc: $(cat err)" ;;
  esac
done
(( caught * 2 >= checked )) ||
  fail "only $caught of $pages single damaged pages were caught ($checked pages in use)"

step "garbage over both meta pages -> exit 3"
cp l c2
dd if=/dev/urandom of=c2 bs="$page" count=2 conv=notrunc status=none
check_fails c2
expect 3 b get c2 --escaped -- "$key"
expect_one_error_line "get from a store without meta pages"

step "compact moves live pages down and the file shrinks"
b create cs
for i in $(seq 1 20); do head -c 1000000 /dev/urandom | b put cs "big$i"; done
b get cs big20 >big20.want
for i in $(seq 1 19); do b del cs "big$i"; done
before=$(stat -c %s cs)
expect 0 b compact cs
grep -q '^compacted: ' out || fail "compact printed: $(cat out)"
after=$(stat -c %s cs)
(( after * 4 < before )) || fail "compact left the file at $after bytes (from $before)"
b check cs >/dev/null || fail "check after compact"
b get cs big20 >big20.got
cmp -s big20.want big20.got || fail "big20 changed by compact"

step "snapshot auto: names carry the UTC time; retention with a fake clock"
b create au
# Existing snapshots, named as auto makes them, and others it must not touch.
for t in 2026-10-05T080000Z 2026-10-20T080000Z 2026-10-31T080000Z 2026-11-26T080000Z \
         2026-11-27T090000Z 2026-11-28T100000Z 2026-11-28T113000Z 2026-11-28T114500Z; do
  b snapshot create au "auto-$t"
done
b snapshot create au keep-me
b snapshot create au daily-2026-01-01T000000Z
b snapshot create au auto-not-a-time
policy=(--keep-hourly 2 --keep-daily 2 --keep-weekly 1 --keep-monthly 2)
expect 0 b snapshot auto au "${policy[@]}" --now 2026-11-28T12:00:00Z --dry-run
cat >want <<'WANT'
would create auto-2026-11-28T120000Z
would destroy auto-2026-10-05T080000Z
would destroy auto-2026-10-20T080000Z
would destroy auto-2026-11-26T080000Z
would destroy auto-2026-11-28T100000Z
would destroy auto-2026-11-28T113000Z
WANT
same out want "snapshot auto --dry-run"
[[ $(b snapshot list au --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') == 11 ]] ||
  fail "--dry-run changed the snapshots"
expect 0 b snapshot auto au "${policy[@]}" --now 2026-11-28T12:00:00Z
sed 's/^would create/created/; s/^would destroy/destroyed/' want >want2
same out want2 "snapshot auto"
b snapshot list au --json | python3 -c 'import json,sys; print("\n".join(sorted(s["name"] for s in json.load(sys.stdin))))' >names
printf '%s\n' auto-2026-10-31T080000Z auto-2026-11-27T090000Z auto-2026-11-28T114500Z \
  auto-2026-11-28T120000Z auto-not-a-time daily-2026-01-01T000000Z keep-me | sort >want3
same names want3 "snapshots after auto"
expect 3 b snapshot auto au --now 2026-11-28T12:00:00Z
grep -q "snapshot already exists: auto-2026-11-28T120000Z" err || fail "auto twice: $(cat err)"
expect 0 b snapshot auto au --prefix hourly.
grep -qE '^created hourly\.[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}Z$' out || fail "auto now: $(cat out)"
expect 2 b snapshot auto au --now yesterday
expect 2 b snapshot auto au --keep-daily many

step "diff: snapshots and the live store, by hashes"
b create df
printf 'a\t1\nb\t2\nc\t3\n' | b load df
head -c 50000 /dev/urandom > dfbig
b put df big < dfbig
b snapshot create df s1
b put df b 22
b del df a
b put df d 4
printf 'X' | b write df big --offset 100
b put df --tree dups --dup k v1
expect 0 b diff df s1 @live
printf -- '-\ta\nM\tb\nM\tbig\n+\td\n' > want
same out want "diff s1 @live"
expect 0 b diff df @live s1
printf -- '+\ta\nM\tb\nM\tbig\n-\td\n' > want
same out want "diff @live s1"
expect 0 b diff df s1 s1
[[ ! -s out ]] || fail "a snapshot differs from itself: $(cat out)"
expect 0 b diff df s1 @live --json
python3 -c 'import json,sys; d=json.load(open("out")); assert [e["op"] for e in d] == ["-","M","M","+"], d' ||
  fail "diff --json: $(cat out)"
expect 0 b diff df s1 @live --tree dups
printf '+\tk\tv1\n' > want
same out want "diff of a tree made after s1"
b snapshot create df s2
b put df --tree dups k v2
b del df --tree dups k v1
expect 0 b diff df s2 @live --tree dups
printf -- '-\tk\tv1\n+\tk\tv2\n' > want
same out want "diff of a dup tree: pairs"
expect 1 b diff df s1 nosuch
expect_one_error_line "diff with a missing snapshot"
expect 1 b diff df s1 @live --tree nosuch
expect 2 b diff df s1

step "send and receive: full, incremental, refused streams"
b create sa
printf 'a\t1\nb\t2\n' | b load sa
b snapshot create sa one
b send sa one > full.stream
expect 0 b receive sr --create < full.stream
grep -q "^received one: " out || fail "receive output: $(cat out)"
b put sa c 3
b snapshot create sa two
b send sa two --from one --compressed > inc.stream
expect 0 b receive sr < inc.stream
[[ $(b dump sr) == $(b dump sa --snapshot two) ]] || fail "the received store differs"
[[ $(b root-hash sr --tree main) == $(b root-hash sa --snapshot two --tree main) ]] || fail "root hash"
expect 3 b receive sr < inc.stream
grep -q "snapshot already exists: two" err || fail "receive twice: $(cat err)"
expect 1 b send sa nosuch
head -c 60 full.stream > cut.stream
expect 3 b receive sc --create < cut.stream
[[ ! -e sc ]] || fail "a refused stream left the store it made"
expect 3 b receive sr2 < inc.stream   # no such store, no --create
b put sr local change
b snapshot create sa three
b send sa three --from two > inc3.stream
expect 3 b receive sr < inc3.stream
grep -q "changed since snapshot 'two'" err || fail "changed target: $(cat err)"
expect 0 b receive sr --force < inc3.stream
[[ $(b dump sr) == $(b dump sa --snapshot three) ]] || fail "after --force"

step "scrub: finds a damaged page; repairs it from a replica store or a stream"
b create sx
python3 -c 'import sys; sys.stdout.write("Q" * 100000)' > sxbig
b put sx big < sxbig
b put sx small one
b snapshot create sx s1
b send sx s1 > sx.stream
b receive rx --create < sx.stream > /dev/null
expect 0 b scrub sx
grep -q "^scrubbed .* 0 damaged$" out || fail "clean scrub: $(cat out)"
# a byte of one of the value's data blocks (raw "Q" pages in the file)
flip() {
  python3 - sx <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
at = next(i for i in range(0, len(data), 4096) if data[i:i + 4096] == b"Q" * 4096)
with open(sys.argv[1], "r+b") as f:
    f.seek(at + 100)
    f.write(b"R")
print(at // 4096)
PY
}
page=$(flip)
expect 3 b scrub sx
grep -q "^damaged page $page (data block): Corruption: .*; used by live tree main, snapshot s1 tree main; keys \[big, big)$" out ||
  fail "scrub report: $(cat out)"
expect 3 b get sx big
expect 0 b scrub sx --repair-from rx
grep -q "^  repaired from rx$" out && grep -q "^1 of 1 repaired$" out || fail "repair: $(cat out)"
expect 0 b scrub sx
b get sx big | cmp -s - sxbig || fail "the repaired value differs"
page=$(flip)
expect 0 b scrub sx --repair-from - < sx.stream
grep -q "^1 of 1 repaired$" out || fail "repair from a stream: $(cat out)"
b check sx > /dev/null || fail "check after repairs"
b create empty-replica
page=$(flip)
expect 3 b scrub sx --repair-from empty-replica --json
python3 -c 'import json; d = json.load(open("out")); assert not d["ok"] and not d["damaged"][0]["repaired"], d' ||
  fail "a replica without the page: $(cat out)"

step "progress lines only on a terminal; --json summaries"
b create pg
seq 1 5000 | awk '{print "k"$1"\tv"$1}' > pg.in
expect 0 b load pg --json < pg.in
python3 -c 'import json; d = json.load(open("out")); assert d["records"] == 5000, d' || fail "load --json: $(cat out)"
[[ ! -s err ]] || fail "load wrote to a stderr that is no terminal: $(cat err)"
b snapshot create pg s
for c in "check pg" "scrub pg" "compact pg" "send pg s"; do
  # shellcheck disable=SC2086
  b $c >/dev/null 2>err || true
  [[ ! -s err ]] || fail "$c wrote to a stderr that is no terminal: $(cat err)"
done
if command -v script >/dev/null; then
  for c in check scrub; do
    script -qec "$BRUCE $c pg" /dev/null > tty.out || true
    grep -q "$c: [0-9]*/[0-9]* " tty.out || fail "no progress line for $c on a terminal: $(cat tty.out)"
  done
  script -qec "$BRUCE send pg s > pg.stream" /dev/null > tty.out || true
  grep -q "send: [0-9]*/[0-9]* bytes" tty.out || fail "no progress line for send: $(cat tty.out)"
  script -qec "$BRUCE receive pr --create < pg.stream" /dev/null > tty.out || true
  grep -q "receive: [0-9]*/[0-9]* bytes" tty.out || fail "no progress line for receive: $(cat tty.out)"
  script -qec "$BRUCE load pg < pg.in" /dev/null > tty.out || true
  grep -q "load: [0-9]*/[0-9]* bytes" tty.out || fail "no progress line for load: $(cat tty.out)"
  script -qec "$BRUCE compact pg" /dev/null > tty.out || true
  grep -q "compact: [0-9]/8 passes" tty.out || fail "no progress line for compact: $(cat tty.out)"
fi
expect 0 b compact pg --json
python3 -c 'import json; d = json.load(open("out")); assert d["after_bytes"] > 0, d' || fail "compact --json"
b send pg s --json > /dev/null 2> send.json
python3 -c 'import json; d = json.load(open("send.json")); assert d["nodes"] > 0, d' || fail "send --json: $(cat send.json)"

echo "PASS: all CLI tests"
