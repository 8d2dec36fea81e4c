#!/usr/bin/env bash
# Snapshots: mkdir .snapshots/NAME takes one; it keeps the old bytes while
# the live tree changes; cp out of it works; every mutation inside is EROFS
# and modes show as they were; st_ino never collides with the live tree;
# rmdir destroys it; snapshots outlive a remount.
source "$(dirname "$0")/lib.sh"
S=$WORK/s.bruce M=$WORK/m
bfs_mount "$S" "$M" -o create
mkdir -p "$M/d/e"
echo v1 > "$M/a"
echo b > "$M/d/b"
head -c 1000000 /dev/urandom > "$WORK/blob"
cp "$WORK/blob" "$M/d/e/blob"
chmod 664 "$M/a"
setfattr -n user.x -v 1 "$M/a"
ln -s a "$M/link"
mkdir "$M/.snapshots/s1" || fail "mkdir .snapshots/s1 (engine snapshots implemented yet?)"
[ "$(ls "$M/.snapshots")" = s1 ] || fail "ls .snapshots"
ls -a "$M" | grep -qx .snapshots && fail ".snapshots is listed with snapdir=hidden"
ok "snapshot taken"

echo v2 > "$M/a"
rm "$M/d/b"
echo more >> "$M/d/e/blob"
rm "$M/link"
[ "$(cat "$M/.snapshots/s1/a")" = v1 ] || fail "old bytes"
[ "$(cat "$M/.snapshots/s1/d/b")" = b ] || fail "deleted file kept"
cmp "$M/.snapshots/s1/d/e/blob" "$WORK/blob" || fail "blob kept"
[ "$(readlink "$M/.snapshots/s1/link")" = a ] || fail "symlink kept"
[ "$(getfattr --only-values -n user.x "$M/.snapshots/s1/a")" = 1 ] || fail "xattr kept"
# Modes as they were when taken (a snapshot is read-only by EROFS, not by
# clearing write bits: a restore with cp -a must give the old modes back).
[ "$(stat -c %a "$M/.snapshots/s1/a")" = 664 ] || fail "mode kept: $(stat -c %a "$M/.snapshots/s1/a")"
ok "snapshot keeps the old state"

cp -a "$M/.snapshots/s1/d" "$WORK/restored"
cmp "$WORK/restored/e/blob" "$WORK/blob" || fail "cp -a out of a snapshot"
ok "cp out of a snapshot"

python3 - "$M/.snapshots/s1" <<'PY'
import errno, os, sys
snap = sys.argv[1]
P = lambda *p: os.path.join(snap, *p)
ops = {
    "open for write": lambda: os.open(P("a"), os.O_WRONLY),
    "create": lambda: os.open(P("new"), os.O_CREAT | os.O_WRONLY),
    "truncate": lambda: os.truncate(P("a"), 0),
    "unlink": lambda: os.unlink(P("a")),
    "rename": lambda: os.rename(P("a"), P("b")),
    "rename out": lambda: os.rename(P("a"), os.path.join(snap, "..", "..", "x")),
    "chmod": lambda: os.chmod(P("a"), 0o777),
    "chown": lambda: os.chown(P("a"), 1, 1),
    "utime": lambda: os.utime(P("a"), ns=(1, 1)),
    "setxattr": lambda: os.setxattr(P("a"), "user.y", b"2"),
    "removexattr": lambda: os.removexattr(P("a"), "user.x"),
    "mkdir": lambda: os.mkdir(P("nd")),
    "rmdir": lambda: os.rmdir(P("d", "e")),
    "symlink": lambda: os.symlink("a", P("l2")),
    "chmod root": lambda: os.chmod(snap, 0o777),
    "mknod": lambda: os.mkfifo(P("fifo")),
    "link in": lambda: os.link(os.path.join(snap, "..", "..", "d", "e", "blob"), P("l3")),
    "link inside": lambda: os.link(P("a"), P("l4")),
}
bad = []
for name, fn in ops.items():
    try:
        fn()
        bad.append(f"{name}: succeeded")
    except OSError as e:
        if e.errno != errno.EROFS:
            bad.append(f"{name}: {errno.errorcode.get(e.errno)}")
if bad:
    sys.exit("not EROFS: " + "; ".join(bad))
print(f"ok: {len(ops)} mutations in a snapshot get EROFS")
# A link out of a snapshot into the live tree crosses trees: EXDEV, as
# between two filesystems.
try:
    os.link(P("a"), os.path.join(snap, "..", "..", "from-snap"))
    sys.exit("link out of a snapshot succeeded")
except OSError as e:
    if e.errno != errno.EXDEV:
        sys.exit(f"link out of a snapshot: {errno.errorcode.get(e.errno)}, want EXDEV")
print("ok: a link out of a snapshot gets EXDEV")
PY

live_inos=$(find "$M" -path "$M/.snapshots" -prune -o -printf '%i\n' | sort)
snap_inos=$(find "$M/.snapshots" -printf '%i\n' | sort)
[ -z "$(comm -12 <(echo "$live_inos") <(echo "$snap_inos"))" ] || fail "st_ino shared by live and snapshot"
[ "$(echo "$snap_inos" | uniq -d)" = "" ] || fail "st_ino repeated in a snapshot"
ino1=$(stat -c %i "$M/.snapshots/s1/a")
[ "$(stat -c %i "$M/.snapshots/s1/a")" = "$ino1" ] || fail "st_ino not stable"
ok "inode numbers unique across live and snapshot"

rc=0; mkdir "$M/.snapshots/s1" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "a second s1"
rc=0; mkdir "$M/.snapshots/bad name" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "a bad snapshot name"
mkdir "$M/.snapshots/s2"
[ "$(cat "$M/.snapshots/s2/a")" = v2 ] || fail "s2 sees v2"
bfs_umount "$M"
"$BRUCE" check "$S" >/dev/null || fail "bruce check"
bfs_mount "$S" "$M" -o snapdir=visible
ls -a "$M" | grep -qx .snapshots || fail "snapdir=visible"
[ "$(ls "$M/.snapshots" | tr '\n' ' ')" = "s1 s2 " ] || fail "snapshots after a remount"
[ "$(cat "$M/.snapshots/s1/a")" = v1 ] || fail "s1 after a remount"
rmdir "$M/.snapshots/s1"
[ ! -e "$M/.snapshots/s1" ] || fail "rmdir .snapshots/s1"
[ "$(ls "$M/.snapshots")" = s2 ] || fail "ls after rmdir"
bfs_umount "$M"
"$BRUCE" check "$S" >/dev/null || fail "bruce check after destroy"
ok "snapshots persist; rmdir destroys"
