#pragma once
// A Func computed per tile (a register tile, a block's shared-memory stage) is bounded in every
// dimension to the tile's extent, 1 where the tile holds a single value: with a constant size its
// storage is registers or a fixed shared allocation instead of a buffer sized at run time.

#include "Halide.h"

#include <vector>

namespace hnn {

// extents[i] bounds f's i-th pure dimension; one entry per dimension.
inline Halide::Func &bound_extents(Halide::Func &f, const std::vector<int> &extents) {
    const std::vector<Halide::Var> a = f.args();
    for (size_t i = 0; i < a.size(); i++) f.bound_extent(a[i], extents.at(i));
    return f;
}

// A GPU thread's register tile of a matrix product's sums: computed at `at` in registers, bounded
// to `extents`, its dimensions `a` and `b` (the product's two sides) unrolled, and its update
// running the reduction loops `reduction` (innermost first) outside them, so that each step of the
// reduction loads its operands once for every sum of the tile.
inline void schedule_gpu_register_tile(Halide::Func sums, const Halide::LoopLevel &at, const std::vector<int> &extents,
                                       int a, int b, const std::vector<Halide::VarOrRVar> &reduction) {
    const std::vector<Halide::Var> v = sums.args();
    sums.compute_at(at).store_in(Halide::MemoryType::Register);
    bound_extents(sums, extents).unroll(v[a]).unroll(v[b]);
    std::vector<Halide::VarOrRVar> order{v[a], v[b]};
    order.insert(order.end(), reduction.begin(), reduction.end());
    sums.update().reorder(order).unroll(v[a]).unroll(v[b]);
}

}  // namespace hnn
