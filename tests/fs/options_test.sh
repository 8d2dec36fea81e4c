#!/usr/bin/env bash
# The daemon's command line: usage errors exit 2 with a message, a store in
# use is refused clearly, -o ro is read-only, -o create, the mount(8) helper
# mounts in the background, SIGTERM and SIGINT commit and exit cleanly.
source "$(dirname "$0")/lib.sh"
S=$WORK/s.bruce M=$WORK/m
mkdir -p "$M"

expect_usage() {
  local out rc=0
  out=$("$BRUCEFS" "$@" 2>&1) || rc=$?
  [ "$rc" = 2 ] || fail "brucefs $*: exit $rc, want 2"
  echo "$out" | grep -q "$EXPECT" || fail "brucefs $*: message '$out' lacks '$EXPECT'"
}
EXPECT="unknown option 'bogus'" expect_usage "$S" "$M" -o bogus
EXPECT="snapdir must be" expect_usage "$S" "$M" -o snapdir=maybe
EXPECT="txg_timeout must be" expect_usage "$S" "$M" -o txg_timeout=soon
EXPECT="dirty_max must be" expect_usage "$S" "$M" -o dirty_max=lots
EXPECT="read_ahead must be" expect_usage "$S" "$M" -o read_ahead=2M
EXPECT="read_ahead must be" expect_usage "$S" "$M" -o read_ahead=5000
EXPECT="expected STORE and MOUNTPOINT" expect_usage "$S"
EXPECT="unknown flag" expect_usage "$S" "$M" --frobnicate
"$BRUCEFS" --help | grep -q "usage: brucefs" || fail "--help"
ok "usage errors exit 2"

rc=0; out=$("$BRUCEFS" "$S" "$M" 2>&1) || rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "no such store" || fail "missing store: $rc $out"
ok "a missing store needs -o create"

bfs_mount "$S" "$M" -o create,txg_timeout=1,dirty_max=64M,cache_size=32M,snapdir=visible
echo data > "$M/file"
bdi=/sys/class/bdi/$(mountpoint -d "$M")/read_ahead_kb
if [ "$(id -u)" = 0 ] && [ -w "$bdi" ]; then
  [ "$(cat "$bdi")" = 1024 ] || fail "readahead by default: $(cat "$bdi") KiB, want 1024"
  ok "the mount reads ahead 1 MiB"
fi
ls -a "$M" | grep -qx .snapshots || fail "snapdir=visible lists .snapshots"
rc=0; out=$("$BRUCEFS" "$S" "$WORK" -f 2>&1) || rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "in use by another process" || fail "busy: $rc $out"
ok "a store in use is refused: $out"
"$BRUCE" put "$S" k v || fail "the CLI's put through the daemon"
kill -TERM "$BFS_PID"
wait "$BFS_PID" || fail "brucefs exit status after SIGTERM"
mountpoint -q "$M" && fail "still mounted after SIGTERM"
[ "$("$BRUCE" get "$S" file)" = data ] || fail "SIGTERM did not commit"
[ "$("$BRUCE" get "$S" k)" = v ] || fail "SIGTERM did not commit the CLI's put"
ok "SIGTERM commits, unmounts and exits 0"

bfs_mount "$S" "$M" -o two_sync
echo more > "$M/file2"
kill -INT "$BFS_PID"
wait "$BFS_PID" || fail "brucefs exit status after SIGINT"
[ "$("$BRUCE" get "$S" file2)" = more ] || fail "SIGINT did not commit"
ok "SIGINT commits"

# fdatasyncs the daemon makes for one fsync: one by default, two with two_sync.
syncs_per_fsync() {
  bfs_mount "$S" "$M" -o "txg_timeout=0$1"
  echo x > "$M/synced"
  python3 -c 'import os,sys; f=os.open(sys.argv[1], os.O_RDONLY); os.fsync(f)' "$M/synced"
  strace -f -e trace=fdatasync -p "$BFS_PID" -o "$WORK/strace.out" 2>"$WORK/strace.err" &
  local st=$!
  for _ in $(seq 1 200); do grep -q attached "$WORK/strace.err" 2>/dev/null && break; sleep 0.05; done
  echo y >> "$M/synced"
  python3 -c 'import os,sys; f=os.open(sys.argv[1], os.O_RDONLY); os.fsync(f)' "$M/synced"
  kill "$st"; wait "$st" 2>/dev/null || true
  bfs_umount "$M"
  grep -c "fdatasync(" "$WORK/strace.out" || true
}
if command -v strace >/dev/null && [ "$(id -u)" = 0 ]; then
  n=$(syncs_per_fsync "")
  [ "$n" = 1 ] || fail "one fsync made $n fdatasyncs by default, want 1"
  n=$(syncs_per_fsync ",two_sync")
  [ "$n" = 2 ] || fail "one fsync made $n fdatasyncs with two_sync, want 2"
  ok "an fsync is one fdatasync, two with -o two_sync"
fi

bfs_mount "$S" "$M" -o ro,read_ahead=256K
[ "$(cat "$M/file")" = data ] || fail "read on ro"
bdi=/sys/class/bdi/$(mountpoint -d "$M")/read_ahead_kb
if [ "$(id -u)" = 0 ] && [ -w "$bdi" ]; then
  [ "$(cat "$bdi")" = 256 ] || fail "read_ahead=256K: $(cat "$bdi") KiB"
  ok "-o read_ahead sets the mount's readahead"
fi
rc=0; touch "$M/new" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "write on a ro mount"
mkdir "$M/.snapshots/x" 2>/dev/null && fail "snapshot on a ro mount"
"$BRUCE" get "$S" file >/dev/null || fail "a ro mount blocks CLI readers"
bfs_umount "$M"
ok "-o ro"

# Beside a read-write mount: the CLI reads the mounted store, and a -o ro
# mount in another process follows its commits (each opendir, and every
# txg_timeout) while the writer never reuses what the ro mount reads.
M2=$WORK/m2
bfs_mount "$S" "$M"
rw_pid=$BFS_PID
echo one > "$M/one"
python3 -c "import os, sys; os.fsync(os.open(sys.argv[1], os.O_RDONLY))" "$M"
bfs_mount "$S" "$M2" -o ro
ro_pid=$BFS_PID
[ "$(cat "$M2/one")" = one ] || fail "the ro mount does not see the writer's commit"
for c in "count $S" "get $S one" "ls $S" "dump $S" "rank $S one" "nth $S 0" "check $S" \
         "root-hash $S" "trees $S" "snapshot list $S"; do
  # shellcheck disable=SC2086
  "$BRUCE" $c > "$WORK/cli.out" 2>&1 || fail "bruce $c on a mounted store: $(cat "$WORK/cli.out")"
done
mkdir "$M/.snapshots/beside"
[ "$("$BRUCE" get "$S" one --snapshot beside)" = one ] || fail "--snapshot read on a mounted store"
"$BRUCE" stat "$S" | grep -q "^reader 1: *pid $ro_pid," || fail "bruce stat does not list the ro mount: $("$BRUCE" stat "$S" | grep reader)"
echo two > "$M/two"
python3 -c "import os, sys; os.fsync(os.open(sys.argv[1], os.O_RDONLY))" "$M"
ls "$M2" | grep -qx two || fail "an opendir on the ro mount does not follow the writer"
[ "$(cat "$M2/two")" = two ] || fail "the ro mount lists two but cannot read it"
fusermount3 -u "$M2"
BFS_PID=$rw_pid
bfs_umount "$M"
wait "$ro_pid" 2>/dev/null || true
"$BRUCE" check "$S" > /dev/null || fail "check after a ro mount beside a rw one"
ok "CLI readers and a ro mount beside a read-write mount"

# The mount(8) helper: daemonizes, returns once mounted; fstab-only
# options are ignored. (Invoked directly: installing into /sbin is not
# done by tests.)
BRUCEFS="$BRUCEFS" "$MOUNT_HELPER" "$S" "$M" -o defaults,noauto,nofail,_netdev,x-systemd.automount,nosuid
MOUNTS+=("$M")
mountpoint -q "$M" || fail "helper did not mount"
grep " $M fuse.brucefs " /proc/mounts | grep -q nosuid || fail "fuse.brucefs type and nosuid"
echo helper > "$M/h"
pid=$(pgrep -f "^$BRUCEFS $S $M" | head -1)
[ -n "$pid" ] || fail "no daemon"
fusermount3 -u "$M"
for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "daemon did not exit after umount"
[ "$("$BRUCE" get "$S" h)" = helper ] || fail "umount did not commit"
ok "mount helper, umount commits"
