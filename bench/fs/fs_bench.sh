#!/usr/bin/env bash
# bench/fs/fs_bench.sh — brucefs against a plain directory of the same disk.
#
#   bench/fs/fs_bench.sh [--quick] [--dir DIR] [--brucefs PATH] [--bruce PATH]
#                        [-o BRUCEFS_OPTIONS] [--repeat N] [--passthrough PATH]
#
# Runs each workload on a plain directory and on a brucefs mount, both under
# DIR (default $TMPDIR or /tmp; the store file lives there too), and prints
# the seconds of each and the ratio brucefs/plain as a markdown table:
#
#   write      dd 1 GiB of random bytes, conv=fdatasync
#   read cold  dd it back after dropping the page cache (drop_caches when
#              permitted; else fadvise(DONTNEED) of the file -- of the store
#              file for brucefs, which is also remounted)
#   rsync in   rsync -a of a generated tree of 20,000 files (log-uniform
#              sizes, 64 B to 64 KiB, ~50 a directory) into the target
#   rsync out  rsync -a of that copy back out to a plain directory
#   rsync noop the same rsync in again: nothing to transfer, every file stat'ed
#   find       find over the copy
#   create     10,000 files of 1 KiB, 1,000 a directory
#   rm -rf     everything above
#   read4      four files of 256 MiB read cold by four processes at once:
#              the speedup over reading them cold one after another
#   create p99 the 99th percentile latency (ms) of creating a 100-byte file
#              (bench/fs/create_p99.py), alone and while dd writes the
#              1 GiB file again (conv=fdatasync); the ratio is the rise
#
# --concurrency: only read4 and create p99.
#
# --quick: 64 MiB and 2,000 files. --repeat N runs everything N times and
# keeps the fastest time of each cell (for a busy machine). --passthrough
# PATH also runs every workload on libfuse's passthrough_ll example (PATH:
# built from /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c) over a
# plain directory of the same disk, with caches as brucefs has them
# (cache=always, no writeback): what FUSE alone costs on this machine. It
# holds an fd per inode the kernel knows, so with `ulimit -n` below the
# trees' files (+2,000) it runs the large-file workloads only.
# Builds nothing: the binaries default to build/mount/brucefs and
# build/tools/bruce of this checkout. Always unmounts and removes its
# files, whatever happens.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
QUICK=0
ONLY_CONC=0
DIR=${TMPDIR:-/tmp}
BRUCEFS=$top/build/mount/brucefs
BRUCE=$top/build/tools/bruce
BFS_OPTS=""
REPEAT=1
PASSTHROUGH=""

usage() { sed -n '2,41p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --concurrency) ONLY_CONC=1 ;;
    --dir) DIR=$2; shift ;;
    --brucefs) BRUCEFS=$2; shift ;;
    --bruce) BRUCE=$2; shift ;;
    -o) BFS_OPTS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --passthrough) PASSTHROUGH=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fs_bench: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
for b in "$BRUCEFS" "$BRUCE" ${PASSTHROUGH:+"$PASSTHROUGH"}; do
  [ -x "$b" ] || { echo "fs_bench: $b is not built (pass --brucefs/--bruce)" >&2; exit 2; }
done
for t in rsync dd python3 fusermount3 mountpoint; do
  command -v "$t" >/dev/null || { echo "fs_bench: needs $t" >&2; exit 2; }
done

if [ $QUICK = 1 ]; then BIG_MB=64 TREE=2000 SMALL=2000 R4_MB=32; else BIG_MB=1024 TREE=20000 SMALL=10000 R4_MB=256; fi
PT_TREES=1
if [ -n "$PASSTHROUGH" ]; then
  # passthrough_ll holds an fd for every inode the kernel knows: with fewer
  # than the trees need, it runs the large-file workloads only.
  need=$((TREE + SMALL + 2000))
  if [ "$(ulimit -n)" -lt $need ] && ! ulimit -n $need 2>/dev/null; then
    echo "fs_bench: passthrough_ll: large files only (ulimit -n $(ulimit -n) < $need)" >&2
    PT_TREES=0
  fi
fi

WORK=$(mktemp -d "$DIR/fs_bench.XXXXXX")
STORE=$WORK/store.bruce MNT=$WORK/mnt PLAIN=$WORK/plain SRC=$WORK/src
PT_MNT=$WORK/pt-mnt PT_DIR=$WORK/pt-dir
BFS_PID="" PT_PID=""
cleanup() {
  local rc=$?
  for m in "$MNT" "$PT_MNT"; do
    if mountpoint -q "$m" 2>/dev/null; then
      fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" || true
    fi
  done
  for p in "$BFS_PID" "$PT_PID"; do
    [ -n "$p" ] || continue
    for _ in $(seq 1 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  [ $rc = 0 ] || { echo "fs_bench: failed; brucefs said:" >&2; tail -20 "$WORK/daemon.log" >&2 || true; }
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_mounted MNT NAME: waits (bounded) until MNT is a mount point.
wait_mounted() {
  for _ in $(seq 1 200); do mountpoint -q "$1" && return 0; sleep 0.05; done
  echo "fs_bench: $2 did not mount" >&2
  exit 1
}

mount_bfs() {
  mkdir -p "$MNT"
  "$BRUCEFS" "$STORE" "$MNT" -f -o "create${BFS_OPTS:+,$BFS_OPTS}" 2>>"$WORK/daemon.log" &
  BFS_PID=$!
  wait_mounted "$MNT" brucefs
}
umount_bfs() {
  fusermount3 -u "$MNT"
  for _ in $(seq 1 6000); do
    kill -0 "$BFS_PID" 2>/dev/null || { wait "$BFS_PID" || exit 1; BFS_PID=""; return 0; }
    sleep 0.05
  done
  echo "fs_bench: brucefs did not exit after unmounting" >&2
  exit 1
}

mount_pt() {
  mkdir -p "$PT_MNT" "$PT_DIR"
  "$PASSTHROUGH" -f -o "source=$PT_DIR,cache=always" "$PT_MNT" 2>>"$WORK/pt.log" &
  PT_PID=$!
  wait_mounted "$PT_MNT" passthrough_ll
}
umount_pt() {
  fusermount3 -u "$PT_MNT"
  wait "$PT_PID" || true
  PT_PID=""
}

# Drops the page cache of the given files (and with privilege, all of it).
COLD="echo 3 > /proc/sys/vm/drop_caches"
if ! (sync && echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
  COLD="fadvise(DONTNEED) of the file (drop_caches not permitted)"
fi
drop_cache() {
  sync "$@"
  if [[ $COLD == echo* ]]; then
    echo 3 > /proc/sys/vm/drop_caches
  else
    for f in "$@"; do dd if="$f" iflag=nocache count=0 status=none; done
  fi
}

now() { date +%s.%N; }
declare -A SECS
# timed WORKLOAD TARGET COMMAND...: runs it, keeps the seconds.
timed() {
  local w=$1 t=$2 t0 t1
  shift 2
  t0=$(now)
  "$@"
  t1=$(now)
  local s
  s=$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")
  printf '  %-10s %-8s %8s s\n' "$w" "$t" "$s" >&2
  if [ -z "${SECS[$w,$t]:-}" ] || awk "BEGIN{exit !($s < ${SECS[$w,$t]})}"; then
    SECS[$w,$t]=$s
  fi
}

echo "fs_bench: generating the data in $WORK ..." >&2
head -c $((BIG_MB << 20)) /dev/urandom > "$WORK/big.src"
python3 "$here/gen_tree.py" "$SRC" "$TREE"
SRC_BYTES=$(du -sb "$SRC" | cut -f1)
create_small() {
  python3 - "$1" "$SMALL" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
data = bytes(range(256)) * 4
for i in range(n):
    d = os.path.join(root, f"s{i // 1000:02d}")
    if i % 1000 == 0:
        os.makedirs(d)
    with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
        f.write(data)
EOF
}
count() { local c; c=$(find "$1" | wc -l); [ "$c" -gt "$TREE" ] || { echo "fs_bench: find saw $c" >&2; exit 1; }; }

mkdir -p "$PLAIN"
declare -A T=([plain]=$PLAIN [brucefs]=$MNT [passthrough]=$PT_MNT)
TARGETS=(plain brucefs ${PASSTHROUGH:+passthrough})
one_round() {
  rm -f "$STORE"
  mount_bfs
  [ -z "$PASSTHROUGH" ] || mount_pt
  for t in "${TARGETS[@]}"; do
    timed write "$t" dd if="$WORK/big.src" of="${T[$t]}/big.bin" bs=1M conv=fdatasync status=none
  done
  drop_cache "$PLAIN/big.bin"
  timed "read cold" plain dd if="$PLAIN/big.bin" of=/dev/null bs=1M status=none
  if [ -n "$PASSTHROUGH" ]; then
    umount_pt
    drop_cache "$PT_DIR/big.bin"
    mount_pt
    timed "read cold" passthrough dd if="$PT_MNT/big.bin" of=/dev/null bs=1M status=none
  fi
  umount_bfs
  drop_cache "$STORE"
  mount_bfs
  timed "read cold" brucefs dd if="$MNT/big.bin" of=/dev/null bs=1M status=none
  cmp -s "$WORK/big.src" "$MNT/big.bin" || { echo "fs_bench: brucefs read back other bytes" >&2; exit 1; }
  if [ -n "$PASSTHROUGH" ] && [ $PT_TREES = 0 ]; then
    rm -f "$PT_MNT/big.bin"
    umount_pt
    TARGETS=(plain brucefs)
  fi
  for t in "${TARGETS[@]}"; do timed "rsync in" "$t" rsync -a "$SRC/" "${T[$t]}/tree/"; done
  for t in "${TARGETS[@]}"; do timed "rsync out" "$t" rsync -a "${T[$t]}/tree/" "$WORK/out-$t/"; done
  diff -r "$SRC" "$WORK/out-brucefs" >/dev/null || { echo "fs_bench: the tree came back different" >&2; exit 1; }
  rm -rf "$WORK"/out-*
  for t in "${TARGETS[@]}"; do timed "rsync noop" "$t" rsync -a "$SRC/" "${T[$t]}/tree/"; done
  for t in "${TARGETS[@]}"; do timed find "$t" count "${T[$t]}/tree"; done
  for t in "${TARGETS[@]}"; do timed create "$t" create_small "${T[$t]}/small"; done
  STORE_BYTES=$(stat -c %s "$STORE")
  for t in "${TARGETS[@]}"; do
    timed "rm -rf" "$t" rm -rf "${T[$t]}/tree" "${T[$t]}/small" "${T[$t]}/big.bin"
  done
  umount_bfs
  [ -z "$PT_PID" ] || umount_pt
  TARGETS=(plain brucefs ${PASSTHROUGH:+passthrough})
  "$BRUCE" check "$STORE" >/dev/null || { echo "fs_bench: bruce check failed" >&2; exit 1; }
}
# cold TARGET FILES...: drops the page cache of FILES (for brucefs, of the
# store, and remounts it so that its own cache is cold too).
cold() {
  local t=$1
  shift
  case $t in
    brucefs) umount_bfs; drop_cache "$STORE"; mount_bfs ;;
    passthrough) umount_pt; drop_cache "${@/#$PT_MNT/$PT_DIR}"; mount_pt ;;
    *) drop_cache "$@" ;;
  esac
}
declare -A P99
# conc_round: read4 and create p99 on every target.
conc_round() {
  rm -f "$STORE"
  mount_bfs
  [ -z "$PASSTHROUGH" ] || mount_pt
  for t in "${TARGETS[@]}"; do
    local d=${T[$t]} i one=0 s4
    for i in 0 1 2 3; do
      dd if="$WORK/big.src" of="$d/r$i" bs=1M count=$R4_MB skip=$((i * R4_MB % BIG_MB)) \
        conv=fdatasync status=none
    done
    for i in 0 1 2 3; do
      cold "$t" "$d/r$i"
      SECS[read1,$t]=""
      timed "read1" "$t" dd if="$d/r$i" of=/dev/null bs=1M status=none
      one=$(awk "BEGIN{print $one + ${SECS[read1,$t]}}")
    done
    cold "$t" "$d"/r[0-3]
    SECS[read4,$t]=""
    timed "read4" "$t" bash -c 'for f in "$@"; do dd if="$f" of=/dev/null bs=1M status=none & done; wait' \
      _ "$d"/r[0-3]
    s4=$(awk "BEGIN{printf \"%.2f\", $one / ${SECS[read4,$t]}}")
    echo "  read4      $t speedup $s4 (one after another: $one s)" >&2
    if [ -z "${SPEEDUP[$t]:-}" ] || awk "BEGIN{exit !($s4 > ${SPEEDUP[$t]})}"; then SPEEDUP[$t]=$s4; fi
    rm -f "$d"/r[0-3]
    local alone busy
    alone=$(python3 "$here/create_p99.py" "$d/c-alone" --files 2000)
    busy=$(python3 "$here/create_p99.py" "$d/c-busy" --during \
      dd if="$WORK/big.src" of="$d/big.bin" bs=1M count=$BIG_MB conv=fdatasync status=none)
    echo "  create     $t alone: $alone; during the write: $busy" >&2
    alone=$(awk '{print $4}' <<<"$alone") busy=$(awk '{print $4}' <<<"$busy")
    local k v
    for k in alone busy; do
      v=${!k}
      if [ -z "${P99[$k,$t]:-}" ] || awk "BEGIN{exit !($v < ${P99[$k,$t]})}"; then P99[$k,$t]=$v; fi
    done
    rm -rf "$d/c-alone" "$d/c-busy" "$d/big.bin"
  done
  umount_bfs
  [ -z "$PT_PID" ] || umount_pt
}
declare -A SPEEDUP
for round in $(seq 1 "$REPEAT"); do
  [ "$REPEAT" = 1 ] || echo "fs_bench: round $round of $REPEAT" >&2
  [ $ONLY_CONC = 1 ] || one_round
  conc_round
done

mib() { awk "BEGIN{printf \"%.0f\", $1 / 1048576}"; }
echo
echo "$(date -u +%Y-%m-%d) · $(uname -srm) · $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)) ·" \
  "$(awk '/MemTotal/{printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM ·" \
  "$(df -T "$WORK" | awk 'NR==2{print $2}') on $(df "$WORK" | awk 'NR==2{print $1}') ·" \
  "$(uptime | sed 's/.*load average: //;s/,.*//') load"
[ "$REPEAT" = 1 ] || echo "fastest of $REPEAT runs"
echo "$BIG_MB MiB file; tree of $TREE files, $(mib "$SRC_BYTES") MiB; $SMALL files of 1 KiB;" \
  "cold reads: $COLD; brucefs -o create${BFS_OPTS:+,$BFS_OPTS}; store file $(mib "${STORE_BYTES:-0}") MiB before rm -rf"
echo
ratio() { awk "BEGIN{printf \"%.2f\", $1 / ($2 > 0.005 ? $2 : 0.005)}"; }
if [ $ONLY_CONC = 1 ]; then
  :
elif [ -z "$PASSTHROUGH" ]; then
  echo "| workload | plain s | brucefs s | brucefs/plain |"
  echo "|---|---:|---:|---:|"
else
  echo "| workload | plain s | brucefs s | brucefs/plain | passthrough_ll s | passthrough_ll/plain |"
  echo "|---|---:|---:|---:|---:|---:|"
fi
WORKLOADS=(write "read cold" "rsync in" "rsync out" "rsync noop" find create "rm -rf")
[ $ONLY_CONC = 0 ] || WORKLOADS=()
for w in "${WORKLOADS[@]}"; do
  p=${SECS[$w,plain]} b=${SECS[$w,brucefs]}
  line="| $w | $p | $b | $(ratio "$b" "$p") |"
  if [ -n "$PASSTHROUGH" ]; then
    f=${SECS[$w,passthrough]:-}
    if [ -n "$f" ]; then line="$line $f | $(ratio "$f" "$p") |"; else line="$line - | - |"; fi
  fi
  echo "$line"
done
echo
echo "| concurrency | plain | brucefs | brucefs/plain |${PASSTHROUGH:+ passthrough_ll | passthrough_ll/plain |}"
echo "|---|---:|---:|---:|${PASSTHROUGH:+---:|---:|}"
row() {  # NAME KEY-PREFIX ARRAY
  local -n a=$3
  local p=${a[$2plain]} b=${a[$2brucefs]} line
  line="| $1 | $p | $b | $(ratio "$b" "$p") |"
  if [ -n "$PASSTHROUGH" ]; then line="$line ${a[$2passthrough]} | $(ratio "${a[$2passthrough]}" "$p") |"; fi
  echo "$line"
}
row "read4 speedup (4 cold readers at once / one after another)" "" SPEEDUP
row "create p99 ms, alone" "alone," P99
row "create p99 ms, during a $BIG_MB MiB dd" "busy," P99
for t in "${TARGETS[@]}"; do
  echo "$t: the write raises the create p99 $(ratio "${P99[busy,$t]}" "${P99[alone,$t]}")x"
done
