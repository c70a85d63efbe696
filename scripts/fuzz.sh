#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/: one per parser, with ASan and UBSan, no Halide kernels) into
# build-fuzz/ with clang 14 and runs each for HNN_FUZZ_SECONDS (default 20) on a copy of its seed
# corpus, so that the committed corpus never grows here. Fails on the first crash, sanitizer report,
# uncaught exception, broken invariant, timeout, or single allocation over HNN_FUZZ_MALLOC_MB (a
# header that lies about its sizes must be refused, not believed). Crashing inputs are kept in
# build-fuzz/artifacts/; rerun one with build-fuzz/fuzz/fuzz_TARGET FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${HNN_FUZZ_SECONDS:-20}
malloc_mb=${HNN_FUZZ_MALLOC_MB:-64}
targets=(${HNN_FUZZ_TARGETS:-idx cifar checkpoint model_file param tuned_file})

CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHNN_BUILD_KERNELS=OFF -DHNN_BUILD_FUZZERS=ON >/dev/null
cmake --build build-fuzz --parallel "$(nproc)"

artifacts=build-fuzz/artifacts
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One fuzzer per core at a time (each is single-threaded); each writes its own log and status, and
# the reports are printed in the targets' order once all have run.
fuzz_one() {
  local t=$1 dict=()
  mkdir -p "$work/$t"
  cp fuzz/corpus/"$t"/* "$work/$t"/
  [[ -f fuzz/$t.dict ]] && dict=(-dict="fuzz/$t.dict")
  # -timeout: one input taking over 10 s is a hang.
  if build-fuzz/fuzz/fuzz_"$t" "$work/$t" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
       -rss_limit_mb=2048 -malloc_limit_mb="$malloc_mb" -print_final_stats=1 \
       -artifact_prefix="$artifacts/$t-" >"$work/$t.log" 2>&1; then
    echo ok >"$work/$t.status"
  else
    echo failed >"$work/$t.status"
  fi
}
echo "fuzz: ${targets[*]}, ${seconds}s each, $(nproc) at a time"
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= $(nproc))); do wait -n || true; done
  fuzz_one "$t" &
done
wait
failed=()
for t in "${targets[@]}"; do
  status=$(cat "$work/$t.status" 2>/dev/null || echo 'did not run')
  echo "fuzz_$t: $status"
  if [[ "$status" != ok ]]; then
    tail -n 60 "$work/$t.log" >&2 || true
    failed+=("$t")
  fi
  grep -sE "^stat::number_of_executed_units" "$work/$t.log" | sed "s/^/  /" || true
done
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a failure"
