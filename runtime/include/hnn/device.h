#pragma once
// Where kernels run. The CPU kernels dispatch on CPU features by themselves; between CPU and CUDA
// hnn decides here, because Halide 14's multi-target dispatch would pick CUDA even without a GPU.

#include <string>

namespace hnn {

enum class Device { cpu, cuda };

const char *device_name(Device device);

// True when the CUDA driver loads and a device answers. Never aborts: Halide's errors are
// routed to hnn first. The answer is probed once and cached.
bool cuda_available();

// Worker threads of the CPU kernels: HL_NUM_THREADS if set, else every core, until set_cpu_threads.
// Kernels whose result depends on how work is split (the conv weight gradient sums shares of the
// batch) split it by this count, so the same count gives the same numbers.
int cpu_threads();
void set_cpu_threads(int threads);

// "cpu", "cuda" or "auto" (CUDA when a device answers, else the CPU). "cuda" without a device
// throws hnn::Error saying so.
Device select_device(const std::string &request);

}  // namespace hnn
