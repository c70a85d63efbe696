#include "hnn/device.h"

#include "device_interface.h"

#include "hnn/error.h"

#include <HalideRuntime.h>
#include <HalideRuntimeCuda.h>
#include <HalideRuntimeOpenCL.h>
#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <thread>

namespace hnn {

const char *device_name(Device device) {
    switch (device) {
    case Device::cpu: return "cpu";
    case Device::cuda: return "cuda";
    case Device::opencl: return "opencl";
    }
    return "unknown";
}

bool cuda_available() {
#ifndef HNN_HAVE_CUDA_KERNELS
    // Without the CUDA kernels the shared runtime has no CUDA device interface to ask.
    return false;
#else
    static const bool available = [] {
        install_halide_handlers();
        // Halide 14's runtime dlopens only "libcuda.so", which a driver install (or a container's
        // driver mount) may leave out; libcuda.so.1 is always there. Loaded globally here, Halide
        // finds its symbols in the process instead.
        dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
        int major = 0, minor = 0;
        const halide_device_interface_t *cuda = halide_cuda_device_interface();
        if (cuda == nullptr || cuda->compute_capability == nullptr) return false;
        // Returns an error (no libcuda: 301, no device: 100) or capability 0.0 when there is no GPU.
        int result = cuda->compute_capability(nullptr, &major, &minor);
        discard_halide_error();
        return result == 0 && major > 0;
    }();
    return available;
#endif
}

bool opencl_available() {
#ifndef HNN_HAVE_OPENCL_KERNELS
    return false;
#else
    static const bool available = [] {
        install_halide_handlers();
        // Halide 14's runtime dlopens only "libOpenCL.so", which Debian ships in the -dev package; the
        // ICD loader itself is libOpenCL.so.1. Loaded globally here, Halide finds its symbols in the
        // process instead. Failure is fine: the probe below then reports no OpenCL.
        dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_GLOBAL);
        int major = 0, minor = 0;
        const halide_device_interface_t *opencl = halide_opencl_device_interface();
        if (opencl == nullptr || opencl->compute_capability == nullptr) return false;
        // Creates Halide's OpenCL context: 0.0 without a loader, an error (e.g. -1001, no platform)
        // without a driver, else the device's OpenCL version.
        int result = opencl->compute_capability(nullptr, &major, &minor);
        discard_halide_error();
        return result == 0 && major > 0;
    }();
    return available;
#endif
}

const halide_device_interface_t *device_interface(Device device) {
    switch (device) {
    case Device::cpu: return nullptr;
    case Device::cuda:
#ifdef HNN_HAVE_CUDA_KERNELS
        return halide_cuda_device_interface();
#else
        return nullptr;
#endif
    case Device::opencl:
#ifdef HNN_HAVE_OPENCL_KERNELS
        return halide_opencl_device_interface();
#else
        return nullptr;
#endif
    }
    return nullptr;
}

namespace {

// Asks the Halide runtime the question the multi-target wrapper asks of each target.
bool cpu_can_use(std::initializer_list<halide_target_feature_t> features) {
    constexpr int words = (halide_target_feature_end + 63) / 64;
    uint64_t bits[words] = {};
    for (halide_target_feature_t f : features) bits[f / 64] |= uint64_t(1) << (f % 64);
    return halide_can_use_target_features(words, bits) != 0;
}

int default_cpu_threads() {
    if (const char *env = std::getenv("HL_NUM_THREADS")) {
        const int n = std::atoi(env);
        if (n > 0) return n;
    }
    return available_cores();
}

int &threads_setting() {
    static int threads = default_cpu_threads();
    return threads;
}

}  // namespace

CpuIsa cpu_kernel_isa() {
    // The features of HNN_CPU_TARGETS' default entries (cmake/HnnKernels.cmake); runtime/CMakeLists.txt
    // defines which of the two kinds the configured list holds. A list of other feature sets would
    // need its own entries here.
    static const CpuIsa isa = [] {
#ifdef HNN_CPU_KERNELS_AVX512
        if (cpu_can_use({halide_target_feature_avx, halide_target_feature_avx2, halide_target_feature_avx512,
                         halide_target_feature_avx512_skylake, halide_target_feature_f16c, halide_target_feature_fma,
                         halide_target_feature_sse41})) {
            return CpuIsa::avx512;
        }
#endif
#ifdef HNN_CPU_KERNELS_AVX2
        if (cpu_can_use({halide_target_feature_avx, halide_target_feature_avx2, halide_target_feature_f16c,
                         halide_target_feature_fma, halide_target_feature_sse41})) {
            return CpuIsa::avx2;
        }
#endif
        return CpuIsa::baseline;
    }();
    return isa;
}

const char *cpu_isa_name(CpuIsa isa) {
    switch (isa) {
    case CpuIsa::avx512: return "avx512";
    case CpuIsa::avx2: return "avx2";
    case CpuIsa::baseline: return "baseline";
    }
    return "unknown";
}

int available_cores() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void restart_cpu_worker_threads() {
    halide_shutdown_thread_pool();
}

int cpu_threads() {
    return threads_setting();
}

void set_cpu_threads(int threads) {
    if (threads < 1 || threads > 1024) throw Error("thread count " + std::to_string(threads) + " is outside 1..1024");
    threads_setting() = threads;
    halide_set_num_threads(threads);
}

Device select_device(const std::string &request) {
    if (request == "cpu") return Device::cpu;
    if (request == "auto") return cuda_available() ? Device::cuda : Device::cpu;
    if (request == "cuda") {
        if (!cuda_available()) {
            throw Error("--device cuda: no CUDA device answers on this machine (no driver or no GPU); "
                        "use --device cpu or --device auto");
        }
        return Device::cuda;
    }
    if (request == "opencl") {
        if (!opencl_available()) {
            throw Error("--device opencl: no OpenCL device answers on this machine (no ICD loader, no "
                        "platform or no device; PoCL provides one on the CPU); use --device cpu or --device auto");
        }
        return Device::opencl;
    }
    throw Error("unknown device '" + request + "': expected cpu, cuda, opencl or auto");
}

}  // namespace hnn
