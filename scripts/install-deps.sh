#!/usr/bin/env bash
# Installs everything hnn needs on Debian bookworm (run as root). Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  cmake ninja-build g++ pkg-config
  libhalide14-0-dev        # Halide 14 + LLVM 14: generators, AOT compilation, autodiff in the tests
  catch2                   # Catch2 v2 tests
  libcli11-dev             # the hnn command line
  libdnnl-dev              # oneDNN: what hnn bench times hnn's kernels against
  nlohmann-json3-dev zlib1g-dev
  gnuplot-nox              # plots
  pocl-opencl-icd          # PoCL: an OpenCL driver on the CPU, so the `opencl` tests check the GPU schedules without a GPU
  ocl-icd-libopencl1       # the OpenCL ICD loader (libOpenCL.so.1) that hnn loads at run time
  dataset-fashion-mnist    # real data for the trainer's tests (IDX, gzipped)
  clang-14 libclang-rt-14-dev  # scripts/fuzz.sh: clang with libFuzzer and the sanitizer runtimes
  libopenmpi-dev openmpi-bin   # Open MPI: data-parallel training (mpirun -np N hnn train ...)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
