#include "conv_method_timing.h"

#include "hnn/error.h"

#include <chrono>
#include <limits>
#include <map>
#include <mutex>

namespace hnn {
namespace {

std::mutex timed_mutex;
std::map<ConvTimingKey, ConvTiming> &timings() {
    static std::map<ConvTimingKey, ConvTiming> measured;
    return measured;
}

double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::optional<ConvTiming> conv_timing(const ConvTimingKey &key) {
    std::lock_guard<std::mutex> lock(timed_mutex);
    auto it = timings().find(key);
    if (it == timings().end()) return std::nullopt;
    return it->second;
}

// Without conv_timing's copy of the seconds: every convolution on a GPU under auto asks.
std::optional<ConvMethod> timed_conv_method(const ConvTimingKey &key) {
    std::lock_guard<std::mutex> lock(timed_mutex);
    auto it = timings().find(key);
    if (it == timings().end()) return std::nullopt;
    return it->second.chosen;
}

size_t conv_shapes_timed() {
    std::lock_guard<std::mutex> lock(timed_mutex);
    return timings().size();
}

ConvMethod time_conv_methods(const ConvTimingKey &key, const std::vector<ConvMethod> &candidates,
                             const std::function<void(ConvMethod)> &launch, const std::function<double()> &now) {
    const std::function<double()> clock = now ? now : steady_seconds;
    ConvTiming timing{candidates.front(), {}};
    double fastest_seconds = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < candidates.size(); i++) {
        const ConvMethod m = candidates[i];
        double seconds;
        try {
            launch(m);
            const double start = clock();
            for (int run = 0; run < kTimedConvRuns; run++) launch(m);
            seconds = (clock() - start) / kTimedConvRuns;
        } catch (const Error &) {
            if (i == 0) throw;
            continue;
        }
        timing.seconds.push_back({m, seconds});
        if (seconds < fastest_seconds) {
            timing.chosen = m;
            fastest_seconds = seconds;
        }
    }
    std::lock_guard<std::mutex> lock(timed_mutex);
    timings()[key] = timing;
    return timing.chosen;
}

}  // namespace hnn
