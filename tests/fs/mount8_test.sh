#!/usr/bin/env bash
# mount(8), umount(8) and fstab with the helper: `mount -t fuse.brucefs`,
# `mount --fstab FILE DIR`, `mount -a --fstab FILE` (noauto entries left
# alone), findmnt showing the source and type, options for mount(8),
# fstab and systemd stripped, `ro` from fstab, all with no PATH or HOME.
#
# mount(8) looks for helpers in /sbin only, so the test runs in a private
# mount namespace where /usr/sbin (Debian's /sbin) shows the system's
# helpers plus mount.fuse.brucefs: nothing is installed on the machine.
if [ -z "${BRUCE_IN_NS:-}" ]; then
  BRUCE_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
S=$WORK/s.bruce M=$WORK/m M2=$WORK/m2
mkdir -p "$M" "$M2" "$WORK/realsbin" "$WORK/sbin"
MOUNTS+=("$M" "$M2")
"$BRUCE" create "$S" >/dev/null
mount --bind /usr/sbin "$WORK/realsbin"
for f in "$WORK"/realsbin/*; do ln -s "$f" "$WORK/sbin/${f##*/}"; done
cp "$MOUNT_HELPER" "$WORK/sbin/mount.fuse.brucefs"
ln -s "$BRUCEFS" "$WORK/sbin/brucefs"
mount --bind "$WORK/sbin" /usr/sbin
MOUNTS=(/usr/sbin "$WORK/realsbin" "${MOUNTS[@]}")   # (only in this namespace)

# run CMD...: as systemd runs mount(8): an empty environment.
run() { env -i "$@"; }
daemon_pid() { pgrep -f "brucefs $1 $2( |$)" | head -1 || true; }
unmount() {
  local pid
  pid=$(daemon_pid "$S" "$1")
  [ -n "$pid" ] || fail "no daemon for $1"
  run /usr/bin/umount "$1" || fail "umount $1"
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  fail "the daemon of $1 did not exit"
}

run /usr/bin/mount -t fuse.brucefs "$S" "$M" -o nosuid,txg_timeout=2 || fail "mount -t fuse.brucefs"
mountpoint -q "$M" || fail "not mounted when mount(8) returned"
[ "$(findmnt -n -o SOURCE,FSTYPE "$M" | tr -s ' ')" = "$S fuse.brucefs" ] ||
  fail "findmnt: $(findmnt -n -o SOURCE,FSTYPE "$M")"
findmnt -n -o OPTIONS "$M" | grep -q nosuid || fail "nosuid did not reach the kernel"
echo one > "$M/one"
unmount "$M"
[ "$("$BRUCE" get "$S" one)" = one ] || fail "umount(8) did not commit"
ok "mount -t fuse.brucefs, findmnt, umount"

cat > "$WORK/fstab" <<FSTAB
# a test fstab
$S  $M   fuse.brucefs  defaults,_netdev,nofail,users,x-systemd.requires=a.service,comment=x  0 0
$S  $M2  fuse.brucefs  ro,noauto  0 0
FSTAB
run /usr/bin/mount --fstab "$WORK/fstab" "$M" || fail "mount --fstab FILE DIR"
[ "$(findmnt -n -o SOURCE,FSTYPE "$M" | tr -s ' ')" = "$S fuse.brucefs" ] || fail "fstab mount"
echo two > "$M/two"
unmount "$M"
[ "$("$BRUCE" get "$S" two)" = two ] || fail "fstab mount: not committed"
run /usr/bin/mount -a --fstab "$WORK/fstab" || fail "mount -a"
mountpoint -q "$M" || fail "mount -a did not mount $M"
mountpoint -q "$M2" && fail "mount -a mounted a noauto entry"
run /usr/bin/mount --fstab "$WORK/fstab" "$M2" || fail "the ro entry"
[ "$(cat "$M2/two")" = two ] || fail "read through the ro mount"
rc=0; touch "$M2/x" 2>"$WORK/err" || rc=$?
[ "$rc" != 0 ] && grep -q "Read-only file system" "$WORK/err" || fail "ro from fstab: $(cat "$WORK/err")"
findmnt -n -o OPTIONS "$M2" | grep -q '^ro' || fail "ro not in the kernel's options"
unmount "$M2"
unmount "$M"
ok "fstab: mount --fstab, mount -a (noauto skipped), ro, fstab-only options stripped"

rc=0
run /usr/bin/mount -t fuse.brucefs "$WORK/none.bruce" "$M" 2>"$WORK/err" || rc=$?
[ "$rc" != 0 ] && grep -q "no such store" "$WORK/err" || fail "a failed mount(8): $rc $(cat "$WORK/err")"
mountpoint -q "$M" && fail "a failed mount left something mounted"
ok "a failed mount(8) exits non-zero: $(head -1 "$WORK/err")"
