#!/usr/bin/env bash
# Installs what is needed, builds, creates a demo store, takes a short tour
# of the bruce CLI, then mounts the store with brucefs (in the background)
# on demo-mnt/ and says how to use and unmount it.
#   scripts/demo.sh [STORE [MOUNTPOINT]]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build >/dev/null
bruce=build/tools/bruce
store=${1:-demo.bruce}
mnt=${2:-demo-mnt}
brucefs=build/mount/brucefs
# A mount left by an earlier run holds the store: unmount it first.
if mountpoint -q "$mnt" 2>/dev/null; then
  fusermount3 -u "$mnt"
  for _ in $(seq 1 100); do pgrep -f "^$brucefs $store " >/dev/null || break; sleep 0.1; done
fi
rm -f "$store"

run() { echo "\$ bruce $*"; "$bruce" "$@"; echo; }

run create "$store"
run put "$store" greeting "hello, bruce"
run get "$store" greeting
echo
printf 'fruit/apple\tred\nfruit/banana\tyellow\nfruit/cherry\tdark\\tred\nveg/kale\tgreen\n' > /tmp/bruce-demo.tsv
echo "\$ bruce load $store < records.tsv   (4 records, one transaction)"
"$bruce" load "$store" < /tmp/bruce-demo.tsv
rm -f /tmp/bruce-demo.tsv
echo
run ls "$store" --prefix fruit/
run count "$store" --prefix fruit/
run rank "$store" fruit/banana
run nth "$store" 2
run dump "$store"
run stat "$store"
run check "$store"
run root-hash "$store"

echo "== brucefs: the same store as a filesystem"
mkdir -p "$mnt"
echo "\$ brucefs $store $mnt"
"$brucefs" "$store" "$mnt"
echo "\$ ls -l $mnt $mnt/fruit"
ls -l "$mnt" "$mnt/fruit"
echo "\$ cat $mnt/greeting"
cat "$mnt/greeting"; echo
echo "\$ mkdir $mnt/.snapshots/first"
mkdir "$mnt/.snapshots/first"
echo
cat <<EOF
The store $store is mounted on $mnt: keys are files, '/' makes directories.
  cp -a ~/somedir $mnt/        rsync -aX $mnt/ backup/
  mkdir $mnt/.snapshots/NAME   take a snapshot (rmdir destroys it)
  ls $mnt/.snapshots/first/    that snapshot, read-only
  fsync a file or directory    commit now (otherwise every 5 s)
Unmount (brucefs commits, then exits):
  fusermount3 -u $mnt
Then the CLI can open the store again: $bruce ls $store
EOF
