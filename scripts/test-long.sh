#!/usr/bin/env bash
# The long modes of the randomized tests (not part of CI): 100,000 power
# cuts and a million model steps. Set BRUCE_SEED to replay a printed seed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
BRUCE_CRASH_CUTS=${BRUCE_CRASH_CUTS:-100000} build/tests/crash_test --gtest_filter='Crash.PowerCuts*'
BRUCE_STEPS=${BRUCE_STEPS:-1000000} build/tests/model_test
