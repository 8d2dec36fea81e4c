#!/usr/bin/env bash
# rsync -aX of a generated tree into the mount and back out: byte-identical,
# modes, ns mtimes and xattrs kept; a second rsync each way moves nothing;
# the same after a remount.
#   BRUCEFS_SMALL_FILES (default 10000), BRUCEFS_BIG_MB (default 200),
#   BRUCE_SEED (default random, printed).
source "$(dirname "$0")/lib.sh"
here=$(dirname "$0")
S=$WORK/s.bruce M=$WORK/m SRC=$WORK/src OUT=$WORK/out
seed=${BRUCE_SEED:-$RANDOM}
echo "rsync: seed $seed (BRUCE_SEED=$seed replays)"
python3 "$here/treegen.py" "$SRC" "$seed" "${BRUCEFS_SMALL_FILES:-10000}" "${BRUCEFS_BIG_MB:-200}"
python3 "$here/treestat.py" "$SRC" > "$WORK/src.stat"

bfs_mount "$S" "$M" -o create
t0=$(date +%s.%N)
rsync -aX "$SRC/" "$M/tree/"
t1=$(date +%s.%N)
echo "rsync in: $(awk "BEGIN{print $t1 - $t0}") s"
python3 "$here/treestat.py" "$M/tree" > "$WORK/mnt.stat"
diff "$WORK/src.stat" "$WORK/mnt.stat" || fail "the tree in the mount differs"
ok "rsync -aX in"

out=$(rsync -aXi "$SRC/" "$M/tree/")
[ -z "$out" ] || fail "a second rsync in transferred: $(echo "$out" | head)"
ok "second rsync in moves nothing"

bfs_umount "$M"
"$BRUCE" check "$S" >/dev/null || fail "bruce check"
bfs_mount "$S" "$M"
t0=$(date +%s.%N)
rsync -aX "$M/tree/" "$OUT/"
t1=$(date +%s.%N)
echo "rsync out: $(awk "BEGIN{print $t1 - $t0}") s"
diff -r --no-dereference "$SRC" "$OUT" > "$WORK/diff" || fail "diff -r: $(head "$WORK/diff")"
python3 "$here/treestat.py" "$OUT" > "$WORK/out.stat"
diff "$WORK/src.stat" "$WORK/out.stat" || fail "modes, mtimes or xattrs differ after the round trip"
ok "rsync -aX out after a remount: byte-identical, modes, ns mtimes, xattrs"

out=$(rsync -aXi "$M/tree/" "$OUT/")
[ -z "$out" ] || fail "a second rsync out transferred: $(echo "$out" | head)"
out=$(rsync -aXi "$SRC/" "$M/tree/")
[ -z "$out" ] || fail "rsync in after a remount transferred: $(echo "$out" | head)"
ok "second rsyncs move nothing"
[ -z "$(ls -A "$M" | grep -x .snapshots)" ] || fail ".snapshots listed"
bfs_umount "$M"
