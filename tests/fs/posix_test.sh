#!/usr/bin/env bash
# Runs posix_test.py on a fresh mount, then remounts and checks that what
# it left (empty directories, modes, xattrs, symlinks) persisted.
source "$(dirname "$0")/lib.sh"
S=$WORK/s.bruce M=$WORK/m
chmod 755 "$WORK"   # the test also runs as an unprivileged uid
bfs_mount "$S" "$M" -o create,allow_other
python3 "$(dirname "$0")/posix_test.py" "$M"
stat -c '%n %a %u %g %s %Y' "$M/f" "$M/deep/a/b" "$M/sgid/subdir" > "$WORK/before"
getfattr -d -m - "$M/f" > "$WORK/xa-before"
bfs_umount "$M"
"$BRUCE" check "$S" >/dev/null || fail "bruce check"
bfs_mount "$S" "$M"
stat -c '%n %a %u %g %s %Y' "$M/f" "$M/deep/a/b" "$M/sgid/subdir" > "$WORK/after"
getfattr -d -m - "$M/f" > "$WORK/xa-after"
diff "$WORK/before" "$WORK/after" || fail "attributes changed across a remount"
diff "$WORK/xa-before" "$WORK/xa-after" || fail "xattrs changed across a remount"
[ "$(readlink "$M/ln")" = "target/../f" ] || fail "symlink across a remount"
[ -d "$M/deep/a/b" ] && [ -z "$(ls -A "$M/deep/a/b")" ] || fail "empty dir across a remount"
bfs_umount "$M"
ok "posix"
