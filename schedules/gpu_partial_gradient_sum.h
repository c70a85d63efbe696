#pragma once
// What the GPU backward-weights schedules (the direct ones and the Winograd one) share: how many
// shares of the positions they sum into partial gradients, and the last kernel, which adds the
// partials in the shares' order, one thread an element, so that the result does not depend on how
// the blocks that computed the partials were scheduled.

#include "Halide.h"

#include <vector>

namespace hnn {

// The shares: as many as give the GPU about 2^18 threads (threads_per_share each), within 128 MB
// of partial gradients (share_elements floats each), and at most `most`; at least one.
inline Halide::Expr gpu_partial_gradient_shares(Halide::Expr threads_per_share, Halide::Expr share_elements,
                                                Halide::Expr most) {
    using Halide::max;
    using Halide::min;
    return max(1, min(min((1 << 18) / threads_per_share, most), (32 << 20) / share_elements));
}

// `out` reads `sum`, whose update adds the partials (an rfactor's intermediate) over the RVar
// `shares`. A block is 32 co x 4 ci threads (co and ci: out's channel Vars); the first of `outer`
// (out's other Vars, outermost last) is the third block dimension, the rest are loops around the
// launch. Eight shares an iteration, so that a thread's loads are in flight together: there are
// few of these threads (one per element), too few to hide a load's latency, and up to thousands of
// shares.
inline void sum_partial_gradients_in_fixed_order(Halide::Func out, Halide::Func sum, Halide::RVar shares,
                                                 Halide::Var co, Halide::Var ci,
                                                 const std::vector<Halide::VarOrRVar> &outer) {
    using namespace Halide;
    Var gco("gco"), gci("gci"), gcoi("gcoi"), gcii("gcii");
    std::vector<VarOrRVar> order{gcoi, gcii, gco, gci};
    order.insert(order.end(), outer.begin(), outer.end());
    out.split(co, gco, gcoi, 32, TailStrategy::GuardWithIf)
        .split(ci, gci, gcii, 4, TailStrategy::GuardWithIf)
        .reorder(order)
        .gpu_blocks(gco, gci, outer.front())
        .gpu_threads(gcoi, gcii);
    sum.compute_at(out, gcoi);
    RVar outer_shares("shares_outer"), inner_shares("shares_inner");
    sum.update().split(shares, outer_shares, inner_shares, 8, TailStrategy::GuardWithIf).unroll(inner_shares);
}

// The direct backward-weights' filter_grad (co, kx, ky, ci) = dw: a block per kx, a launch per ky.
inline void sum_partial_gradients_in_fixed_order(Halide::Func filter_grad, Halide::Func dw, Halide::RVar shares) {
    std::vector<Halide::Var> g = filter_grad.args();  // (co, kx, ky, ci)
    sum_partial_gradients_in_fixed_order(filter_grad, dw, shares, g[0], g[3], {g[1], g[2]});
}

}  // namespace hnn
