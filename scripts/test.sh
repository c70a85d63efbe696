#!/usr/bin/env bash
# Builds hnn and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# hnn's own code (runtime, trainer, tests) is built with AddressSanitizer and UndefinedBehaviorSanitizer,
# so every test, and every `hnn` the tests start, runs checked; the Halide kernels are not instrumented.
bash scripts/build.sh -DHNN_SANITIZE=ON
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd build
ctest --output-on-failure --parallel "$(nproc)" --timeout 600
bash ../scripts/fuzz.sh
