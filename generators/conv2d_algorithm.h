#pragma once
// 2-D convolution as pure algorithm: forward, backward-data and backward-weights, for any kernel
// size, any stride and any top/left padding (the bottom/right padding follows from the output
// extent the caller allocates: TensorFlow's 'same', 'valid' or explicit). The generators and the
// tests' autodiff references both build their pipelines from these functions.
//
// Layout: input (ci, x, y, n), filter (co, kx, ky, ci), output (co, x, y, n).

#include "common.h"

namespace hnn {

struct Conv2dShape {
    Expr stride;
    Expr pad_x, pad_y;  // zeros added before the first column / row
};

// out(co, x, y, n) = bias(co) + sum_{kx, ky, ci} filter(co, kx, ky, ci) in(ci, x s + kx - px, y s + ky - py, n)
// r ranges over (kx, ky, ci).
inline void define_conv2d_forward(Halide::Func conv, Halide::Func input_padded, Halide::Func filter, Halide::Func bias,
                                  Halide::RDom r, const Conv2dShape &s) {
    Halide::Var co("co"), x("x"), y("y"), n("n");
    conv(co, x, y, n) = bias(co);
    conv(co, x, y, n) += filter(co, r.x, r.y, r.z) *
                         input_padded(r.z, x * s.stride + r.x - s.pad_x, y * s.stride + r.y - s.pad_y, n);
}

// A 1x1 convolution at stride 1 without padding, over positions p (x, y and n as one index: which
// image and row a position lies in does not matter): a matrix product.
// out(co, p) = bias(co) + sum_ci filter(co, ci) in(ci, p); r ranges over ci.
inline void define_pointwise_conv2d_forward(Halide::Func conv, Halide::Func input, Halide::Func filter,
                                            Halide::Func bias, Halide::RDom r) {
    Halide::Var co("co"), p("p");
    conv(co, p) = bias(co);
    conv(co, p) += filter(co, r) * input(r, p);
}

// din(ci, x, y, n) = sum_{co, kx, ky} filter(co, kx, ky, ci) dout(co, (x + px - kx) / s, (y + py - ky) / s, n)
// over the (kx, ky) for which the division is exact and lands inside dout. r ranges over (co, kx, ky).
// filter_t is the filter transposed to (ci, kx, ky, co) so the vectorized ci reads contiguously.
inline void define_conv2d_backward_data(Halide::Func din, Halide::Func output_grad_padded, Halide::Func filter_t,
                                        Halide::RDom r, const Conv2dShape &s) {
    Halide::Var ci("ci"), x("x"), y("y"), n("n");
    Expr tx = x + s.pad_x - r.y;
    Expr ty = y + s.pad_y - r.z;
    Expr hit = (tx % s.stride == 0) && (ty % s.stride == 0);
    din(ci, x, y, n) = 0.0f;
    din(ci, x, y, n) += filter_t(ci, r.y, r.z, r.x) *
                        Halide::select(hit, output_grad_padded(r.x, tx / s.stride, ty / s.stride, n), 0.0f);
}

// The same sum over the taps that reach each position alone. With u = x + pad_x and v = y + pad_y,
// the taps kx with (u - kx) divisible by s are kx = u % s + s j, reading dout at u / s - j, for j
// below taps_x = ceil(K / s); so
// din(ci, x, y, n) = sum_{co, j, i} filter_t(ci, u % s + s j, v % s + s i, co) dout(co, u / s - j, v / s - i, n),
// r ranging over (co, j, i) with j < taps_x and i < taps_y (its extents may be larger, with where()),
// and filter_t zero past the kernel's taps, up to s taps_x. define_conv2d_backward_data visits
// all K^2 taps at each position and discards those whose offset s does not divide; this form sums
// ceil(K / s)^2 (3x3 at stride 2: 4, of which 2.25 on average reach the position, against 9), and
// the same K^2 at stride 1.
inline void define_conv2d_backward_data_by_phase(Halide::Func din, Halide::Func output_grad_padded,
                                                 Halide::Func filter_t, Halide::RDom r, const Conv2dShape &s,
                                                 Expr taps_x, Expr taps_y) {
    Halide::Var ci("ci"), x("x"), y("y"), n("n");
    Expr u = x + s.pad_x, v = y + s.pad_y;
    // Clamped to filter_t's taps, which bounds inference cannot see: it bounds u % s by s's largest
    // value, not by s.
    Expr kx = Halide::min(u % s.stride + s.stride * r.y, s.stride * taps_x - 1);
    Expr ky = Halide::min(v % s.stride + s.stride * r.z, s.stride * taps_y - 1);
    din(ci, x, y, n) = 0.0f;
    din(ci, x, y, n) += filter_t(ci, kx, ky, r.x) * output_grad_padded(r.x, u / s.stride - r.y, v / s.stride - r.z, n);
}

// The pointwise backward-data: din(ci, p) = sum_co filter_t(ci, co) dout(co, p), with filter_t the
// 1x1 filter transposed to (ci, co) so the vectorized ci reads contiguously. r ranges over co.
inline void define_pointwise_conv2d_backward_data(Halide::Func din, Halide::Func output_grad, Halide::Func filter_t,
                                                  Halide::RDom r) {
    Halide::Var ci("ci"), p("p");
    din(ci, p) = 0.0f;
    din(ci, p) += filter_t(ci, r) * output_grad(r, p);
}

// dfilter(co, kx, ky, ci) = sum_{x, y, n} dout(co, x, y, n) in(ci, x s + kx - px, y s + ky - py, n)
// r ranges over dout's (x, y, n).
inline void define_conv2d_backward_weights(Halide::Func dfilter, Halide::Func output_grad, Halide::Func input_padded,
                                           Halide::RDom r, const Conv2dShape &s) {
    Halide::Var co("co"), kx("kx"), ky("ky"), ci("ci");
    dfilter(co, kx, ky, ci) = 0.0f;
    dfilter(co, kx, ky, ci) += output_grad(co, r.x, r.y, r.z) *
                               input_padded(ci, r.x * s.stride + kx - s.pad_x, r.y * s.stride + ky - s.pad_y, r.z);
}

// The pointwise backward-weights: dfilter(co, ci) = sum_p dout(co, p) in(ci, p). r ranges over p.
inline void define_pointwise_conv2d_backward_weights(Halide::Func dfilter, Halide::Func output_grad,
                                                     Halide::Func input, Halide::RDom r) {
    Halide::Var co("co"), ci("ci");
    dfilter(co, ci) = 0.0f;
    dfilter(co, ci) += output_grad(co, r) * input(ci, r);
}

// dbias(co) = sum_{x, y, n} dout(co, x, y, n), the bias gradient of every conv's backward-weights,
// summed in `sum` (which the schedule keeps in registers). Returns its reduction domain.
inline Halide::RDom define_conv2d_bias_gradient(Halide::Func dbias, Halide::Func sum,
                                                const Halide::ImageParam &output_grad) {
    Halide::Var co("co");
    Halide::RDom r(0, output_grad.dim(1).extent(), 0, output_grad.dim(2).extent(), 0, output_grad.dim(3).extent(), "rb");
    sum(co) = 0.0f;
    sum(co) += output_grad(co, r.x, r.y, r.z);
    dbias(co) = sum(co);
    return r;
}

}  // namespace hnn
