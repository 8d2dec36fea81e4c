#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: once in an optimized
# build, once under AddressSanitizer + UndefinedBehaviorSanitizer; builds
# Release with GCC as a user would and with clang; runs the concurrency
# tests under ThreadSanitizer.
#   scripts/test.sh          everything
#   scripts/test.sh --quick  the optimized build only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== build (RelWithDebInfo)"
scripts/build.sh build
echo "== tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"

if [ "${1:-}" != "--quick" ]; then
  # What users and packagers build: plain CMake, no -Werror, GCC's -O3;
  # then installing it (DESTDIR, pkg-config, find_package, the .deb).
  echo "== build (Release, GCC, as a user builds it)"
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
  cmake --build build-release -j "$(nproc)" >/dev/null
  echo "== install and packages"
  tests/install_test.sh build-release
  echo "== build (clang, -Werror)"
  CC=clang CXX=clang++ cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Release -DBRUCE_WERROR=ON >/dev/null
  cmake --build build-clang -j "$(nproc)" >/dev/null

  echo "== build (ThreadSanitizer: the engine, brucefs and their concurrency tests)"
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBRUCE_WERROR=ON -DBRUCE_TSAN=ON -DBRUCE_BENCH=OFF >/dev/null
  cmake --build build-tsan -j "$(nproc)" --target txn_test node_cache_test optimistic_test optimistic_model_test write_thread_test fs_unit_test
  echo "== concurrency tests under ThreadSanitizer"
  BRUCE_STEPS=30000 TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/txn_test \
    --gtest_filter='Txn.ConcurrentReadersSeeConsistentSnapshots:Txn.NothingWaitsForAnotherCommitsSync:Txn.ReaderKeepsItsSnapshotAcrossManyCommits'
  TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/node_cache_test
  BRUCE_STEPS=5 TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/write_thread_test
  TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/optimistic_test
  BRUCE_STEPS=300 TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/optimistic_model_test
  TSAN_OPTIONS=halt_on_error=1 build-tsan/fs/fs_unit_test --gtest_filter='Concurrency.*:Txg.*:ReadDir.*'

  echo "== build (ASan + UBSan)"
  scripts/build.sh build-asan -DBRUCE_SANITIZE=ON -DBRUCE_BENCH=OFF
  echo "== tests under ASan + UBSan"
  # The optimized run above makes the full 2,000 power cuts; under the
  # sanitizers (several times slower) 1,000 keep CI within its time.
  BRUCE_CRASH_CUTS=${BRUCE_CRASH_CUTS:-1000} \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
fi
