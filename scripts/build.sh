#!/usr/bin/env bash
# Configures and builds one flavour of the project with Ninja.
#   scripts/build.sh [normal|release|sanitize|gcc-sanitize|clang|fuzz]   (default: normal)
# Build trees: build/ (normal), build-release/, build-sanitize/, build-clang/, build-fuzz/.
# release is what a packager builds: -DCMAKE_BUILD_TYPE=Release (-O3, no debug info), so that
# GCC's -O3 warnings are seen under -Werror; CI runs the test suite on it instead of on the
# normal build (one GCC build instead of two keeps CI well under 30 minutes). sanitize is clang with
# AddressSanitizer and UndefinedBehaviorSanitizer: one build gives both the clang -Werror build
# and the sanitizer run (gcc-sanitize is the same under GCC, for a second opinion by hand).
set -euo pipefail
cd "$(dirname "$0")/.."

flavour="${1:-normal}"
case "$flavour" in
  normal)   dir=build;          args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  release)  dir=build-release;  args=(-DCMAKE_BUILD_TYPE=Release -DPOINTCHAIN_TESTS=ON) ;;
  sanitize) dir=build-sanitize; args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++
                                      -DPOINTCHAIN_SANITIZE=ON -DPOINTCHAIN_BENCH=OFF) ;;
  gcc-sanitize) dir=build-gcc-sanitize; args=(-DCMAKE_BUILD_TYPE=Debug -DPOINTCHAIN_SANITIZE=ON -DPOINTCHAIN_BENCH=OFF) ;;
  clang)    dir=build-clang;    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++) ;;
  fuzz)     dir=build-fuzz;     args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++
                                      -DPOINTCHAIN_FUZZ=ON -DPOINTCHAIN_TESTS=OFF -DPOINTCHAIN_BENCH=OFF) ;;
  *) echo "usage: scripts/build.sh [normal|release|sanitize|gcc-sanitize|clang|fuzz]" >&2; exit 2 ;;
esac

cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
