#pragma once
// Where kernels run. The CPU kernels dispatch on CPU features by themselves; between the CPU and a
// GPU API hnn decides here, because Halide 14's multi-target dispatch would pick a GPU API even
// where no device answers.

#include <string>

namespace hnn {

enum class Device { cpu, cuda, opencl };

const char *device_name(Device device);

// True when the CUDA driver loads and a device answers. Never aborts: Halide's errors are
// routed to hnn first. The answer is probed once and cached.
bool cuda_available();

// True when an OpenCL platform with a device answers (a GPU driver, or PoCL on the CPU). Never
// aborts; probed once and cached. HL_OCL_PLATFORM_NAME and HL_OCL_DEVICE_TYPE choose among several.
bool opencl_available();

// The variant of the CPU kernels that Halide's multi-target dispatch runs on this CPU (the first of
// HNN_CPU_TARGETS whose features the CPU has). Where the best algorithm differs by vector width
// (F(4x4) against F(2x2) Winograd), the runtime asks this.
enum class CpuIsa { avx512, avx2, baseline };
CpuIsa cpu_kernel_isa();
const char *cpu_isa_name(CpuIsa isa);

// Cores this process may run on: its CPU affinity (taskset, mpirun's binding, a container's
// cpuset), which may be fewer than the machine has.
int available_cores();

// Ends the CPU kernels' worker threads; the next kernel makes new ones, which inherit the CPU
// affinity of the thread that calls it then (threads made earlier keep the affinity they had).
void restart_cpu_worker_threads();

// Worker threads of the CPU kernels: HL_NUM_THREADS if set, else every available core, until set_cpu_threads.
// Kernels whose result depends on how work is split (the conv weight gradient sums shares of the
// batch) split it by this count, so the same count gives the same numbers.
int cpu_threads();
void set_cpu_threads(int threads);

// "cpu", "cuda", "opencl" or "auto" (CUDA when a device answers, else the CPU). "cuda" or
// "opencl" without a device throws hnn::Error saying so. "auto" never picks OpenCL: the one found
// may be PoCL, which runs on the same CPU as the CPU kernels, only slower.
Device select_device(const std::string &request);

}  // namespace hnn
