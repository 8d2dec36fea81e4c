#!/usr/bin/env bash
# Replication: a brucefs tree (files, xattrs, symlinks, a sparse 200 MiB
# file, hard links) is sent from a mounted store and received into a new
# one, then changed and sent again incrementally, twice; after each step
# the target mounts byte-identical (stat, xattrs, content) to the source's
# snapshot, its root hashes per tree equal the source's, and `bruce diff`
# between the two stores' snapshots is empty.
source "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
S=$WORK/s.bruce T=$WORK/t.bruce M=$WORK/m TM=$WORK/tm
seed=${BRUCE_SEED:-$RANDOM}
echo "replicate: seed $seed (BRUCE_SEED=$seed replays)"
python3 "$here/treegen.py" "$WORK/src" "$seed" 1000 4 >/dev/null
bfs_mount "$S" "$M" -o create
src_pid=$BFS_PID
cp -a "$WORK/src" "$M/tree"
truncate -s 200M "$M/sparse"
printf 'middle' | dd of="$M/sparse" bs=1 seek=$((100 << 20)) conv=notrunc status=none
ln -s tree "$M/link"
ln "$M/sparse" "$M/sparse-link"
setfattr -n user.colour -v blue "$M/sparse"
mkdir "$M/.snapshots/s1"

# same_as SNAP: the target, mounted read-only, is the source's snapshot.
same_as() {
  local snap=$1
  bfs_mount "$T" "$TM" -o ro
  python3 "$here/treestat.py" "$M/.snapshots/$snap" > "$WORK/want.stat"
  python3 "$here/treestat.py" "$TM" > "$WORK/got.stat"
  diff "$WORK/want.stat" "$WORK/got.stat" > "$WORK/stat.diff" || fail "$snap: stat/xattrs differ: $(head "$WORK/stat.diff")"
  diff -r --no-dereference "$M/.snapshots/$snap" "$TM" > "$WORK/diff" || fail "$snap: content: $(head "$WORK/diff")"
  [ "$(stat -c %b "$TM/sparse")" -lt 1000 ] || fail "the sparse file is not sparse on the target"
  [ "$(stat -c %i "$TM/sparse")" = "$(stat -c %i "$TM/sparse-link")" ] || fail "hard link lost"
  fusermount3 -u "$TM"
  for t in $("$BRUCE" trees "$S" --snapshot "$snap"); do
    [ "$("$BRUCE" root-hash "$S" --snapshot "$snap" --tree "$t")" = \
      "$("$BRUCE" root-hash "$T" --snapshot "$snap" --tree "$t")" ] || fail "$snap: tree $t's hash differs"
    [ -z "$("$BRUCE" diff "$T" "$snap" @live --tree "$t")" ] || fail "$snap: the target's live differs"
  done
}

"$BRUCE" send "$S" s1 > "$WORK/full" || fail "send from a mounted store"
"$BRUCE" receive "$T" --create < "$WORK/full" > "$WORK/recv" || fail "receive: $(cat "$WORK/recv")"
same_as s1
ok "full stream: $(stat -c %s "$WORK/full") bytes; $(cat "$WORK/recv")"

for step in 2 3; do
  echo "change $step" >> "$M/tree/$(ls "$M/tree" | head -1)"
  printf 'X' | dd of="$M/sparse" bs=1 seek=$((step << 20)) conv=notrunc status=none
  rm -rf "$M/tree/$(ls "$M/tree" | sed -n 2p)"
  setfattr -n user.step -v "$step" "$M/link" -h 2>/dev/null || setfattr -n user.step -v "$step" "$M/sparse"
  mkdir "$M/new$step"
  mkdir "$M/.snapshots/s$step"
  "$BRUCE" send "$S" "s$step" --from "s$((step - 1))" > "$WORK/inc" || fail "incremental send"
  "$BRUCE" receive "$T" < "$WORK/inc" > "$WORK/recv" || fail "incremental receive"
  same_as "s$step"
  [ "$(stat -c %s "$WORK/inc")" -lt $(( $(stat -c %s "$WORK/full") / 10 )) ] ||
    fail "the incremental stream is $(stat -c %s "$WORK/inc") bytes, the full one $(stat -c %s "$WORK/full")"
  ok "incremental stream $step: $(stat -c %s "$WORK/inc") bytes; $(cat "$WORK/recv")"
done
BFS_PID=$src_pid
bfs_umount "$M"
"$BRUCE" check "$T" >/dev/null || fail "check of the target"
ok "the target checks clean"
