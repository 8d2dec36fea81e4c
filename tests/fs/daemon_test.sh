#!/usr/bin/env bash
# The daemon as the system runs it: brucefs detaches once the mount is up
# and its parent exits 0 only then; every failure to mount (missing or
# corrupt store, bad option, missing or busy mount point, a store in use)
# exits non-zero with one line and leaves nothing mounted; SIGTERM to the
# detached daemon and a lazy unmount commit what was written.
source "$(dirname "$0")/lib.sh"
S=$WORK/s.bruce M=$WORK/m
mkdir -p "$M"
MOUNTS+=("$M")
"$BRUCE" create "$S" >/dev/null

# daemon_pid STORE: the detached daemon serving STORE.
daemon_pid() { pgrep -f "^$BRUCEFS $1 " | head -1; }
# wait_exit PID: bounded wait for a process that is not our child.
wait_exit() {
  for _ in $(seq 1 600); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
  fail "process $1 did not exit"
}

"$BRUCEFS" "$S" "$M" -o txg_timeout=60 2>"$WORK/err" || fail "detached mount: $(cat "$WORK/err")"
mountpoint -q "$M" || fail "the parent returned before the mount was up"
[ ! -s "$WORK/err" ] || fail "a good mount printed: $(cat "$WORK/err")"
pid=$(daemon_pid "$S")
[ -n "$pid" ] && PIDS+=("$pid") || fail "no daemon"
[ "$(ps -o tty= -p "$pid" | tr -d ' ')" = "?" ] || fail "the daemon kept a terminal"
echo "before TERM" > "$M/f"
ok "brucefs detaches once mounted"

# failure CASE ARGS...: must exit non-zero with one line, nothing mounted on
# the mount point it was given.
failure() {
  local what=$1 rc=0 mnt
  shift
  mnt=$2
  "$BRUCEFS" "$@" 2>"$WORK/err" >/dev/null || rc=$?
  [ "$rc" != 0 ] || fail "$what: exit 0"
  [ "$(wc -l < "$WORK/err")" = 1 ] || fail "$what: not one line: $(cat "$WORK/err")"
  if [ "$mnt" != "$M" ] && mountpoint -q "$mnt" 2>/dev/null; then fail "$what: left mounted"; fi
  echo "  $what: exit $rc: $(cat "$WORK/err")"
}
M2=$WORK/m2
mkdir -p "$M2"
head -c 200000 /dev/urandom > "$WORK/corrupt.bruce"
failure "missing store" "$WORK/none.bruce" "$M2"
failure "corrupt store" "$WORK/corrupt.bruce" "$M2"
failure "bad option" "$S" "$M2" -o frobnicate
failure "missing mount point" "$S" "$WORK/nodir"
failure "busy mount point" "$WORK/none.bruce" "$M" -o create
failure "store in use" "$S" "$M2"
[ ! -e "$WORK/none.bruce" ] || fail "a refused mount made a store"
ok "failed mounts exit non-zero with one line and leave nothing mounted"

kill -TERM "$pid"
wait_exit "$pid"
mountpoint -q "$M" && fail "still mounted after SIGTERM"
[ "$("$BRUCE" get "$S" f)" = "before TERM" ] || fail "SIGTERM did not commit"
ok "SIGTERM to the detached daemon commits and unmounts"

"$BRUCEFS" "$S" "$M" -o txg_timeout=60 || fail "mount"
pid=$(daemon_pid "$S")
PIDS+=("$pid")
exec 5>"$M/lazy"
umount -l "$M"
mountpoint -q "$M" && fail "still mounted after umount -l"
kill -0 "$pid" || fail "the daemon left while a file was open"
echo "written after the lazy unmount" >&5
exec 5>&-
wait_exit "$pid"
[ "$("$BRUCE" get "$S" lazy)" = "written after the lazy unmount" ] || fail "the lazy unmount lost data"
ok "a lazy unmount: the daemon serves open files, then commits and exits"

"$BRUCEFS" "$S" "$M" -o txg_timeout=60 || fail "mount"
pid=$(daemon_pid "$S")
PIDS+=("$pid")
echo "at umount" > "$M/u"
umount "$M"
wait_exit "$pid"
[ "$("$BRUCE" get "$S" u)" = "at umount" ] || fail "umount did not commit"
ok "umount commits and the daemon exits"
