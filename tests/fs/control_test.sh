#!/usr/bin/env bash
# The bruce CLI on a mounted store: writes go through the daemon's control
# socket and show in the mount at once (the kernel's caches are told),
# `bruce sync` makes them durable (kill -9, remount), exit codes are those
# of an unmounted store, rollback is refused, another uid is refused, a
# store held by a CLI writer still answers Busy, and `bruce status`.
source "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")
S=$WORK/s.bruce M=$WORK/m
"$BRUCE" create "$S" >/dev/null
"$BRUCE" put "$S" old "before"
# No timer: only what is synced survives a kill -9.
bfs_mount "$S" "$M" -o txg_timeout=0

# expect RC CMD...: runs CMD, which must exit RC.
expect() {
  local want=$1 rc=0
  shift
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [ "$rc" = "$want" ] || fail "$* exited $rc, not $want: $(cat "$WORK/err")"
}

# Names and data the kernel has cached change under it.
[ "$(cat "$M/old")" = before ] || fail "old"
[ ! -e "$M/new" ] || fail "new exists early"           # a negative entry now
ls "$M" >/dev/null
expect 0 "$BRUCE" put "$S" new "made by the CLI"
[ "$(cat "$M/new")" = "made by the CLI" ] || fail "a CLI put does not show in the mount"
expect 0 "$BRUCE" put "$S" old "after"
[ "$(cat "$M/old")" = after ] || fail "the kernel kept the old content"
ls "$M" | grep -qx new || fail "the listing misses the new file"
expect 0 "$BRUCE" put "$S" deep/er/file "d"
[ "$(cat "$M/deep/er/file")" = d ] && [ "$(stat -c %h "$M/deep")" = 3 ] || fail "implicit directories"
head -c 5000000 /dev/urandom > "$WORK/big"
"$BRUCE" put "$S" big < "$WORK/big" || fail "a streamed put"
cmp "$WORK/big" "$M/big" || fail "a 5 MB put through the daemon"
printf 'XY' | "$BRUCE" write "$S" old --offset 1 || fail write
[ "$(cat "$M/old")" = aXYer ] || fail "write through the daemon"
expect 0 "$BRUCE" truncate "$S" old 2
[ "$(cat "$M/old")" = aX ] || fail "truncate through the daemon"
printf 'l1\tone\nl2\ttwo\n' | "$BRUCE" load "$S" || fail load
[ "$(cat "$M/l2")" = two ] || fail "load through the daemon"
expect 0 "$BRUCE" del "$S" l1
[ ! -e "$M/l1" ] || fail "a deleted key still shows"
expect 0 "$BRUCE" put "$S" --tree side k v
[ ! -e "$M/viamain" ] || fail "viamain early"
expect 0 "$BRUCE" put "$S" --tree main viamain m
[ "$(cat "$M/viamain")" = m ] || fail "--tree main is the mount's tree"
ok "CLI writes show in the mount at once"

# The same exit codes as on an unmounted store.
expect 1 "$BRUCE" del "$S" nothere
grep -q "key not found: nothere" "$WORK/err" || fail "del message: $(cat "$WORK/err")"
expect 1 "$BRUCE" truncate "$S" nothere 0
expect 1 "$BRUCE" del "$S" --tree nosuch k
grep -q "no such tree: nosuch" "$WORK/err" || fail "tree message"
expect 2 "$BRUCE" put "$S" --dup k v
expect 2 "$BRUCE" put "$S" --tree side --dup k v
grep -q "exists without duplicate keys" "$WORK/err" || fail "dup message"
printf 'bad line\n' > "$WORK/bad"
expect 2 "$BRUCE" load "$S" < "$WORK/bad"
printf 'a\t1\n' > "$WORK/before"
expect 2 "$BRUCE" load "$S" --append < "$WORK/before"   # not after the last key
[ ! -e "$M/a" ] || fail "a refused load changed something"
expect 2 "$BRUCE" put "$S" "$(head -c 65537 /dev/zero | tr '\0' k)" v
expect 3 "$BRUCE" put "$S" --tree attrs k v
grep -q "belongs to the brucefs mount" "$WORK/err" || fail "attrs message"
# A request that fails half way leaves nothing: not its first records, not
# the tree it made, not what the group held before it.
echo "in the group" > "$M/pending"
printf 'd1\tok\nd2\t%s\n' "$(head -c 2000 /dev/zero | tr '\0' x)" > "$WORK/dupbad"
expect 3 "$BRUCE" load "$S" --tree dupt --dup < "$WORK/dupbad"
grep -q "line 2\|InvalidArgument" "$WORK/err" || fail "dup load message: $(cat "$WORK/err")"
expect 0 "$BRUCE" sync "$S"
"$BRUCE" trees "$S" | grep -qx dupt && fail "a failed load's tree was committed"
[ "$("$BRUCE" get "$S" pending)" = "in the group" ] || fail "the group before a failed request was lost"
[ "$(cat "$M/pending")" = "in the group" ] || fail "the mount lost the group before a failed request"
ok "exit codes match an unmounted store's; a failed request leaves nothing"

ls "$M/.snapshots" >/dev/null
[ ! -e "$M/.snapshots/s1" ] || fail "s1 early"
expect 0 "$BRUCE" snapshot create "$S" s1
[ "$(cat "$M/.snapshots/s1/new")" = "made by the CLI" ] || fail "a CLI snapshot does not show"
ls "$M/.snapshots" | grep -qx s1 || fail "the .snapshots listing misses s1"
expect 3 "$BRUCE" snapshot create "$S" s1
grep -q "snapshot already exists" "$WORK/err" || fail "exists message"
expect 1 "$BRUCE" snapshot destroy "$S" nosuch
expect 3 "$BRUCE" snapshot rollback "$S" s1
grep -q "cannot roll back a mounted store" "$WORK/err" || fail "rollback message"
"$BRUCE" snapshot create "$S" s2
expect 0 "$BRUCE" snapshot destroy "$S" s2
[ ! -e "$M/.snapshots/s2" ] || fail "a destroyed snapshot still shows"
expect 0 "$BRUCE" snapshot auto "$S" --keep-hourly 1 --now 2026-11-28T10:00:00Z
[ -d "$M/.snapshots/auto-2026-11-28T100000Z" ] || fail "snapshot auto on a mounted store"
expect 0 "$BRUCE" snapshot auto "$S" --keep-hourly 1 --now 2026-11-28T11:00:00Z
grep -qx "destroyed auto-2026-11-28T100000Z" "$WORK/out" || fail "auto pruning: $(cat "$WORK/out")"
[ ! -e "$M/.snapshots/auto-2026-11-28T100000Z" ] && [ -d "$M/.snapshots/auto-2026-11-28T110000Z" ] ||
  fail "auto pruning does not show in .snapshots"
expect 0 "$BRUCE" snapshot destroy "$S" auto-2026-11-28T110000Z
expect 0 "$BRUCE" compact "$S"
grep -q "^compacted: [0-9]* -> [0-9]* bytes" "$WORK/out" || fail "compact output"
[ "$(cat "$M/l2")" = two ] || fail "the mount after compact"
ok "snapshots, rollback refused, compact"

exec 8<"$M" 9<"$M/l2"  # a directory handle and a file handle, held
expect 0 "$BRUCE" status "$M"
grep -q "^mountpoint *$M\$" "$WORK/out" && grep -q "^pid *$BFS_PID\$" "$WORK/out" || fail "status: $(cat "$WORK/out")"
grep -q "^memory *RSS [0-9]* MiB (peak [0-9]* MiB); node cache [0-9]* of [0-9]* MiB\$" "$WORK/out" ||
  fail "status memory: $(cat "$WORK/out")"
expect 0 "$BRUCE" status "$S" --json
python3 - "$WORK/out" "$BFS_PID" <<'PY' || fail "status --json: $(cat "$WORK/out")"
import json, sys
st = json.load(open(sys.argv[1]))
assert st["pid"] == int(sys.argv[2]), st
assert st["snapshots"] == 1 and st["txg_timeout_s"] == 0 and not st["read_only"], st
assert st["durable_txn"] <= st["txn"] and st["readers"] == 0, st
# The daemon's memory, from its /proc/PID/status as the reply was made.
assert 0 < st["rss"] <= st["peak_rss"], st
assert 0 < st["cache_bytes"] <= st["cache_budget"], st
assert st["dir_handles"] >= 1 and st["open_files"] >= 1 and st["inodes"] >= 2, st
assert st["views_out"] >= 1, st  # the held directory's pinned view
PY
exec 8<&- 9<&-
expect 1 "$BRUCE" status "$WORK"
ok "bruce status"

# Another uid is refused; root (the owner here) is served.
python3 "$HERE/ctlclient.py" "$S" status > "$WORK/root.out" || fail "root client"
grep -qx "code=0" "$WORK/root.out" && grep -qx "pid=$BFS_PID" "$WORK/root.out" || fail "root: $(cat "$WORK/root.out")"
python3 "$HERE/ctlclient.py" "$S" sync --as-uid 65534 > "$WORK/other.out" || fail "other client"
grep -qx "code=4" "$WORK/other.out" && grep -qx "errno=13" "$WORK/other.out" || fail "another uid was not refused: $(cat "$WORK/other.out")"
ok "a connection from another uid is refused"

# sync makes the open group durable: without the timer, what was not
# synced is lost with the daemon.
expect 0 "$BRUCE" put "$S" synced yes
expect 0 "$BRUCE" sync "$S"
[ "$("$BRUCE" get "$S" --tree side k)" = v ] || fail "a reader does not see the synced commit"
expect 0 "$BRUCE" put "$S" unsynced no
kill -9 "$BFS_PID"
wait "$BFS_PID" 2>/dev/null || true
fusermount3 -uz "$M" 2>/dev/null || true
[ "$("$BRUCE" get "$S" synced)" = yes ] || fail "bruce sync did not make the put durable"
expect 1 "$BRUCE" get "$S" unsynced
"$BRUCE" check "$S" >/dev/null || fail "check after kill -9"
expect 0 "$BRUCE" sync "$S"                 # unmounted: nothing to do
ok "bruce sync, kill -9, remount"

# A store held by a CLI writer (a load waiting on its input): Busy.
S2=$WORK/t.bruce
"$BRUCE" create "$S2" >/dev/null
mkfifo "$WORK/fifo"
"$BRUCE" load "$S2" < "$WORK/fifo" &
LOAD=$!
PIDS+=("$LOAD")
exec 3>"$WORK/fifo"
for _ in $(seq 1 200); do
  ls -l "/proc/$LOAD/fd" 2>/dev/null | grep -q "t.bruce\$" && break
  sleep 0.05
done
expect 3 "$BRUCE" put "$S2" k v
grep -q "Busy" "$WORK/err" || fail "not Busy: $(cat "$WORK/err")"
printf 'x\ty\n' >&3
exec 3>&-
wait "$LOAD" || fail "the load"
[ "$("$BRUCE" get "$S2" x)" = y ] || fail "the load's record"
ok "a store held by a CLI writer answers Busy"
