#include "hnn/device.h"

#include "hnn/error.h"

#include <HalideRuntime.h>
#include <HalideRuntimeCuda.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace hnn {

const char *device_name(Device device) {
    return device == Device::cuda ? "cuda" : "cpu";
}

bool cuda_available() {
    static const bool available = [] {
        install_halide_handlers();
        int major = 0, minor = 0;
        const halide_device_interface_t *cuda = halide_cuda_device_interface();
        if (cuda == nullptr || cuda->compute_capability == nullptr) return false;
        // Returns an error (no libcuda: 301, no device: 100) or capability 0.0 when there is no GPU.
        int result = cuda->compute_capability(nullptr, &major, &minor);
        return result == 0 && major > 0;
    }();
    return available;
}

namespace {

int default_cpu_threads() {
    if (const char *env = std::getenv("HL_NUM_THREADS")) {
        const int n = std::atoi(env);
        if (n > 0) return n;
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

int &threads_setting() {
    static int threads = default_cpu_threads();
    return threads;
}

}  // namespace

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
    throw Error("unknown device '" + request + "': expected cpu, cuda or auto");
}

}  // namespace hnn
