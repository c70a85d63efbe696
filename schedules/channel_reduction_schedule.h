#pragma once
// Schedules of sums over (x, y, n) that leave one value per channel: prelu's dL/da_c, swish's
// dL/dbeta partials and the conv bias gradient. Channels are innermost in memory, so each vector
// lane accumulates one channel while the loop walks the tensor in storage order.

#include "Halide.h"

namespace hnn {

inline void schedule_channel_reduction_cpu(Halide::Func sum, Halide::Var c, Halide::RDom r,
                                           const Halide::Target &t) {
    const int lanes = t.natural_vector_size<float>();
    sum.vectorize(c, lanes, Halide::TailStrategy::GuardWithIf);
    std::vector<Halide::VarOrRVar> order{c};
    for (int d = 0; d < r.dimensions(); d++) order.emplace_back(r[d]);
    sum.update().reorder(order).vectorize(c, lanes, Halide::TailStrategy::GuardWithIf);
}

inline void schedule_channel_reduction_gpu(Halide::Func sum, Halide::Var c, Halide::RDom,
                                           const Halide::Target &) {
    Halide::Var ci("ci");
    sum.gpu_tile(c, ci, 32, Halide::TailStrategy::GuardWithIf);
    sum.update().gpu_tile(c, ci, 32, Halide::TailStrategy::GuardWithIf);
}

inline void schedule_channel_reduction(Halide::Func sum, Halide::Var c, Halide::RDom r,
                                       const Halide::Target &t) {
    if (t.has_gpu_feature()) {
        schedule_channel_reduction_gpu(sum, c, r, t);
    } else {
        schedule_channel_reduction_cpu(sum, c, r, t);
    }
}

}  // namespace hnn
