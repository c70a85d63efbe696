#!/usr/bin/env bash
# Packs what a GPU machine without Halide needs to check hnn's CUDA path into
# build-gpu/bundle.tar.xz: hnn and hnn_cuda_tests built here (CUDA kernels, no OpenCL; the driver
# compiles their PTX when it loads them) and the shared libraries they link, the C library aside.
# scripts/gpu-check.sh unpacks and runs it there.
#
# HNN_GPU_VARIANTS="gpu.staged:1,gpu.tile_y:4 gpu.tile_x:2,gpu.tile_y:8" also packs one hnn per GPU
# conv knob setting (-DHNN_GPU_CONV_KNOBS), so that one visit compares schedules and tiles; the
# default is built last, so the build directory is left at it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-gpu
stage="$build/bundle"

configure() {
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHNN_SANITIZE=OFF -DHNN_BUILD_CUDA=ON \
        -DHNN_BUILD_OPENCL=OFF -DHNN_GPU_CONV_KNOBS="$1" > /dev/null
}

rm -rf "$stage" "$build/bundle.tar.xz"
mkdir -p "$stage/lib"
for knobs in ${HNN_GPU_VARIANTS:-}; do
    configure "$knobs"
    cmake --build "$build" --parallel "$(nproc)" --target hnn
    # ':' and ',' kept out of file names.
    cp "$build/trainer/hnn" "$stage/hnn-variant-$(echo "$knobs" | tr ':,' '-+')"
done
configure ""
cmake --build "$build" --parallel "$(nproc)" --target hnn hnn_cuda_tests
cp "$build/trainer/hnn" "$build/tests/hnn_cuda_tests" "$stage/"
strip "$stage"/hnn*

# Every library the binaries link but the C library's own (which must come from the machine that
# runs them): oneDNN, zlib, libgomp and the C++ runtime may be missing or older there.
ldd "$stage"/hnn* | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
    grep -v -E '/(libc|libm|libpthread|libdl|librt)\.so' | xargs -r cp -L -t "$stage/lib"

tar -C "$build" -cJf "$build/bundle.tar.xz" bundle
echo "$build/bundle.tar.xz: $(du -h "$build/bundle.tar.xz" | cut -f1) ($(ls "$stage" | tr '\n' ' '); lib: $(ls "$stage/lib" | tr '\n' ' '))"
