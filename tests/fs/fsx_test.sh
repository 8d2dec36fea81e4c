#!/usr/bin/env bash
# fsx: random reads, writes, mmap reads and writes, truncates, fallocate
# modes, punched holes, zero ranges and copy_file_range on one file of a
# mount, against an in-memory model (tests/fs/fsx.py); then the store
# checks clean. Then cp (which uses copy_file_range) of a 64 MiB file
# inside the mount shares its chunks: the store grows by metadata only,
# and a write to either copy leaves the other as it was, across a remount
# and a check. BRUCEFS_FSX_OPS sets the count (default 200000; the long
# mode is 1000000); BRUCE_SEED replays a printed seed.
source "$(dirname "$0")/lib.sh"
S=$WORK/s.bruce M=$WORK/m
bfs_mount "$S" "$M" -o create
python3 "$(dirname "$0")/fsx.py" "$M" "${BRUCEFS_FSX_OPS:-200000}" ${BRUCE_SEED:+"$BRUCE_SEED"} ||
  fail "fsx"
bfs_umount "$M"
"$BRUCE" check "$S" > /dev/null || fail "bruce check after fsx"
ok "fsx"

used() { "$BRUCE" sync "$S" > /dev/null && "$BRUCE" stat "$S" | awk '/^pages used:/ {print $3}'; }
bfs_mount "$S" "$M"
head -c $((64 << 20)) /dev/urandom > "$WORK/big"
cp "$WORK/big" "$M/big"
before=$(used)
cp "$M/big" "$M/copy" || fail "cp inside the mount"
after=$(used)
[ $((after - before)) -lt 500 ] ||
  fail "cp of 64 MiB (16,384 pages) inside the mount took $((after - before)) pages: not shared"
cmp -s "$M/copy" "$WORK/big" || fail "the copy differs"
printf 'copy' | dd of="$M/copy" bs=1 seek=5000 conv=notrunc status=none
printf 'orig' | dd of="$M/big" bs=1 seek=9000 conv=notrunc status=none
cp "$WORK/big" "$WORK/want.copy" && printf 'copy' | dd of="$WORK/want.copy" bs=1 seek=5000 conv=notrunc status=none
printf 'orig' | dd of="$WORK/big" bs=1 seek=9000 conv=notrunc status=none
cmp -s "$M/copy" "$WORK/want.copy" || fail "a write to the original changed the copy"
cmp -s "$M/big" "$WORK/big" || fail "a write to the copy changed the original"
bfs_umount "$M"
"$BRUCE" check "$S" > /dev/null || fail "bruce check after the clone"
bfs_mount "$S" "$M"
rm "$M/big"
cmp -s "$M/copy" "$WORK/want.copy" || fail "the copy after the original's removal and a remount"
bfs_umount "$M"
"$BRUCE" check "$S" > /dev/null || fail "bruce check after removing the original"
ok "cp of 64 MiB inside the mount: $((after - before)) pages for 16,384 shared; copies independent"
