#pragma once
// Shared test helpers: random tensors, tolerant comparisons with useful failure messages.

#include "hnn/tensor.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace hnn::test {

inline std::mt19937 &rng() {
    static std::mt19937 generator(Catch::rngSeed());
    return generator;
}

inline Tensor random_tensor(const std::vector<int> &shape, float lo = -1, float hi = 1) {
    Tensor t(shape);
    std::uniform_real_distribution<float> u(lo, hi);
    float *p = t.host();
    for (size_t i = 0; i < t.size(); i++) p[i] = u(rng());
    t.host_changed();
    return t;
}

// |got - want| <= rel * |want| + abs for every element; reports the first few misses.
template<typename GetWant>
void require_close(const Tensor &got, GetWant want_at, double rel, double abs_tol, const std::string &what) {
    const float *g = got.host();
    size_t misses = 0;
    std::ostringstream report;
    for (size_t i = 0; i < got.size(); i++) {
        double w = want_at(i);
        double err = std::fabs(double(g[i]) - w);
        if (!(err <= rel * std::fabs(w) + abs_tol)) {
            if (misses < 5) report << "  [" << i << "] got " << g[i] << " want " << w << " (err " << err << ")\n";
            misses++;
        }
    }
    INFO(what << ": " << misses << " of " << got.size() << " elements out of tolerance\n" << report.str());
    REQUIRE(misses == 0);
}

}  // namespace hnn::test
