#!/usr/bin/env bash
# Readers in other processes beside a mounted store. While the CLI keeps
# changing pairs of keys through the daemon (each change of a pair one
# request, synced: one durable commit) and files are written through the
# mount, another process runs 1,000 read transactions (dump, ls, count,
# get) with the bruce CLI: none fails, none sees a pair torn.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
S=$WORK/s.bruce M=$WORK/m
seed=${BRUCE_SEED:-$RANDOM}
echo "readers: seed $seed (BRUCE_SEED=$seed replays)"
"$BRUCE" create "$S" >/dev/null
printf 'p/0/a\tx\np/0/b\tx\ngen\t0\n' | "$BRUCE" load "$S"
bfs_mount "$S" "$M" -o txg_timeout=1

# The writer: pairs through the daemon, files through the mount.
(
  gen=1
  while [ ! -e "$WORK/stop" ]; do
    i=$((gen % 50)) v="$gen-$RANDOM"
    printf 'p/%s/a\t%s\np/%s/b\t%s\ngen\t%s\n' "$i" "$v" "$i" "$v" "$gen" | "$BRUCE" load "$S"
    head -c $((RANDOM * 4)) /dev/urandom > "$M/f$((gen % 20))"
    "$BRUCE" sync "$S"
    gen=$((gen + 1))
  done
) &
writer=$!
PIDS+=("$writer")
python3 "$here/pair_reader.py" "$BRUCE" "$S" "$seed" 1000 > "$WORK/reader.out" || {
  touch "$WORK/stop"
  fail "reader: $(cat "$WORK/reader.out")"
}
touch "$WORK/stop"
wait "$writer" || fail "the writer failed"
ok "$(cat "$WORK/reader.out")"
bfs_umount "$M"
"$BRUCE" check "$S" >/dev/null || fail "check"
ok "check after the churn"
