#!/usr/bin/env bash
# Installs the Debian packages bruce needs to build, test and benchmark.
# Does nothing when every package is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang
  libzstd-dev libxxhash-dev libboost-dev libfuse3-dev fuse3
  libgtest-dev liblmdb-dev
  python3 rsync attr acl procps dpkg-dev file
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
