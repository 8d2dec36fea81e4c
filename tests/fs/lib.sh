# Helpers for the filesystem tests: sourced, not run.
#   BRUCEFS, BRUCE: paths of the built daemon and CLI (set by CTest).
# Every mount is made under $WORK (a mktemp -d) and unmounted by the EXIT
# trap whatever happens.
set -euo pipefail
: "${BRUCEFS:?BRUCEFS must point at the brucefs binary}"
: "${BRUCE:?BRUCE must point at the bruce CLI}"

WORK=$(mktemp -d /tmp/brucefs-test.XXXXXX)
MOUNTS=()
PIDS=()

cleanup() {
  local rc=$?
  for m in "${MOUNTS[@]}"; do
    if mountpoint -q "$m" 2>/dev/null; then
      fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" || true
    fi
  done
  for p in "${PIDS[@]}"; do
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# Waits (bounded) until $1 is a mount point.
wait_mounted() {
  for _ in $(seq 1 200); do
    mountpoint -q "$1" && return 0
    sleep 0.05
  done
  fail "$1 was not mounted"
}

# bfs_mount STORE MNT [brucefs args...]: mounts in the foreground process
# run in the background; sets BFS_PID to the daemon's pid.
bfs_mount() {
  local store=$1 mnt=$2
  shift 2
  mkdir -p "$mnt"
  MOUNTS+=("$mnt")
  # (background jobs of a script ignore SIGINT; the daemon must not)
  env --default-signal=INT "$BRUCEFS" "$store" "$mnt" -f "$@" 2>>"$WORK/daemon.log" &
  BFS_PID=$!
  PIDS+=("$BFS_PID")
  wait_mounted "$mnt"
}

# bfs_umount MNT: unmounts and waits for the daemon (which commits) to exit.
bfs_umount() {
  local mnt=$1
  fusermount3 -u "$mnt"
  for _ in $(seq 1 600); do
    kill -0 "$BFS_PID" 2>/dev/null || { wait "$BFS_PID" 2>/dev/null || true; return 0; }
    sleep 0.05
  done
  fail "brucefs did not exit after unmounting $mnt"
}
