#pragma once
// Schedules of sums over (x, y, n) that leave one value per channel: prelu's dL/da_c, swish's
// dL/dbeta partials and the conv bias gradient. Channels are innermost in memory, so each vector
// lane accumulates one channel while the loop walks the tensor in storage order.
//
// `out` (c) = `sum` (c), whose update reduces over r in the order (x, y, n): the sum is a Func of
// its own so that it can live in registers, and the order is the same on every target, so the
// result does not depend on the schedule.

#include "Halide.h"

namespace hnn {

// A vector of channels at a time, outermost and each on its own thread: its sums stay in a register
// over the whole reduction. (Summed into the output buffer itself, which may alias an input, every
// position's add was a store and a reload that the next add waited on: the bias gradients of a
// celu7 step took 2.5% of it on one thread.) A conv without a bias gets an output of no channels
// (conv2d_backward_weights), which costs nothing here.
inline void schedule_channel_reduction_cpu(Halide::Func out, Halide::Func sum, Halide::RDom r,
                                           const Halide::Target &t) {
    using namespace Halide;
    const int lanes = t.natural_vector_size<float>();
    Var c = out.args()[0], co("c_outer"), ci("c_inner");
    out.split(c, co, ci, lanes, TailStrategy::GuardWithIf).vectorize(ci).parallel(co);
    Var s = sum.args()[0];
    sum.compute_at(out, co).vectorize(s, lanes, TailStrategy::GuardWithIf);
    std::vector<VarOrRVar> order{s};
    for (int d = 0; d < r.dimensions(); d++) order.emplace_back(r[d]);
    sum.update().reorder(order).vectorize(s, lanes, TailStrategy::GuardWithIf);
}

// A thread per channel, summing in a register.
inline void schedule_channel_reduction_gpu(Halide::Func out, Halide::Func sum) {
    Halide::Var c = out.args()[0], ci("ci");
    out.gpu_tile(c, ci, 32, Halide::TailStrategy::GuardWithIf);
    sum.compute_at(out, ci);
}

inline void schedule_channel_reduction(Halide::Func out, Halide::Func sum, Halide::RDom r, const Halide::Target &t) {
    if (t.has_gpu_feature()) {
        schedule_channel_reduction_gpu(out, sum);
    } else {
        schedule_channel_reduction_cpu(out, sum, r, t);
    }
}

}  // namespace hnn
