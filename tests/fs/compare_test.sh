#!/usr/bin/env bash
# The same scripted operations (tests/fs/compare.py: hard links, FIFOs,
# sockets, devices, directory link counts, long names, open-unlinked files,
# fallocate, holes, ACLs) on a plain directory of the same disk and on a
# brucefs mount: results, errnos, link counts, modes, inode grouping and
# xattrs must be the same. Then a remount keeps the state, and `bruce
# check` passes after the orphans are freed.
source "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
S=$WORK/s.bruce M=$WORK/m
mkdir "$WORK/plain"
python3 "$here/compare.py" "$WORK/plain" > "$WORK/plain.out"
bfs_mount "$S" "$M" -o create
python3 "$here/compare.py" "$M" > "$WORK/bfs.out"
diff -u "$WORK/plain.out" "$WORK/bfs.out" || fail "brucefs differs from $(df --output=fstype "$WORK" | tail -1) (above)"
ok "$(grep -c '^[^ ]' "$WORK/plain.out") steps behave as on $(df --output=fstype "$WORK" | tail -1)"

# A random sequence of namespace operations (hard links, renames of files
# and directories over each other, files open across unlink) gives the same
# results and the same trees on both.
seed=${BRUCE_SEED:-$RANDOM}
echo "compare: random sequence seed $seed (BRUCE_SEED=$seed replays)"
mkdir "$WORK/plain/random" "$M/random"
python3 "$here/difftest.py" "$WORK/plain/random" "$seed" 3000 > "$WORK/plain.rnd"
python3 "$here/difftest.py" "$M/random" "$seed" 3000 > "$WORK/bfs.rnd"
diff -u "$WORK/plain.rnd" "$WORK/bfs.rnd" | head -40
cmp -s "$WORK/plain.rnd" "$WORK/bfs.rnd" || fail "the random sequence differs (above)"
ok "$(grep -c ': ok$' "$WORK/plain.rnd") of 3000 random operations succeed, all as on ext4"

# The state survives a remount, inode numbers of files included.
ls -lin "$M" > "$WORK/before"
# (getfacl -R stops at a path past PATH_MAX: compare.py's long paths are left
# out, and symlinks, which have no ACLs of their own)
acls() { find "$M" -path "$M/lp" -prune -o ! -type l -print0 | sort -z | xargs -0 getfacl -p -n 2>"$WORK/getfacl.err" | sed "s|$M||" || { cat "$WORK/getfacl.err" >&2; false; }; }
acls > "$WORK/acl.before"
bfs_umount "$M"
"$BRUCE" check "$S" > /dev/null || fail "bruce check"
# The deepest file of compare.py's long paths: a key of 7,693 bytes.
deep=lp/moved/$(python3 -c 'print("/".join(f"{j:02d}" + "q" * 253 for j in range(1, 31)))')/deep
[ ${#deep} -gt 7600 ] || fail "the deep key is only ${#deep} bytes"
[ "$("$BRUCE" get "$S" "$deep" | head -c 26)" = "at the bottomat the bottom" ] ||
  fail "bruce get of the ${#deep}-byte key"
bfs_mount "$S" "$M"
# (a path string that long is past PATH_MAX: one directory at a time)
got=$(python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for c in sys.argv[2].split("/")[:-1]:
    fd = os.open(c, os.O_RDONLY, dir_fd=fd)
print(os.read(os.open("deep", os.O_RDONLY, dir_fd=fd), 13).decode())' "$M" "$deep")
[ "$got" = "at the bottom" ] || fail "the ${#deep}-byte path after a remount: got '$got'"
ok "a key of ${#deep} bytes: bruce get, and its file after a remount"
ls -lin "$M" > "$WORK/after"
python3 "$here/difftest.py" "$M/random" 0 0 > "$WORK/bfs.rnd2"
diff <(tail -n +2 "$WORK/bfs.rnd" | grep '^  ' | tail -n "$(grep -c '^  ' "$WORK/bfs.rnd2")") "$WORK/bfs.rnd2" ||
  fail "remount changed the random sequence's tree"
acls > "$WORK/acl.after"
# (directories' inode numbers are given per mount: compare files only)
diff <(awk '$2 !~ /^d/' "$WORK/before") <(awk '$2 !~ /^d/' "$WORK/after") ||
  fail "remount changed the listing"
diff "$WORK/acl.before" "$WORK/acl.after" || fail "remount changed ACLs"
ok "remount keeps links, devices, inode numbers and ACLs"

# A file unlinked while open outlives its name until the last close, and
# goes with it (RELEASE comes after close returns: waited for, bounded).
head -c 1000000 /dev/urandom > "$M/closed"
exec 8<"$M/closed"
rm "$M/closed"
[ "$(head -c 1000000 <&8 | wc -c)" = 1000000 ] || fail "read through an open, unlinked file"
exec 8<&-
for _ in $(seq 1 200); do
  python3 -c "import os,sys; os.fsync(os.open(sys.argv[1], os.O_RDONLY))" "$M"
  [ "$("$BRUCE" count "$S" --tree orphans)" = 0 ] && break
  sleep 0.05
done
[ "$("$BRUCE" count "$S" --tree orphans)" = 0 ] || fail "the orphan outlived its last close"
ok "an orphan goes at its last close"

# A crash (kill -9) with an orphan open leaves it in the orphan trees, and
# the next mount frees it.
head -c 3000000 /dev/urandom > "$M/orphan"
exec 7<>"$M/orphan"
rm "$M/orphan"
[ "$(head -c 3000000 <&7 | wc -c)" = 3000000 ] || fail "read through an open, unlinked file"
python3 -c "import os,sys; os.fsync(os.open(sys.argv[1], os.O_RDONLY))" "$M"
kill -9 "$BFS_PID"
wait "$BFS_PID" 2>/dev/null || true
exec 7<&-
fusermount3 -uz "$M" 2>/dev/null || true
[ "$("$BRUCE" count "$S" --tree orphans)" = 1 ] || fail "the orphan was not in the store at the crash"
"$BRUCE" check "$S" > "$WORK/check.out" || fail "bruce check with an orphan"
grep -q '^note: 1 files unlinked while open' "$WORK/check.out" || fail "check does not count the orphan: $(cat "$WORK/check.out")"
used=$("$BRUCE" stat "$S" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['pages_used'])")
bfs_mount "$S" "$M"
bfs_umount "$M"
[ "$("$BRUCE" count "$S" --tree orphans)" = 0 ] || fail "the orphan was not freed at mount"
"$BRUCE" check "$S" > /dev/null || fail "bruce check after freeing the orphan"
now=$("$BRUCE" stat "$S" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['pages_used'])")
[ "$now" -lt $((used - 600)) ] || fail "the orphan's pages did not come back: $used -> $now"
ok "an orphan left by kill -9 is freed at the next mount ($used -> $now pages)"

# A name of a hard-linked file whose first name the CLI deleted (bruce del
# of its key) shows as an empty file with no permissions and can be
# removed; its directory still lists and empties.
bfs_mount "$S" "$M"
mkdir "$M/dl"
echo x > "$M/dl/first"
ln "$M/dl/first" "$M/dl/second"
bfs_umount "$M"
"$BRUCE" del "$S" dl/first > /dev/null
bfs_mount "$S" "$M"
[ "$(ls "$M/dl" | tr '\n' ' ')" = "second " ] || fail "listing with a dangling name: $(ls "$M/dl")"
[ "$(stat -c '%a %s' "$M/dl/second")" = "0 0" ] || fail "dangling name: $(stat -c '%a %s' "$M/dl/second")"
rm "$M/dl/second"
rmdir "$M/dl" || fail "the directory of a removed dangling name does not empty"
ok "a hard link whose first name the CLI deleted can be seen and removed"
