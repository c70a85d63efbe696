#pragma once
// Helpers shared by every hnn generator: the tensor layout, stable elementary functions and the
// counter-based random numbers. Algorithms only: nothing here schedules.
//
// Layout: every activation tensor is (c, x, y, n), channels innermost; filters are
// (c_out, kx, ky, c_in). With channels innermost a convolution's inner loop runs over contiguous
// output channels, which vectorizes on x86 and coalesces across GPU threads, and the reduction over
// input channels reads contiguous memory. This is the layout of Halide's apps/conv_layer and
// apps/hannk, and of oneDNN's nhwc.

#include "Halide.h"

namespace hnn {

using Halide::Expr;

// log(1 + u) for u in [0, 1], to float rounding relative to the result however small u is:
// log(1 + u) = 2 atanh(s) with s = u / (2 + u) in [0, 1/3], and atanh(s) / s = 1 + z P(z), z = s^2,
// P a minimax polynomial of degree 4 (relative error 5e-9 on [0, 1/9]). Every term is positive, so
// no step cancels. Tricks that rely on the rounding of 1 + u cancelling (Goldberg's
// log(w) u / (w - 1)) do not survive here: Halide's simplifier and LLVM's reassociation (Halide
// compiles with fast-math flags) fold (1 + u) - 1 back to u, which returned log(w), 0 below 6e-8.
inline Expr log1p_of_unit_interval(Expr u) {
    Expr s = u / (2.0f + u);
    Expr z = s * s;
    Expr p = 3.333320916e-01f + z * (2.001076639e-01f + z * (1.400083899e-01f + z * 1.400633305e-01f));
    Expr two_s = 2.0f * s;
    return two_s + two_s * (z * p);
}

// ln(1 + e^x) without overflow, to float rounding relative to the result for either sign of x
// (e^x where x is very negative): max(x, 0) + log1p(e^-|x|).
inline Expr softplus_stable(Expr x) {
    return Halide::max(x, 0.0f) + log1p_of_unit_interval(Halide::exp(-Halide::abs(x)));
}

// 1 / (1 + e^-x) without overflow for either sign of x.
inline Expr sigmoid_stable(Expr x) {
    Expr e = Halide::exp(-Halide::abs(x));
    Expr s = 1.0f / (1.0f + e);
    return Halide::select(x >= 0.0f, s, e * s);
}

// sigmoid'(x) from a = |x|: s (1 - s) without the subtraction, which cancels to 0 above x = 17.
// With e = e^-a and s = 1 / (1 + e), it is e s^2 for either sign of x.
inline Expr sigmoid_derivative_of_abs(Expr a) {
    Expr e = Halide::exp(-a);
    Expr s = 1.0f / (1.0f + e);
    return e * s * s;
}

// A 32-bit integer hash with good avalanche ("lowbias32", C. Wellons). Wrapping uint32 arithmetic.
inline Expr hash_uint32(Expr v) {
    using Halide::Internal::UIntImm;
    v = Halide::cast(Halide::UInt(32), v);
    v = v ^ (v >> 16);
    v = v * UIntImm::make(Halide::UInt(32), 0x7feb352dU);
    v = v ^ (v >> 15);
    v = v * UIntImm::make(Halide::UInt(32), 0x846ca68bU);
    v = v ^ (v >> 16);
    return v;
}

// Uniform in [0, 1), a pure function of (seed, step, c, x, y, n): the backward pass regenerates
// exactly the numbers the forward pass drew, so nothing needs to be stored, and a kernel with a
// fused activation draws the same numbers as the activation kernel, whatever the tensor's extents.
inline Expr counter_uniform(Expr seed, Expr step, Expr c, Expr x, Expr y, Expr n) {
    Expr h = hash_uint32(seed);
    for (Expr v : {step, c, x, y, n}) {
        h = hash_uint32(h ^ Halide::cast(Halide::UInt(32), v));
    }
    return Halide::cast<float>(h >> 8) * (1.0f / 16777216.0f);
}

// The input with zeros outside its x/y extent (channels and batch are never out of bounds).
inline Halide::Func zero_padded(Halide::Func input, Expr width, Expr height, const std::string &name) {
    Halide::Var c, x, y, n;
    Halide::Func padded(name);
    Expr inside = x >= 0 && x < width && y >= 0 && y < height;
    padded(c, x, y, n) = Halide::select(inside, input(c, Halide::clamp(x, 0, width - 1), Halide::clamp(y, 0, height - 1), n), 0.0f);
    return padded;
}

// input with index `dim` of a rank-4 Func clamped to [0, extent): lets a schedule compute whole
// register tiles past the end of a channel dimension (those lanes are never stored).
inline Halide::Func clamp_dimension(Halide::Func input, int dim, Expr extent, const std::string &name) {
    Halide::Var a("a"), b("b"), c("c"), d("d");
    std::vector<Expr> at = {a, b, c, d};
    at[dim] = Halide::clamp(at[dim], 0, extent - 1);
    Halide::Func clamped(name);
    clamped(a, b, c, d) = input(at);
    return clamped;
}

// Elements of a 4-D buffer (c, x, y, n): schedules run small calls on one thread, where waking
// the workers costs more than the work.
template <typename Buffer4>
Expr elements(const Buffer4 &b) {
    return b.dim(0).extent() * b.dim(1).extent() * b.dim(2).extent() * b.dim(3).extent();
}

// Elements of one row (c x width) of a 4-D buffer: what a parallel task of rows is sized by.
template <typename Buffer4>
Expr row_elements(const Buffer4 &b) {
    return b.dim(0).extent() * b.dim(1).extent();
}

}  // namespace hnn
