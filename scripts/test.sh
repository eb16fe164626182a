#!/usr/bin/env bash
# The test command named in README.md: installs dependencies, builds, and runs the whole
# suite. With --all, or under CI (CI=true), it also builds the Release flavour a packager
# builds, runs the suite built by clang under AddressSanitizer and UndefinedBehaviorSanitizer
# (one clang build serves both, which keeps CI well under 30 minutes on 2 cores), and runs each
# fuzz target briefly.
# ctest runs each Catch2 test case as its own test, two at a time (-j2: the CI machine has
# two cores); its last lines are the "N% tests passed, N tests failed out of N" summary.
set -euo pipefail
cd "$(dirname "$0")/.."

all=false
if [ "${1:-}" = "--all" ] || [ "${CI:-}" = "true" ]; then all=true; fi

scripts/install-deps.sh
scripts/build.sh normal
echo "== tests (gcc, RelWithDebInfo)"
(cd build && ctest --output-on-failure -j2)

if $all; then
  echo "== build (gcc, Release)"
  scripts/build.sh release
  scripts/build.sh sanitize
  echo "== tests (clang, AddressSanitizer + UndefinedBehaviorSanitizer)"
  # The simulator's seeds run about ten times slower under the sanitizers: a few per class.
  (cd build-sanitize && PC_SIM_SEEDS=3 ctest --output-on-failure -j2)
  if [ -d fuzz ] && [ -f fuzz/CMakeLists.txt ]; then
    scripts/build.sh fuzz
    scripts/fuzz.sh 6  # 18 targets: a smoke run that keeps CI well under 30 minutes
  fi
fi
