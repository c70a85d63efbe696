#pragma once
// Schedules of sums over (x, y, n) that leave one value per channel: prelu's dL/da_c, swish's
// dL/dbeta partials and the conv bias gradient. Channels are innermost in memory, so each vector
// lane accumulates one channel while the loop walks the tensor in storage order.
//
// `out` (c) = `sum` (c), whose update reduces over r = (x, y, n): the sum is a Func of its own so
// that it can live in registers.

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

// First a thread per channel and image sums the image's positions, then a thread per channel sums
// the images' sums (the last of r's dimensions). A thread per channel summing the whole tensor was a
// chain of dependent adds as long as the batch's positions (131072 at allconv's 32x32, batch 128) on
// a few warps of the whole GPU. The order differs from the CPU's: the sums agree to rounding.
inline void schedule_channel_reduction_gpu(Halide::Func out, Halide::Func sum, Halide::RDom r) {
    using namespace Halide;
    Var c = out.args()[0], ci("ci"), image("image"), ii("image_inner");
    Func per_image = sum.update().rfactor(r[r.dimensions() - 1], image);
    Var pc = per_image.args()[0];
    per_image.compute_root().gpu_tile(pc, image, ci, ii, 32, 4, TailStrategy::GuardWithIf);
    per_image.update().gpu_tile(pc, image, ci, ii, 32, 4, TailStrategy::GuardWithIf);
    out.gpu_tile(c, ci, 32, TailStrategy::GuardWithIf);
    sum.compute_at(out, ci);
}

inline void schedule_channel_reduction(Halide::Func out, Halide::Func sum, Halide::RDom r, const Halide::Target &t) {
    if (t.has_gpu_feature()) {
        schedule_channel_reduction_gpu(out, sum, r);
    } else {
        schedule_channel_reduction_cpu(out, sum, r, t);
    }
}

}  // namespace hnn
