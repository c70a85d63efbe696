#include "machine_limits.h"

#include "hnn/error.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace hnn {
namespace {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds for `threads` threads to each run body(thread index), all started together.
double time_on_threads(int threads, const std::function<void(int)> &body) {
    std::vector<std::thread> pool;
    const double start = now_s();
    for (int t = 0; t < threads; t++) pool.emplace_back(body, t);
    for (std::thread &t : pool) t.join();
    return now_s() - start;
}

// Independent accumulator chains: an FMA unit only reaches its throughput when latency x units
// chains are in flight (4 x 2 on current cores), so each loop keeps more than that.
#define HNN_REPEAT_12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define HNN_REPEAT_20(X) HNN_REPEAT_12(X) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19)

// Each function returns a sum of its accumulators so the loop cannot be dropped; b and c come
// through volatiles so the compiler cannot fold the chains.

__attribute__((target("avx512f"))) float fma_chains_avx512(long iterations) {
    volatile float vb = 0.999f, vc = 0.001f;
    const __m512 b = _mm512_set1_ps(vb), c = _mm512_set1_ps(vc);
#define HNN_DECLARE(i) __m512 a##i = _mm512_set1_ps(float(i));
    HNN_REPEAT_20(HNN_DECLARE)
#undef HNN_DECLARE
    for (long k = 0; k < iterations; k++) {
#define HNN_STEP(i) a##i = _mm512_fmadd_ps(a##i, b, c); __asm__ volatile("" : "+v"(a##i));
        HNN_REPEAT_20(HNN_STEP)
#undef HNN_STEP
    }
    __m512 s = _mm512_setzero_ps();
#define HNN_SUM(i) s = _mm512_add_ps(s, a##i);
    HNN_REPEAT_20(HNN_SUM)
#undef HNN_SUM
    // Not _mm512_reduce_add_ps: GCC 12's version warns of an uninitialized variable inside itself.
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, s);
    float total = 0;
    for (float v : lanes) total += v;
    return total;
}

// 16 ymm registers: 12 chains plus b and c.
__attribute__((target("avx2,fma"))) float fma_chains_avx2(long iterations) {
    volatile float vb = 0.999f, vc = 0.001f;
    const __m256 b = _mm256_set1_ps(vb), c = _mm256_set1_ps(vc);
#define HNN_DECLARE(i) __m256 a##i = _mm256_set1_ps(float(i));
    HNN_REPEAT_12(HNN_DECLARE)
#undef HNN_DECLARE
    for (long k = 0; k < iterations; k++) {
#define HNN_STEP(i) a##i = _mm256_fmadd_ps(a##i, b, c); __asm__ volatile("" : "+x"(a##i));
        HNN_REPEAT_12(HNN_STEP)
#undef HNN_STEP
    }
    __m256 s = _mm256_setzero_ps();
#define HNN_SUM(i) s = _mm256_add_ps(s, a##i);
    HNN_REPEAT_12(HNN_SUM)
#undef HNN_SUM
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, s);
    float total = 0;
    for (float v : lanes) total += v;
    return total;
}

// Baseline x86-64 has no FMA: a multiply and an add, counted as the same 2 flops.
float fma_chains_sse2(long iterations) {
    volatile float vb = 0.999f, vc = 0.001f;
    const __m128 b = _mm_set1_ps(vb), c = _mm_set1_ps(vc);
#define HNN_DECLARE(i) __m128 a##i = _mm_set1_ps(float(i));
    HNN_REPEAT_12(HNN_DECLARE)
#undef HNN_DECLARE
    for (long k = 0; k < iterations; k++) {
#define HNN_STEP(i) a##i = _mm_add_ps(_mm_mul_ps(a##i, b), c); __asm__ volatile("" : "+x"(a##i));
        HNN_REPEAT_12(HNN_STEP)
#undef HNN_STEP
    }
    __m128 s = _mm_setzero_ps();
#define HNN_SUM(i) s = _mm_add_ps(s, a##i);
    HNN_REPEAT_12(HNN_SUM)
#undef HNN_SUM
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

struct FmaLoop {
    const char *isa;
    float (*run)(long iterations);
    int lanes, chains;
};

std::vector<FmaLoop> supported_fma_loops() {
    std::vector<FmaLoop> loops;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) loops.push_back({"avx512", fma_chains_avx512, 16, 20});
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) loops.push_back({"avx2", fma_chains_avx2, 8, 12});
    loops.push_back({"sse2", fma_chains_sse2, 4, 12});
    return loops;
}

// Best of a few runs: the peak is what the machine can do, not what it did while something else ran.
double fma_gflops(const FmaLoop &loop, int threads) {
    const long iterations = 20'000'000;
    std::atomic<float> sink{0};
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        const double seconds = time_on_threads(threads, [&](int) { sink = sink + loop.run(iterations); });
        const double flops = 2.0 * loop.lanes * loop.chains * double(iterations) * threads;
        best = std::max(best, flops / seconds / 1e9);
    }
    return best;
}

double copy_gbs(int threads) {
    // Far beyond any last-level cache, so the copy streams from memory.
    const size_t bytes = size_t(256) << 20;
    std::unique_ptr<char[]> src(new char[bytes]), dst(new char[bytes]);
    const size_t chunk = bytes / threads;
    // Each thread first touches the pages it copies, as the kernels' own tensors are touched.
    time_on_threads(threads, [&](int t) {
        std::memset(src.get() + t * chunk, 1, chunk);
        std::memset(dst.get() + t * chunk, 0, chunk);
    });
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        const double seconds =
            time_on_threads(threads, [&](int t) { std::memcpy(dst.get() + t * chunk, src.get() + t * chunk, chunk); });
        best = std::max(best, 2.0 * double(chunk) * threads / seconds / 1e9);
    }
    return best;
}

}  // namespace

MachineLimits measure_machine_limits(int threads) {
    if (threads < 1) throw Error("measure_machine_limits: need at least one thread, got " + std::to_string(threads));
    MachineLimits limits;
    limits.threads = threads;
    // The widest loop is not always the fastest (some cores split 512-bit FMAs or slow their clock
    // for them): the limit is the best any of them reaches.
    for (const FmaLoop &loop : supported_fma_loops()) {
        const double gflops = fma_gflops(loop, threads);
        if (gflops > limits.fma_peak_gflops) {
            limits.fma_peak_gflops = gflops;
            limits.fma_isa = loop.isa;
        }
        if (std::string(loop.isa) == "avx2") break;  // SSE2 cannot beat an FMA unit
    }
    limits.copy_bandwidth_gbs = copy_gbs(threads);
    return limits;
}

}  // namespace hnn
