#!/usr/bin/env bash
# Readers beside a streaming writer on a real mount (tests/fs/parallel_test.py):
# reads of other files, listings and a snapshot's files stay right and keep
# completing while a 48 MiB write with fsyncs is in flight; afterwards the
# store checks clean and a remount holds the file whole.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
S=$WORK/s.bruce M=$WORK/m
seed=${BRUCE_SEED:-$RANDOM}
echo "parallel: seed $seed (BRUCE_SEED=$seed replays)"
mkdir -p "$M"
bfs_mount "$S" "$M" -o create
python3 "$here/parallel_test.py" "$M" "$seed" || fail "parallel_test.py (seed $seed)"
bfs_umount "$M"
"$BRUCE" check "$S" >/dev/null || fail "bruce check after the run"
bfs_mount "$S" "$M"
[ "$(stat -c %s "$M/big")" = $((48 << 20)) ] || fail "big after a remount: $(stat -c %s "$M/big") bytes"
[ "$(ls "$M/lst" | wc -l)" = 48 ] || fail "lst/ after a remount"
bfs_umount "$M"
ok "readers, listers and a snapshot reader kept going beside a streaming write"
