#pragma once
// The last kernel of both GPU backward-weights schedules: filter_grad (co, kx, ky, ci) = dw, where
// dw's update adds the partial gradients of the shares of the positions (an rfactor's
// intermediate) over the RVar `shares`, one thread an element summing them in the shares' order, so
// that the result does not depend on how the blocks that computed the partials were scheduled.
// Eight shares an iteration, so that a thread's loads are in flight together: there are few of these
// threads (one per filter element), too few to hide a load's latency, and up to thousands of shares.

#include "Halide.h"

#include <vector>

namespace hnn {

inline void sum_partial_gradients_in_fixed_order(Halide::Func filter_grad, Halide::Func dw, Halide::RVar shares) {
    using namespace Halide;
    std::vector<Var> g = filter_grad.args();  // (co, kx, ky, ci)
    Var gco("gco"), gci("gci"), gcoi("gcoi"), gcii("gcii");
    filter_grad.split(g[0], gco, gcoi, 32, TailStrategy::GuardWithIf)
        .split(g[3], gci, gcii, 4, TailStrategy::GuardWithIf)
        .reorder(gcoi, gcii, gco, gci, g[1], g[2])
        .gpu_blocks(gco, gci, g[1])
        .gpu_threads(gcoi, gcii);
    dw.compute_at(filter_grad, gcoi);
    RVar outer("shares_outer"), inner("shares_inner");
    dw.update().split(shares, outer, inner, 8, TailStrategy::GuardWithIf).unroll(inner);
}

}  // namespace hnn
