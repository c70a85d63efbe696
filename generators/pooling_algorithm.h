#pragma once
// Pooling as pure algorithm: average and max over K x K windows with stride S (the output size,
// chosen by the caller, floors: 7 -> 3 for K = S = 2), and global average. Layout (c, x, y, n).

#include "common.h"

namespace hnn {

// The mean over each window: window_sum accumulates over r = (kx, ky), out divides by K*K.
// 2x2 windows, the common case, are summed in place, in window_sum's order (so to the same bits),
// which the schedule specializes on: a vector's four loads and three adds in registers.
inline void define_avg_pool_forward(Halide::Func out, Halide::Func window_sum, Halide::Func input, Halide::RDom r,
                                    Expr kernel, Expr stride) {
    Halide::Var c("c"), x("x"), y("y"), n("n");
    window_sum(c, x, y, n) = 0.0f;
    window_sum(c, x, y, n) += input(c, x * stride + r.x, y * stride + r.y, n);
    Expr x0 = x * stride, y0 = y * stride;
    Expr two_by_two = ((input(c, x0, y0, n) + input(c, x0 + 1, y0, n)) + input(c, x0, y0 + 1, n)) + input(c, x0 + 1, y0 + 1, n);
    out(c, x, y, n) = Halide::select(kernel == 2, two_by_two, window_sum(c, x, y, n)) / Halide::cast<float>(kernel * kernel);
}

// Windows that tile the input (kernel == stride, the common 2x2/2) cover each position at most
// once: its gradient is one output gradient, read plainly (output_grad_padded is zero outside the
// output's extent, where the floor left positions in no window).
inline Expr avg_pool_backward_tiled(Halide::Func output_grad_padded, Expr c, Expr x, Expr y, Expr n, Expr stride) {
    return output_grad_padded(c, x / stride, y / stride, n);
}

// Each input position receives dout / (K*K) from every window that covers it: window_sum gathers
// over r = (kx, ky) (output_grad_padded is zero outside the output's extent), din divides. Tiled
// windows (above) read their one gradient instead, which the schedule specializes on.
inline void define_avg_pool_backward(Halide::Func din, Halide::Func window_sum, Halide::Func output_grad_padded,
                                     Halide::RDom r, Expr kernel, Expr stride) {
    Halide::Var c("c"), x("x"), y("y"), n("n");
    Expr tx = x - r.x, ty = y - r.y;
    Expr covers = tx % stride == 0 && ty % stride == 0;
    window_sum(c, x, y, n) = 0.0f;
    window_sum(c, x, y, n) += Halide::select(covers, output_grad_padded(c, tx / stride, ty / stride, n), 0.0f);
    Expr tiled = avg_pool_backward_tiled(output_grad_padded, c, x, y, n, stride);
    din(c, x, y, n) = Halide::select(kernel == stride, tiled, window_sum(c, x, y, n)) / Halide::cast<float>(kernel * kernel);
}

// The same for tiled windows alone, times the derivative of the activation that made the pool's
// input (an Expr in (c, x, y, n)): the gradient at that activation's input in one pass, where
// avg_pool_backward and activation_backward wrote and read the pool's input gradient in between.
// The same operations in the same order (up to LLVM's fast-math reordering: an ulp).
inline void define_avg_pool_backward_activation(Halide::Func din, Halide::Var c, Halide::Var x, Halide::Var y,
                                                Halide::Var n, Halide::Func output_grad_padded, Expr kernel,
                                                Expr stride, Expr derivative) {
    Expr pooled = avg_pool_backward_tiled(output_grad_padded, c, x, y, n, stride) / Halide::cast<float>(kernel * kernel);
    din(c, x, y, n) = pooled * derivative;
}

// The window's maximum and where it is: (kx, ky) of the first maximum in row-major window order
// (ky, then kx), the same deterministic tie-break as PyTorch.
inline void define_max_pool_argmax(Halide::Func argmax_at, Halide::Func input, Halide::RDom r, Expr stride) {
    Halide::Var c("c"), x("x"), y("y"), n("n");
    argmax_at(c, x, y, n) = Halide::argmax(r, input(c, x * stride + r.x, y * stride + r.y, n));
}

// The gradient goes to each window's argmax only. r ranges over (kx, ky).
inline void define_max_pool_backward(Halide::Func din, Halide::Func output_grad_padded, Halide::Func argmax_padded,
                                     Halide::RDom r, Expr stride) {
    Halide::Var c("c"), x("x"), y("y"), n("n");
    Expr tx = x - r.x, ty = y - r.y;
    Expr ox = tx / stride, oy = ty / stride;
    Expr covers = tx % stride == 0 && ty % stride == 0;
    Halide::Tuple am = argmax_padded(c, ox, oy, n);
    Expr chosen = covers && am[0] == r.x && am[1] == r.y;
    din(c, x, y, n) = 0.0f;
    din(c, x, y, n) += Halide::select(chosen, output_grad_padded(c, ox, oy, n), 0.0f);
}

// The same for tiled windows (kernel == stride) times an activation's derivative, as
// define_avg_pool_backward_activation: a position gets its window's gradient if it is the window's
// argmax (argmax_padded's (kx, ky) of define_max_pool_argmax, clamped to the output's extent),
// else 0.
inline void define_max_pool_backward_activation(Halide::Func din, Halide::Var c, Halide::Var x, Halide::Var y,
                                                Halide::Var n, Halide::Func output_grad_padded,
                                                Halide::Func argmax_padded, Expr stride, Expr derivative) {
    Expr ox = x / stride, oy = y / stride;
    Halide::Tuple am = argmax_padded(c, ox, oy, n);
    Expr chosen = am[0] == x % stride && am[1] == y % stride;
    din(c, x, y, n) = Halide::select(chosen, output_grad_padded(c, ox, oy, n), 0.0f) * derivative;
}

}  // namespace hnn
