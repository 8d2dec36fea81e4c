#!/usr/bin/env bash
# Installs what is needed, builds, creates a demo store and takes a short
# tour of the bruce CLI. The store is left in demo.bruce for you to explore.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build >/dev/null
bruce=build/tools/bruce
store=${1:-demo.bruce}
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
echo "The store is in $store; try: $bruce --help"
