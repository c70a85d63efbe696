#!/usr/bin/env bash
# The checks of hnn's CUDA path on a machine with an NVIDIA GPU and PyTorch, run from the source
# tree's root with the bundle scripts/gpu-bundle.sh packed here (build-gpu/bundle.tar.xz; the
# machine needs neither Halide nor a build):
#   1. hnn_cuda_tests: every kernel family on the GPU against the CPU kernels, device-resident
#      training against the CPU's loss trajectory;
#   2. hnn bench --device cuda --pytorch for allconv (width 96, batch 128, cifar10) and celu7
#      (width 200, batch 100): every op, and the training step against PyTorch+cuDNN's in the
#      same run. Under auto each pass times every kernel that applies on its first call at each
#      shape (the direct sum's three GPU schedules: the default, direct-staged and direct-large-tile; at
#      3x3 stride 1 also F(2x2) and F(4x4)) and keeps the fastest; the log lists those times;
#   3. both training steps with --conv-algorithm direct (the default schedule everywhere), against
#      step 2's; and allcnn-c's convolutions under auto, whose stride-2 layers' backward-data sums
#      only the taps that reach each position;
#   4. each variant the bundle holds (a direct schedule's knobs beyond the three built in, say
#      gpu.tile_x:2,gpu.tile_y:8): allconv's convolutions op by op with the direct kernels and its
#      training step, against step 2's timing of the default schedule.
# Every log goes to $OUT (default: build-gpu/check); the summary to standard output. A step that
# fails or passes its time limit is reported and the next one runs. Limits in seconds:
# HNN_GPU_CHECK_TESTS (default 300), HNN_GPU_CHECK_BENCH (120 each), HNN_GPU_CHECK_VARIANT (100
# each, also step 3's): the limits add up to more than the 10 minutes the device tool gives one
# command, the expected times (tests about a minute on the H200 in November, each bench well under
# its limit) to less; the steps run in the order of what they are worth, so that a cut costs the
# variants first. The tests' limit leaves room for the driver compiling every kernel's PTX on its
# first load (about 20 MB of it since the direct schedules' variants, half of it theirs); the
# driver's cache, made large enough here, keeps what it compiled for the steps after.
set -uo pipefail
cd "$(dirname "$0")/.."
bundle_archive=build-gpu/bundle.tar.xz
if [ ! -f "$bundle_archive" ]; then
    echo "gpu-check: no $bundle_archive here: run scripts/gpu-bundle.sh on the build machine and carry it" >&2
    exit 2
fi
out="${OUT:-build-gpu/check}"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xJf "$bundle_archive"
bundle="$work/bundle"
export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAXSIZE:-4294967296}
# The interpreter that imports torch: the first python3 on PATH, as the machine's own setup has it.
python=$(command -v python3 || echo /usr/bin/python3)
failed=0

# step NAME LIMIT COMMAND...: runs COMMAND into $out/NAME.log and prints its status, time and the
# log's lines that carry the results.
step() {
    local name=$1 limit=$2
    shift 2
    echo "== $name: $*"
    local start rc
    start=$(date +%s)
    timeout "$limit" "$@" > "$out/$name.log" 2>&1
    rc=$?
    echo "   exit $rc after $(($(date +%s) - start)) s$([ "$rc" = 124 ] && echo " (the ${limit} s limit)")"
    grep -E "^hnn bench:|All tests|test cases|training step|PyTorch|FAILED|failed|[Ee]rror|skipped" "$out/$name.log" |
        head -n 12 | sed 's/^/   /'
    [ "$rc" = 0 ] || failed=1
}

bench_allconv=(bench --device cuda --model allconv --width 96 --batch 128 --dataset cifar10)
pytorch=(--pytorch --python "$python" --torch-script scripts/torch_train_step.py)

step machine 20 sh -c 'nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv && nproc && uname -r'
step cuda_tests "${HNN_GPU_CHECK_TESTS:-300}" "$bundle/hnn_cuda_tests"
step bench_allconv "${HNN_GPU_CHECK_BENCH:-120}" "$bundle/hnn" "${bench_allconv[@]}" --repeats 20 --warmup 5 "${pytorch[@]}"
step bench_celu7 "${HNN_GPU_CHECK_BENCH:-120}" "$bundle/hnn" bench --device cuda --model celu7 --width 200 --batch 100 \
    --repeats 10 --warmup 3 "${pytorch[@]}"
variant_limit=${HNN_GPU_CHECK_VARIANT:-100}
direct=(--conv-algorithm direct --repeats 10 --warmup 3)
step step_allconv_direct "$variant_limit" "$bundle/hnn" "${bench_allconv[@]}" --only pool "${direct[@]}"
step step_celu7_direct "$variant_limit" "$bundle/hnn" bench --device cuda --model celu7 --width 200 --batch 100 \
    --only pool "${direct[@]}"
step conv_allcnn_c "$variant_limit" "$bundle/hnn" bench --device cuda --model allcnn-c --batch 128 --dataset cifar10 \
    --only conv --repeats 10 --warmup 3
# Each variant's convolutions and step (fewer runs than step 2's: its limit is shorter).
for hnn in "$bundle"/hnn-variant-*; do
    [ -e "$hnn" ] || continue
    step "conv_$(basename "$hnn")" "$variant_limit" "$hnn" "${bench_allconv[@]}" --only conv "${direct[@]}"
done
echo "gpu-check: logs in $out; $([ "$failed" = 0 ] && echo "every step passed" || echo "a step failed")"
exit "$failed"
