#!/usr/bin/env bash
# rsync -aHAX of a tree of special things into the mount, back out, out of a
# snapshot and after a remount: hard-link sets (across directories, also of
# a FIFO, a device and a symlink), FIFOs, UNIX sockets, char/block devices
# (rdev), symlinks (dangling too), setuid/setgid/sticky modes, owners,
# user.* xattrs, access and default POSIX ACLs, ns mtimes, a sparse file,
# a 255-byte name and a 4,000-byte path all come back as they were (compared by
# treegen_special.py stat, link groups by path, not by inode number).
# Snapshots keep modes, owners, times and link groups while the live tree
# changes; st_ino survives a remount; the sparse file stays sparse.
#   BRUCE_SEED (default random, printed). Needs root (mknod, chown).
source "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
S=$WORK/s.bruce M=$WORK/m SRC=$WORK/src OUT=$WORK/out OUT2=$WORK/out2
if [ "$(id -u)" != 0 ]; then
  echo "tree: SKIPPED, needs root (mknod, chown of the source tree)"
  exit 0
fi
seed=${BRUCE_SEED:-$RANDOM}
echo "tree: seed $seed (BRUCE_SEED=$seed replays)"

tstat() { python3 "$here/treegen_special.py" stat "$1"; }
# same NAME DIR [EXPECTED]: DIR's listing equals EXPECTED's (default src).
same() {
  local name=$1 dir=$2 want=${3:-$WORK/src.stat}
  tstat "$dir" > "$WORK/$name.stat" || fail "$name: listing $dir failed"
  if ! diff "$want" "$WORK/$name.stat" > "$WORK/$name.diff"; then
    fail "$name: $dir differs from $(basename "$want" .stat) ($(grep -c '^[<>]' "$WORK/$name.diff") lines; < expected, > got):
$(head -n 24 "$WORK/$name.diff")"
  fi
}
# run_rsync WHAT ARGS...: rsync must exit 0; its stderr shown if not.
run_rsync() {
  local what=$1 rc=0
  shift
  rsync "$@" 2> "$WORK/rsync.err" || rc=$?
  [ "$rc" = 0 ] || fail "$what: rsync $* exited $rc: $(head -n 12 "$WORK/rsync.err")"
}
# nothing_moves WHAT ARGS...: rsync -i ARGS itemizes nothing.
nothing_moves() {
  local what=$1 out rc=0
  shift
  out=$(rsync -i "$@" 2> "$WORK/rsync.err") || rc=$?
  [ "$rc" = 0 ] || fail "$what: rsync -i $* exited $rc: $(head -n 12 "$WORK/rsync.err")"
  [ -z "$out" ] || fail "$what: rsync -i $* itemized $(echo "$out" | wc -l) entries: $(echo "$out" | head -n 12)"
}
# sparse_ok FILE: st_blocks*512 well under the size (at most 1 MiB held).
sparse_ok() {
  local b s
  read -r b s < <(stat -c '%b %s' "$1")
  [ $((b * 512)) -lt "$s" ] && [ $((b * 512)) -le $((1 << 20)) ] ||
    fail "$1 is not sparse: st_blocks $b (x512 = $((b * 512))), st_size $s"
}

# 1. the source tree
python3 "$here/treegen_special.py" gen "$SRC" "$seed"
tstat "$SRC" > "$WORK/src.stat"
ok "source tree: $(wc -l < "$WORK/src.stat") entries"

# 2./3. rsync -aHAX into a new store
bfs_mount "$S" "$M" -o create
run_rsync "rsync in" -aHAX "$SRC/" "$M/tree/"
same mnt "$M/tree"
sparse_ok "$M/tree/sparse.img"
ok "rsync -aHAX in: contents, types, modes, owners, mtimes, rdev, xattrs, ACLs, link groups"
nothing_moves "checksum dry run" -aHAXc --dry-run "$SRC/" "$M/tree/"
nothing_moves "second rsync in" -aHAX "$SRC/" "$M/tree/"
ok "rsync -aHAXc --dry-run and a second rsync -aHAX move nothing"

# cp -al makes a tree of hard links to every file: same inode, one more link
f=$(find "$M/tree" -type f -links 1 -print -quit)
[ -n "$f" ] || fail "no file with one link to check cp -al with"
cp -al "$M/tree" "$M/linked" || fail "cp -al inside the mount"
[ "$(stat -c '%i %h' "$f")" = "$(stat -c %i "$M/linked/${f#"$M/tree/"}") 2" ] ||
  fail "cp -al: $(stat -c '%i %h' "$f") vs $(stat -c '%i %h' "$M/linked/${f#"$M/tree/"}")"
rm -rf "$M/linked"
[ "$(stat -c %h "$f")" = 1 ] || fail "rm -rf of the linked copy left $f with $(stat -c %h "$f") links"
same mnt "$M/tree"
ok "cp -al links every file; rm -rf of the copy leaves the tree as it was"

# 4. rsync back out
run_rsync "rsync out" -aHAX "$M/tree/" "$OUT/"
same out "$OUT"
ok "rsync -aHAX out of the mount"

# 5. a snapshot keeps everything while the live tree changes
# (names from the listing: a single-name file with an unusual mode; a
# 3-4 name regular-file link set to lose a name; another to be written)
# (the files picked below are ones of short paths: the 4,000-byte one would
# pass PATH_MAX below .snapshots/NAME/; `sed -n 1p` reads to the end, where
# `head -n 1` could leave its writer a SIGPIPE)
grep -v "^'[^']\{1000,\}'" "$WORK/src.stat" > "$WORK/short.stat"
path_of() { sed -n "s/^'\([^']*\)' $1.*/\1/p" "$WORK/short.stat" | sed -n 1p; }
odd=$(path_of 'f 0o751 [^ ]* [^ ]* nlink=1 ')
[ -n "$odd" ] || odd=$(path_of 'f 0o640 [^ ]* [^ ]* nlink=1 ')
[ -n "$odd" ] || fail "no file with mode 0751 or 0640 in the tree"
odd_mode=$(stat -c %a "$SRC/$odd")
cut_name=$(path_of 'f [^ ]* [^ ]* [^ ]* nlink=[34] ')
[ -n "$cut_name" ] || fail "no 3-4 name link set in the tree"
cut_set=$(grep "^'$cut_name' " "$WORK/short.stat" | sed 's/.*group=//')
grow=$(grep " f .* nlink=2 " "$WORK/short.stat" | grep -vF "$cut_set" | sed -n "s/^'\([^']*\)'.*/\1/p" | sed -n 1p)
[ -n "$grow" ] || fail "no second link set in the tree"
grow_other=$(grep "^'$grow' " "$WORK/src.stat" | sed 's/.*group=//' | tr -d "[]',")
grow_other=$(for n in $grow_other; do [ "$n" != "$grow" ] && echo "$n"; done | sed -n 1p)
ino_file=$(grep " f .* nlink=[234] " "$WORK/short.stat" | grep -vF "$cut_set" | sed -n "s/^'\([^']*\)'.*/\1/p" | grep -vxF "$grow" | grep -vxF "$grow_other" | sed -n 1p)
[ -n "$ino_file" ] || fail "no third link set in the tree"
ino_before=$(stat -c %i "$M/tree/$ino_file")

mkdir "$M/.snapshots/s1" || fail "mkdir .snapshots/s1"
chmod 604 "$M/tree/$odd"
rm "$M/tree/$cut_name"
echo "written after the snapshot" >> "$M/tree/$grow"
[ "$(stat -c %a "$M/tree/$odd")" = 604 ] || fail "live chmod not seen"
cut_nlink=$(grep "^'$cut_name' " "$WORK/src.stat" | sed 's/.* nlink=\([0-9]*\) .*/\1/')
for n in $(echo "$cut_set" | tr -d "[]',"); do
  [ "$n" = "$cut_name" ] && continue
  [ "$(stat -c %h "$M/tree/$n")" = $((cut_nlink - 1)) ] ||
    fail "live $n: nlink $(stat -c %h "$M/tree/$n") after removing $cut_name, want $((cut_nlink - 1))"
done
tail -c 27 "$M/tree/$grow_other" | grep -q "written after the snapshot" || fail "the write is not seen through $grow_other"
same snap "$M/.snapshots/s1/tree"
ok "snapshot s1 shows the tree as it was (live: chmod $odd, rm $cut_name, write to $grow)"
run_rsync "rsync out of the snapshot" -aHAX "$M/.snapshots/s1/tree/" "$OUT2/"
same out2 "$OUT2"
ok "rsync -aHAX out of the snapshot gives the source tree back"
cp -a "$M/.snapshots/s1/tree/$odd" "$WORK/odd.copy" || fail "cp -a out of the snapshot"
got=$(stat -c '%a %u %g %s %.9Y' "$WORK/odd.copy")
want=$(stat -c '%a %u %g %s %.9Y' "$SRC/$odd")
[ "$got" = "$want" ] || fail "cp -a of $odd (mode $odd_mode) out of the snapshot: '$got' (mode uid gid size mtime), want '$want'"
cmp -s "$WORK/odd.copy" "$SRC/$odd" || fail "cp -a of $odd out of the snapshot: content differs"
ok "cp -a out of the snapshot keeps mode $odd_mode, owner, mtime"

# put the live tree back (relinks the removed name, rewrites the file)
run_rsync "rsync to restore" -aHAX --delete "$SRC/" "$M/tree/"
same restored "$M/tree"
ok "rsync -aHAX --delete restores the live tree"

# 6. remount: the store checks clean, everything (and st_ino) is kept
bfs_umount "$M"
"$BRUCE" check "$S" > "$WORK/check.out" 2>&1 || fail "bruce check $S: $(tail -n 12 "$WORK/check.out")"
ok "bruce check"
bfs_mount "$S" "$M"
same remount "$M/tree"
same remount-snap "$M/.snapshots/s1/tree"
ino_after=$(stat -c %i "$M/tree/$ino_file")
[ "$ino_after" = "$ino_before" ] || fail "st_ino of $ino_file was $ino_before, after a remount $ino_after"
for n in $(grep "^'$ino_file' " "$WORK/src.stat" | sed 's/.*group=//' | tr -d "[]',"); do
  [ "$(stat -c %i "$M/tree/$n")" = "$ino_before" ] || fail "st_ino of $n ($(stat -c %i "$M/tree/$n")) is not that of $ino_file ($ino_before) after a remount"
done
nothing_moves "rsync in after a remount" -aHAX "$SRC/" "$M/tree/"
ok "after a remount: tree, snapshot, link groups, nlink and st_ino kept"

# 7. du and sparse copies out of the mount
sp=$M/tree/sparse.img
used=$(du -B1 "$sp" | cut -f1)
apparent=$(du -B1 --apparent-size "$sp" | cut -f1)
[ "$apparent" = $((64 << 20)) ] || fail "du --apparent-size $sp: $apparent"
[ $((used * 16)) -lt "$apparent" ] || fail "du -B1 $sp: $used bytes used of $apparent"
sparse_ok "$sp"
cp --sparse=always "$sp" "$WORK/sparse.always" || fail "cp --sparse=always"
cp -a "$sp" "$WORK/sparse.a" || fail "cp -a of the sparse file"
for f in "$WORK/sparse.always" "$WORK/sparse.a"; do
  cmp -s "$f" "$SRC/sparse.img" || fail "$f differs from the source"
  sparse_ok "$f"
done
ok "du: sparse file uses $used of $apparent bytes; cp --sparse=always and cp -a out stay sparse"

bfs_umount "$M"
echo "tree: done in ${SECONDS}s"
