#pragma once
// Schedule of the optimizer updates: one streaming pass over flat vectors, vectorized, in
// parallel chunks large enough to amortize the thread handoff.

#include "Halide.h"

namespace hnn {

inline void schedule_flat_update(const Halide::Target &t, Halide::Func updated, Halide::Var i) {
    using namespace Halide;
    Var outer("outer"), inner("inner");
    if (t.has_gpu_feature()) {
        updated.gpu_tile(i, inner, 256, TailStrategy::GuardWithIf);
        return;
    }
    const int vec = t.natural_vector_size<float>();
    updated.split(i, outer, inner, vec * 1024, TailStrategy::GuardWithIf)
        .parallel(outer)
        .vectorize(inner, vec, TailStrategy::GuardWithIf);
}

}  // namespace hnn
