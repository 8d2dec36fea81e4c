#!/usr/bin/env bash
# kill -9 the daemon in the middle of a copy and of fsync'ed writes, three
# times; after each: `bruce check` passes, every fsync'ed file is intact,
# no file holds anything but a prefix of what was written to it. Meanwhile
# bruce read commands run beside the daemon and are killed at random
# points: every one that finishes succeeds, and no dead reader's slot
# stays in the reader table.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
S=$WORK/s.bruce M=$WORK/m SRC=$WORK/src
seed=${BRUCE_SEED:-$RANDOM}
echo "crash: seed $seed (BRUCE_SEED=$seed replays)"
python3 "$here/treegen.py" "$SRC" "$seed" 1500 4 >/dev/null
"$BRUCE" create "$S" >/dev/null
for round in 1 2 3; do
  bfs_mount "$S" "$M" -o txg_timeout=1
  : > "$WORK/log.$round"
  rm -rf "$M/copy$round"
  cp -a "$SRC" "$M/copy$round" 2>/dev/null &
  cp_pid=$!
  python3 "$here/crash_writer.py" "$M" "$WORK/log.$round" "$((seed + round))" &
  w_pid=$!
  python3 "$here/crash_reader.py" "$BRUCE" "$S" "$((seed + round))" "$WORK/readers.$round" &
  r_pid=$!
  want=$((10 + (seed + round) % 30))
  for _ in $(seq 1 600); do
    [ "$(wc -l < "$WORK/log.$round")" -ge "$want" ] && break
    sleep 0.05
  done
  [ "$(wc -l < "$WORK/log.$round")" -ge "$want" ] || fail "the writer made no progress"
  kill -9 "$BFS_PID"
  wait "$BFS_PID" 2>/dev/null || true
  fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M"
  wait "$w_pid" 2>/dev/null || true
  wait "$cp_pid" 2>/dev/null || true
  kill -TERM "$r_pid"
  wait "$r_pid" || fail "the reader process"
  read -r done killed < "$WORK/readers.$round"
  [ "$(wc -l < "$WORK/readers.$round")" = 1 ] || fail "readers failed: $(tail -n +2 "$WORK/readers.$round")"
  [ $((done + killed)) -gt 0 ] || fail "no reader ran"
  "$BRUCE" stat "$S" > "$WORK/stat"
  grep -q "^readers: *0$" "$WORK/stat" || fail "a dead reader's slot is still live: $(cat "$WORK/stat")"
  "$BRUCE" check "$S" > "$WORK/check" || fail "bruce check after kill -9: $(cat "$WORK/check")"
  bfs_mount "$S" "$M"
  (cd "$here" && python3 crash_check.py "$M" "$WORK/log.$round" "$SRC" "$M/copy$round") ||
    fail "round $round"
  bfs_umount "$M"
  ok "kill -9 round $round ($want+ fsync'ed files; $done reads finished, $killed readers killed)"
done
