#!/usr/bin/env bash
# bench/fs/mem_bench.sh — the daemon's memory while snapshots are read.
#
#   bench/fs/mem_bench.sh [--dir DIR] [--files N] [--snapshots N]
#                         [--cache BYTES] [--brucefs PATH] [--bruce PATH]
#
# Makes a tree of N files (default 20,000: log-uniform sizes, 64 B to
# 64 KiB, ~50 a directory) in a brucefs mount, takes N snapshots (default
# 100) with a change between each, remounts with -o cache_size=BYTES
# (default 128M), looks into every snapshot (ls of each root), copies one
# snapshot out with cp -a and then two more at once, and prints the
# daemon's peak RSS (VmHWM) after each step against the cache budget. The
# target: peak RSS at most the budget + 64 MiB. Always unmounts and removes
# its files.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
DIR=${TMPDIR:-/tmp}
FILES=20000
SNAPS=100
CACHE=128M
BRUCEFS=$top/build/mount/brucefs
BRUCE=$top/build/tools/bruce
while [ $# -gt 0 ]; do
  case $1 in
    --dir) DIR=$2; shift ;;
    --files) FILES=$2; shift ;;
    --snapshots) SNAPS=$2; shift ;;
    --cache) CACHE=$2; shift ;;
    --brucefs) BRUCEFS=$2; shift ;;
    --bruce) BRUCE=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "mem_bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

WORK=$(mktemp -d "$DIR/mem_bench.XXXXXX")
S=$WORK/store.bruce M=$WORK/mnt
PID=""
cleanup() {
  local rc=$?
  if mountpoint -q "$M" 2>/dev/null; then fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" || true; fi
  [ -z "$PID" ] || { for _ in $(seq 1 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done; kill -9 "$PID" 2>/dev/null || true; }
  [ $rc = 0 ] || tail -20 "$WORK/daemon.log" >&2 || true
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount_bfs() {
  mkdir -p "$M"
  "$BRUCEFS" "$S" "$M" -f -o "$1" 2>>"$WORK/daemon.log" &
  PID=$!
  for _ in $(seq 1 200); do mountpoint -q "$M" && return 0; sleep 0.05; done
  echo "mem_bench: brucefs did not mount" >&2
  exit 1
}
umount_bfs() {
  fusermount3 -u "$M"
  wait "$PID" || { echo "mem_bench: brucefs exited $?" >&2; exit 1; }
  PID=""
}
mib() { awk "/$1/{printf \"%.0f\", \$2 / 1024}" "/proc/$PID/status"; }
step() { printf '  %-44s RSS %5s MiB, peak %5s MiB\n' "$1" "$(mib VmRSS)" "$(mib VmHWM)" >&2; }

echo "mem_bench: $FILES files, $SNAPS snapshots, cache_size=$CACHE" >&2
mount_bfs create
python3 "$here/gen_tree.py" "$M/tree" "$FILES"
for i in $(seq 1 "$SNAPS"); do
  echo "$i" > "$M/tree/counter"
  mkdir "$M/.snapshots/s$i"
done
umount_bfs
sync
echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true

mount_bfs "cache_size=$CACHE"
step "mounted"
for i in $(seq 1 "$SNAPS"); do ls "$M/.snapshots/s$i/tree" >/dev/null; done
step "ls of every snapshot's tree"
mid=$(( (SNAPS + 1) / 2 ))
cp -a "$M/.snapshots/s$mid/tree" "$WORK/out1"
step "cp -a of snapshot s$mid"
diff -r "$WORK/out1" "$M/.snapshots/s$mid/tree" >/dev/null || { echo "mem_bench: the copy differs" >&2; exit 1; }
cp -a "$M/.snapshots/s1/tree" "$WORK/out2" & c1=$!
cp -a "$M/.snapshots/s$SNAPS/tree" "$WORK/out3" & c2=$!
wait $c1 $c2
step "two more cp -a at once"
peak=$(mib VmHWM)
budget=$(awk -v c="$CACHE" 'BEGIN{n=c+0; u=substr(c,length(c)); if(u=="K")n*=1/1024; else if(u=="G")n*=1024; else if(u!="M")n/=1048576; printf "%.0f", n}')
"$BRUCE" status "$M" >&2 || true
umount_bfs
echo
echo "$(date -u +%Y-%m-%d) · $(uname -srm) · $(nproc) cores · $FILES files, $SNAPS snapshots"
echo "| cache budget | peak RSS | peak - budget | target (budget + 64 MiB) |"
echo "|---:|---:|---:|---|"
echo "| $budget MiB | $peak MiB | $((peak - budget)) MiB | $([ "$peak" -le $((budget + 64)) ] && echo met || echo missed) |"
