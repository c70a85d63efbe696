#pragma once
// The CPU schedule every matrix-product-like kernel gives its register tile of sums: a Func whose
// pure definition zeroes one tile and whose update adds a reduction into it. The tile lives in
// registers only if nothing about it is indexed at run time: every pure dimension is bounded to the
// tile (tile_bounds.h), the first (channels, contiguous) runs in vectors, and the vectors and the
// tile's other dimensions are unrolled. The update runs its reduction loops outside the tile, so
// each step of the reduction loads its operands once for the whole tile.

#include "Halide.h"

#include "tile_bounds.h"

#include <string>
#include <vector>

namespace hnn {

struct RegisterSums {
    std::vector<int> extents;   // the tile's extent in each pure dimension, 1 where it holds one value
    std::vector<int> unrolled;  // the pure dimensions (indices) unrolled besides the vectors, innermost first
    std::string name;           // names the channel split's loops: "acc_c" -> acc_c_outer, acc_c_inner
};

// The update's loop order: the tile (vectors, then the unrolled dimensions), then `reduction`,
// innermost first (RVars, or pure dimensions the tile does not span). `update` is sums.update() or
// one of its specializations.
inline Halide::Stage schedule_register_sums_update(Halide::Stage update, const Halide::Func &sums, int vec,
                                                   const RegisterSums &tile,
                                                   const std::vector<Halide::VarOrRVar> &reduction) {
    using namespace Halide;
    const std::vector<Var> a = sums.args();
    Var outer(tile.name + "_outer"), inner(tile.name + "_inner");
    std::vector<VarOrRVar> order{inner, outer};
    for (int d : tile.unrolled) order.push_back(a[d]);
    order.insert(order.end(), reduction.begin(), reduction.end());
    update.split(a[0], outer, inner, vec).reorder(order).vectorize(inner).unroll(outer);
    for (int d : tile.unrolled) update.unroll(a[d]);
    return update;
}

// The pure definition: the tile, computed at `at`.
inline void schedule_register_sums_pure(Halide::Func sums, int vec, const RegisterSums &tile,
                                        const Halide::LoopLevel &at) {
    using namespace Halide;
    const std::vector<Var> a = sums.args();
    Var outer(tile.name + "_outer"), inner(tile.name + "_inner");
    bound_extents(sums, tile.extents).compute_at(at).split(a[0], outer, inner, vec).vectorize(inner).unroll(outer);
    for (int d : tile.unrolled) sums.unroll(a[d]);
}

// Both: the tile at `at`, its update's reduction loops outside it.
inline void schedule_register_sums(Halide::Func sums, int vec, const RegisterSums &tile, const Halide::LoopLevel &at,
                                   const std::vector<Halide::VarOrRVar> &reduction) {
    schedule_register_sums_pure(sums, vec, tile, at);
    schedule_register_sums_update(sums.update(), sums, vec, tile, reduction);
}

}  // namespace hnn
