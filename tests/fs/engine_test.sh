#!/usr/bin/env bash
# Engine <-> mount: keys put with the CLI appear as files, files written
# through the mount read back with `bruce get`, odd keys round-trip through
# the name escaping, and an unshowable key is skipped, not fatal.
source "$(dirname "$0")/lib.sh"
S=$WORK/s.bruce M=$WORK/m
"$BRUCE" create "$S" >/dev/null
"$BRUCE" put "$S" top "T"
"$BRUCE" put "$S" dir/sub/leaf "L"
"$BRUCE" put "$S" --escaped 'nul\x00byte' "N"
"$BRUCE" put "$S" --escaped 'a//b' "empty component"
"$BRUCE" put "$S" --escaped 'dots/./..' "dot names"
"$BRUCE" put "$S" '100%' "percent"
"$BRUCE" put "$S" '%2E' "literal token"
long=$(printf 'L%.0s' $(seq 1 300))
"$BRUCE" put "$S" "too/$long" "unshowable"
"$BRUCE" put "$S" shadow "file"
"$BRUCE" put "$S" shadow/child "wins"
bfs_mount "$S" "$M"
[ "$(cat "$M/top")" = T ] || fail top
[ "$(cat "$M/dir/sub/leaf")" = L ] || fail leaf
[ "$(cat "$M/nul%00byte")" = N ] || fail "NUL escape"
[ "$(cat "$M/a/%/b")" = "empty component" ] || fail "empty component"
[ "$(cat "$M/dots/%2E/%2E%2E")" = "dot names" ] || fail "dot components"
[ "$(cat "$M/100%")" = percent ] || fail "plain percent"
[ "$(cat "$M/%252E")" = "literal token" ] || fail "escaped token"
[ -z "$(ls "$M/too")" ] || fail "an unshowable key was listed"
[ "$(cat "$M/shadow/child")" = wins ] && [ -d "$M/shadow" ] || fail "dir wins over a file key"
stat -c '%a %u %g' "$M/top" | grep -qx "644 $(id -u) $(id -g)" || fail "default attributes"
stat -c '%a' "$M/dir" | grep -qx 755 || fail "default dir mode"
ok "CLI keys appear as files"

printf 'from the mount' > "$M/written"
mkdir -p "$M/new/dir"
printf 'x' > "$M/new/dir/%00%"          # the key new/dir/<NUL>%
printf 'y' > "$M/new/%"                    # the key new/ + "" (empty component)
mkdir "$M/empty"
ln -s top "$M/link"
head -c 3000000 /dev/urandom > "$WORK/blob"
cp "$WORK/blob" "$M/blob"
bfs_umount "$M"
grep -q "too/LLL.*not shown" "$WORK/daemon.log" || fail "the unshowable key was not reported"
[ "$("$BRUCE" get "$S" written)" = "from the mount" ] || fail "bruce get"
[ "$("$BRUCE" get "$S" --escaped 'new/dir/\x00%')" = x ] || fail "escaped name to key"
[ "$("$BRUCE" get "$S" --escaped 'new/')" = y ] || fail "empty component to key"
[ "$("$BRUCE" get "$S" link)" = top ] || fail "a symlink's value is its target"
"$BRUCE" get "$S" blob | cmp - "$WORK/blob" || fail "blob"
"$BRUCE" count "$S" --tree attrs >/dev/null || fail "no attrs tree"
"$BRUCE" check "$S" >/dev/null || fail check
ok "files written through the mount read back with bruce get"

bfs_mount "$S" "$M"
[ -d "$M/empty" ] || fail "mkdir'ed empty dir lost"
[ "$(cat "$M/new/dir/%00%")" = x ] || fail "round trip"
bfs_umount "$M"
ok "odd keys round-trip"
