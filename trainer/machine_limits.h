#pragma once
// What this machine can do at best, measured rather than looked up: the fp32 FMA peak and the
// copy bandwidth with a given number of threads, so that `hnn bench` can say how far a kernel is
// from the limit that bounds it.

#include <string>

namespace hnn {

struct MachineLimits {
    double fma_peak_gflops = 0;     // fp32, 2 flops per FMA lane, every thread busy
    double copy_bandwidth_gbs = 0;  // memcpy of large buffers, bytes read + bytes written
    std::string fma_isa;            // the instruction set that reached the peak: avx512, avx2 or sse2
    int threads = 0;
};

// Takes about a second. The binary runs on any x86-64: the wide FMA loops are compiled for their
// instruction sets alone and chosen from the running CPU's features.
MachineLimits measure_machine_limits(int threads);

}  // namespace hnn
