#!/usr/bin/env bash
# Builds the Debian packages into build-deb/: bruce_VERSION_ARCH.deb and
# libbruce-dev_VERSION_ARCH.deb. Install with: apt install ./build-deb/*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DBRUCE_BENCH=OFF >/dev/null
cmake --build build-deb -j "$(nproc)" --target bruce bruce_cli brucefs >/dev/null
(cd build-deb && cpack -G DEB >/dev/null)
ls build-deb/*.deb
