#pragma once
// Nearest-neighbour resampling between (c, x, y, n) tensors of different spatial sizes, as the
// dilated backprop of the CELU experiments uses it: out = base + scale * nearest_upsample(small).

#include "Halide.h"

namespace hnn {

// The source pixel of output pixel `i` when `in_extent` pixels are stretched over `out_extent`
// (floor(i * in / out), as PyTorch's nearest interpolation).
inline Halide::Expr nearest_source(Halide::Expr i, Halide::Expr in_extent, Halide::Expr out_extent) {
    return (i * in_extent) / out_extent;
}

inline void define_upsample_nearest_add(Halide::Func out, Halide::Func base, Halide::Func small, Halide::Expr scale,
                                        Halide::Expr small_width, Halide::Expr small_height, Halide::Expr width,
                                        Halide::Expr height) {
    Halide::Var c("c"), x("x"), y("y"), n("n");
    out(c, x, y, n) = base(c, x, y, n) + scale * small(c, nearest_source(x, small_width, width),
                                                       nearest_source(y, small_height, height), n);
}

}  // namespace hnn
