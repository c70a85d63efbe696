#include "conv_method_timing.h"

#include "hnn/error.h"

#include <chrono>
#include <limits>
#include <map>
#include <mutex>

namespace hnn {
namespace {

std::mutex timed_mutex;
std::map<ConvTimingKey, ConvMethod> &timed_methods() {
    static std::map<ConvTimingKey, ConvMethod> methods;
    return methods;
}

double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::optional<ConvMethod> timed_conv_method(const ConvTimingKey &key) {
    std::lock_guard<std::mutex> lock(timed_mutex);
    auto it = timed_methods().find(key);
    if (it == timed_methods().end()) return std::nullopt;
    return it->second;
}

size_t conv_shapes_timed() {
    std::lock_guard<std::mutex> lock(timed_mutex);
    return timed_methods().size();
}

ConvMethod time_conv_methods(const ConvTimingKey &key, const std::vector<ConvMethod> &candidates,
                             const std::function<void(ConvMethod)> &launch, const std::function<double()> &now) {
    const std::function<double()> clock = now ? now : steady_seconds;
    ConvMethod fastest = candidates.front();
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
        if (seconds < fastest_seconds) {
            fastest = m;
            fastest_seconds = seconds;
        }
    }
    std::lock_guard<std::mutex> lock(timed_mutex);
    timed_methods()[key] = fastest;
    return fastest;
}

}  // namespace hnn
