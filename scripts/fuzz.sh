#!/usr/bin/env bash
# Runs every libFuzzer target (or only the TARGETs named) for SECONDS seconds each, after
# `scripts/build.sh fuzz`:
#   scripts/fuzz.sh SECONDS [TARGET...]
# For each target it first replays fuzz/regressions/<target>/ (inputs that once crashed),
# then fuzzes a temporary copy of fuzz/corpus/<target>/: new corpus entries never land in
# the repository. Crash inputs and logs are kept under build-fuzz/fuzz-artifacts/<target>/.
# Prints one line per target and exits non-zero if any target crashed, leaked, tripped a
# sanitizer, timed out or ran out of memory.
# FUZZ_BUILD_DIR overrides the build tree (default build-fuzz); FUZZ_JOBS, how many targets run
# at once (default: the number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh SECONDS [TARGET...]   (after scripts/build.sh fuzz)" >&2
  exit 2
fi

build_dir="${FUZZ_BUILD_DIR:-build-fuzz}"
bin_dir="$build_dir/bin"
artifacts_root="$build_dir/fuzz-artifacts"
# A single input slower than this is reported as a hang; the slowest honest input is far
# below a second.
per_input_timeout_s=30
rss_limit_mb=2048

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/pointchain-fuzz.XXXXXX")"
trap 'rm -rf "$work_dir"' EXIT

# The targets are the fuzz/fuzz_*.cpp sources (or those named); each must have been built.
targets=("${@:2}")
if [ "${#targets[@]}" -eq 0 ]; then
  for source in fuzz/fuzz_*.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi
for target in "${targets[@]}"; do
  if [ ! -f "fuzz/$target.cpp" ]; then
    echo "scripts/fuzz.sh: no target $target (fuzz/$target.cpp)" >&2
    exit 2
  fi
done

# One target's run; prints its line and returns non-zero if it failed.
fuzz_target() {
  local target="$1"
  local binary="$bin_dir/$target"
  local artifacts="$artifacts_root/$target"
  if [ ! -x "$binary" ]; then
    echo "$target: FAILED, not built ($binary missing: run scripts/build.sh fuzz)"
    return 1
  fi
  rm -rf "$artifacts"
  mkdir -p "$artifacts"
  local log="$artifacts/fuzz.log"

  # Regressions first: each file is run once, and any failure is a crash.
  local regressions=(fuzz/regressions/"$target"/*)
  if [ -e "${regressions[0]}" ]; then
    if ! "$binary" -rss_limit_mb="$rss_limit_mb" -timeout="$per_input_timeout_s" \
        "${regressions[@]}" >"$artifacts/regressions.log" 2>&1; then
      echo "$target: FAILED, a regression input crashes again (see $artifacts/regressions.log)"
      return 1
    fi
  fi

  local corpus="$work_dir/$target"
  mkdir -p "$corpus"
  if [ -d "fuzz/corpus/$target" ]; then cp -r "fuzz/corpus/$target/." "$corpus/"; fi
  local status=0
  "$binary" "$corpus" -max_total_time="$seconds" -rss_limit_mb="$rss_limit_mb" \
      -timeout="$per_input_timeout_s" -artifact_prefix="$artifacts/" -print_final_stats=1 \
      >"$log" 2>&1 || status=$?

  local runs rate coverage summary
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  coverage="$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)"
  summary="${runs:-?} runs (${rate:-?}/s), ${coverage:-no coverage line}"
  if [ "$status" -eq 0 ]; then
    echo "$target: ok, $summary, corpus $(find "$corpus" -type f | wc -l) inputs"
    return 0
  fi
  local crash
  crash="$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
           -o -name 'oom-*' \) | head -1)"
  echo "$target: FAILED (exit $status), $summary; input ${crash:-none saved}, log $log"
  return 1
}

# Each target is one single-threaded process, so FUZZ_JOBS of them (default: one per core) run
# at once, each for SECONDS; the lines are printed in target order once all have finished.
jobs="${FUZZ_JOBS:-$(nproc)}"
if ! [[ "$jobs" =~ ^[0-9]+$ ]] || [ "$jobs" -eq 0 ]; then
  echo "scripts/fuzz.sh: FUZZ_JOBS must be a positive number, not '$jobs'" >&2
  exit 2
fi
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  (if fuzz_target "$target" >"$work_dir/$target.line"; then :; else echo failed >"$work_dir/$target.failed"; fi) &
  running=$((running + 1))
done
wait

passed=0
failed=0
for target in "${targets[@]}"; do
  cat "$work_dir/$target.line"
  if [ -e "$work_dir/$target.failed" ]; then failed=$((failed + 1)); else passed=$((passed + 1)); fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
