#!/usr/bin/env bash
# The test command named in README.md: installs dependencies, builds, and runs the whole
# suite. With --all, or under CI (CI=true), the GCC suite runs on the Release flavour a
# packager builds (-O3, so GCC's optimiser warnings are errors too) instead of the normal
# build, then the suite built by clang under AddressSanitizer and UndefinedBehaviorSanitizer
# runs, and each fuzz target runs briefly. One GCC build and one clang build for the suite keep
# CI well under 30 minutes on 2 cores.
# ctest runs each Catch2 test case as its own test, two at a time (-j2: the CI machine has
# two cores); its last lines are the "N% tests passed, N tests failed out of N" summary.
set -euo pipefail
cd "$(dirname "$0")/.."

all=false
if [ "${1:-}" = "--all" ] || [ "${CI:-}" = "true" ]; then all=true; fi

scripts/install-deps.sh
if $all; then
  scripts/build.sh release
  echo "== tests (gcc, Release)"
  (cd build-release && ctest --output-on-failure -j2)
else
  scripts/build.sh normal
  echo "== tests (gcc, RelWithDebInfo)"
  (cd build && ctest --output-on-failure -j2)
fi

if $all; then
  scripts/build.sh sanitize
  echo "== tests (clang, AddressSanitizer + UndefinedBehaviorSanitizer)"
  # The simulator's seeds run about ten times slower under the sanitizers: a few per class.
  (cd build-sanitize && PC_SIM_SEEDS=3 ctest --output-on-failure -j2)
  if [ -d fuzz ] && [ -f fuzz/CMakeLists.txt ]; then
    scripts/build.sh fuzz
    scripts/fuzz.sh 6  # 25 targets, one per core at once: a smoke run that keeps CI well under 30 minutes
  fi
fi
