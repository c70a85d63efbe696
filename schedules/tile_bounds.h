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

}  // namespace hnn
