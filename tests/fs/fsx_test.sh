#!/usr/bin/env bash
# fsx: random reads, writes, mmap reads and writes, truncates, fallocate
# modes, punched holes, zero ranges and copy_file_range on one file of a
# mount, against an in-memory model (tests/fs/fsx.py); then the store
# checks clean. BRUCEFS_FSX_OPS sets the count (default 200000; the long
# mode is 1000000); BRUCE_SEED replays a printed seed.
source "$(dirname "$0")/lib.sh"
S=$WORK/s.bruce M=$WORK/m
bfs_mount "$S" "$M" -o create
python3 "$(dirname "$0")/fsx.py" "$M" "${BRUCEFS_FSX_OPS:-200000}" ${BRUCE_SEED:+"$BRUCE_SEED"} ||
  fail "fsx"
bfs_umount "$M"
"$BRUCE" check "$S" > /dev/null || fail "bruce check after fsx"
ok "fsx"
