#pragma once
// Inverted dropout: while training each element is kept with probability 1 - rate and scaled by
// 1 / (1 - rate), so evaluation is the identity. The mask is a pure function of (seed, step,
// element): the backward pass multiplies the gradient by the very mask the forward pass drew.

#include "common.h"

namespace hnn {

inline Expr dropout_scale(Expr training, Expr rate, Expr seed, Expr step, Expr c, Expr x, Expr y, Expr n) {
    Expr keep = counter_uniform(seed, step, c, x, y, n) >= rate;
    return Halide::select(training == 0, 1.0f, Halide::select(keep, 1.0f / (1.0f - rate), 0.0f));
}

}  // namespace hnn
