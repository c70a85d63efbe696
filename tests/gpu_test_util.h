#pragma once
// The GPU device under test (HNN_GPU_DEVICE, set per executable by tests/CMakeLists.txt) and how a
// test that needs it skips: exit code 77, which ctest reports as skipped, not passed.

#include "hnn/conv2d_ops.h"
#include "hnn/device.h"
#include "hnn/tensor.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace hnn::test {

constexpr Device gpu = Device::HNN_GPU_DEVICE;

inline void require_gpu_or_skip() {
    const bool answers = gpu == Device::opencl ? opencl_available() : cuda_available();
    if (!answers) {
        std::printf("skipped: no %s device answers on this machine\n", device_name(gpu));
        std::fflush(stdout);
        std::_Exit(77);
    }
}

// A device copy of a CPU tensor (the data moves to the device on first kernel use).
inline Tensor on_gpu(const Tensor &t) {
    Tensor g(t.shape(), gpu);
    std::copy(t.host(), t.host() + t.size(), g.host());
    g.host_changed();
    return g;
}

// The process-wide --conv-algorithm for one test case.
struct ConvAlgorithmScope {
    explicit ConvAlgorithmScope(ConvAlgorithm a) { set_conv_algorithm(a); }
    ~ConvAlgorithmScope() { set_conv_algorithm(ConvAlgorithm::automatic); }
    ConvAlgorithmScope(const ConvAlgorithmScope &) = delete;
    ConvAlgorithmScope &operator=(const ConvAlgorithmScope &) = delete;
};

}  // namespace hnn::test
