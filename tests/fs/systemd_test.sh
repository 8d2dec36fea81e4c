#!/usr/bin/env bash
# The systemd units of systemd/: `systemd-analyze verify` passes on each
# (offline; the example .mount once had an ordering cycle), and the
# snapshot service's command, as the unit spells it, snapshots and prunes
# a store, mounted and not.
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../../systemd" && pwd)
U=$WORK/units
mkdir -p "$U"
# The units as installed, with the CLI of this build.
for f in "$SRC"/*; do
  name=${f##*/}
  sed "s|@BRUCE_BIN@|$BRUCE|g" "$f" > "$U/${name%.in}"
done
# Template units are verified as an instance (the escaped store path).
cp "$U/brucefs-snapshot@.service" "$U/brucefs-snapshot@var-lib-x.bruce.service"
cp "$U/brucefs-snapshot@.timer" "$U/brucefs-snapshot@var-lib-x.bruce.timer"
cp "$U/brucefs-scrub@.service" "$U/brucefs-scrub@var-lib-x.bruce.service"
cp "$U/brucefs-scrub@.timer" "$U/brucefs-scrub@var-lib-x.bruce.timer"
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is not installed; the units were not verified"
else
  for u in var-lib-x.mount var-lib-x.automount brucefs-snapshot@var-lib-x.bruce.service \
           brucefs-snapshot@var-lib-x.bruce.timer brucefs-scrub@var-lib-x.bruce.service \
           brucefs-scrub@var-lib-x.bruce.timer; do
    (cd "$U" && systemd-analyze verify --man=no "$u") > "$WORK/verify" 2>&1 ||
      fail "systemd-analyze verify $u: $(cat "$WORK/verify")"
    [ ! -s "$WORK/verify" ] || fail "systemd-analyze verify $u warns: $(cat "$WORK/verify")"
  done
  ok "systemd-analyze verify: every unit"
fi

# The mount unit names a fuse.brucefs mount with options brucefs takes.
grep -qx "Type=fuse.brucefs" "$U/var-lib-x.mount" || fail "the .mount's type"
opts=$(sed -n 's/^Options=//p' "$U/var-lib-x.mount")
S=$WORK/s.bruce M=$WORK/m
"$BRUCE" create "$S" >/dev/null
bfs_mount "$S" "$M" -o "$opts"
bfs_umount "$M"
ok "the .mount unit's options mount"

# The service's ExecStart with %f = a store: once unmounted, once mounted.
cmd=$(sed -n 's/^ExecStart=//p' "$U/brucefs-snapshot@.service")
# shellcheck disable=SC2086
run_unit() { ${cmd//%f/$S} > "$WORK/unit.out"; }
run_unit || fail "the service's command on an unmounted store"
grep -q "^created auto-" "$WORK/unit.out" || fail "unit run: $(cat "$WORK/unit.out")"
"$BRUCE" snapshot list "$S" | grep -q "^auto-" || fail "no auto- snapshot"
bfs_mount "$S" "$M"
"$BRUCE" snapshot create "$S" manual
# the same second would make the same name: another one at most 1 s later
for _ in $(seq 1 40); do run_unit 2>/dev/null && break; sleep 0.05; done
grep -q "^created auto-" "$WORK/unit.out" || fail "the service's command on a mounted store"
[ "$(ls "$M/.snapshots" | grep -c '^auto-')" -ge 1 ] || fail "no auto- snapshot in the mount"
ls "$M/.snapshots" | grep -qx manual || fail "the policy touched another snapshot"
bfs_umount "$M"
ok "the snapshot service's command, unmounted and mounted"

# The scrub service's command, on the store mounted.
scrub=$(sed -n 's/^ExecStart=//p' "$U/brucefs-scrub@.service")
bfs_mount "$S" "$M"
# shellcheck disable=SC2086
${scrub//%f/$S} > "$WORK/scrub.out" || fail "the scrub service's command: $(cat "$WORK/scrub.out")"
grep -q "^scrubbed .*: 0 damaged$" "$WORK/scrub.out" || fail "scrub: $(cat "$WORK/scrub.out")"
bfs_umount "$M"
ok "the scrub service's command on a mounted store"
