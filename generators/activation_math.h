#pragma once
// Each activation's f and f' written once. Every kernel that applies an activation (the activation
// kernels, the conv epilogue, the fused backward-data) and the JIT-compiled reference pipelines of
// the tests call these functions; nothing else spells out an activation's formula.
//
// A derivative reads x, the activation's input; for the kinds where y = f(x) determines f'
// (has_derivative_from_output), a backward kernel may read y instead, as its run-time argument
// says: a forward pass then keeps y alone, not y and x, a tensor less to write and to hold.
//
// Stability in float32 for |x| up to 1e4: no exp() of a large positive argument reaches a result,
// no log of 0, no 0/0. Halide's select() does not propagate an unselected inf.

#include "activation_kind.h"
#include "common.h"

#include <string>

namespace hnn {

struct ActivationParams {
    Expr negative_slope = 0.01f;  // leaky_relu
    Expr alpha = 1.0f;            // elu, celu
    Expr beta = 1.0f;             // softplus, swish
    Expr threshold = 20.0f;       // softplus: linear where beta * x > threshold
    Expr channel_slope = 0.25f;   // prelu: a_c of this element's channel
    Expr rrelu_slope = 0.0f;      // rrelu: this element's r (random while training, mean in eval)
};

// e^x - 1 to float rounding relative to the result, as libm's expm1 (within 1.5 ulp for x <= 0,
// 4 ulp above): x = k ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so r is exact), then
// e^x - 1 = 2^k p + (2^k - 1), p = e^r - 1 = r + r^2 Q(r) with Q a minimax polynomial of degree 4
// (relative error 2e-8 for |r| <= 0.347, where Taylor's needs degree 7), in Estrin's form, which
// LLVM may reorder. Where k = 0 (|x| < 0.35) the result is p itself, chosen by a select: Halide
// compiles with fast-math flags, and LLVM reassociates 2^k p + (2^k - 1) into 2^k (p + 1) - 1,
// which cancels to 0 for small x. Elsewhere |e^x - 1| >= 0.29 e^x, so that order loses at most a
// bit or two. x is clamped to [-87, 88], where 2^k is a normal float: below, the result is -1 as it
// should be.
inline Expr expm1_accurate(Expr x) {
    using Halide::cast;
    Expr xc = Halide::clamp(x, -87.0f, 88.0f);
    Expr k = Halide::round(xc * 1.44269504f);
    // ln2 = 0.693359375 - 2.12194440e-4 (the first part has 9 significant bits, so k times it is exact).
    Expr r = (xc - k * 0.693359375f) + k * 2.12194440e-4f;
    Expr r2 = r * r;
    Expr q01 = 4.999999702e-01f + r * 1.666654348e-01f;
    Expr q23 = 4.166720062e-02f + r * 8.366538212e-03f;
    Expr q = q01 + r2 * (q23 + r2 * 1.388251781e-03f);
    Expr p = r + r2 * q;
    Expr two_k = Halide::reinterpret<float>((cast<int32_t>(k) + 127) << 23);
    return Halide::select(k == 0.0f, p, two_k * p + (two_k - 1.0f));
}

// tanh(softplus(x)) = n / (n + 2) with n = e^x (e^x + 2); e^x is clamped where the result is 1.
inline Expr tanh_softplus(Expr x) {
    Expr e = Halide::exp(Halide::min(x, 20.0f));
    Expr n = e * (e + 2.0f);
    return n / (n + 2.0f);
}

inline Expr activation(ActivationKind kind, Expr x, const ActivationParams &p) {
    using namespace Halide;
    switch (kind) {
    case ActivationKind::relu: return max(x, 0.0f);
    case ActivationKind::leaky_relu: return select(x > 0.0f, x, p.negative_slope * x);
    case ActivationKind::prelu: return select(x > 0.0f, x, p.channel_slope * x);
    case ActivationKind::rrelu: return select(x >= 0.0f, x, p.rrelu_slope * x);
    case ActivationKind::elu: return select(x > 0.0f, x, p.alpha * expm1_accurate(x));
    // x times 1 / alpha, computed once outside the loops, instead of a division per element.
    case ActivationKind::celu: return select(x > 0.0f, x, p.alpha * expm1_accurate(x * (1.0f / p.alpha)));
    case ActivationKind::softsign: return x / (1.0f + abs(x));
    case ActivationKind::tanh: return Halide::tanh(x);
    case ActivationKind::sigmoid: return sigmoid_stable(x);
    case ActivationKind::softplus: {
        Expr bx = p.beta * x;
        return select(bx > p.threshold, x, softplus_stable(bx) / p.beta);
    }
    case ActivationKind::mish: return x * tanh_softplus(x);
    case ActivationKind::swish: return x * sigmoid_stable(p.beta * x);
    case ActivationKind::silu: return x * sigmoid_stable(x);
    case ActivationKind::identity: return x;
    }
    return x;
}

// dy/dx at x.
inline Expr activation_derivative(ActivationKind kind, Expr x, const ActivationParams &p) {
    using namespace Halide;
    switch (kind) {
    case ActivationKind::relu: return select(x > 0.0f, 1.0f, 0.0f);
    case ActivationKind::leaky_relu: return select(x > 0.0f, 1.0f, p.negative_slope);
    case ActivationKind::prelu: return select(x > 0.0f, 1.0f, p.channel_slope);
    case ActivationKind::rrelu: return select(x >= 0.0f, 1.0f, p.rrelu_slope);
    case ActivationKind::elu: return select(x > 0.0f, 1.0f, p.alpha * exp(min(x, 0.0f)));
    case ActivationKind::celu: return select(x > 0.0f, 1.0f, exp(min(x, 0.0f) * (1.0f / p.alpha)));
    case ActivationKind::softsign: {
        Expr d = 1.0f + abs(x);
        return 1.0f / (d * d);
    }
    // 1 - tanh^2 and s (1 - s) cancel to 0 where the result is below an ulp of 1 (|x| > 9 and 17).
    // From x, the same values need no subtraction: tanh(x) = 2 sigmoid(2x) - 1, so tanh' is
    // 4 sigmoid'(2x). (From y there is no such choice: activation_derivative_from_output.)
    case ActivationKind::tanh: return 4.0f * sigmoid_derivative_of_abs(2.0f * abs(x));
    case ActivationKind::sigmoid: return sigmoid_derivative_of_abs(abs(x));
    case ActivationKind::softplus: {
        Expr bx = p.beta * x;
        return select(bx > p.threshold, 1.0f, sigmoid_stable(bx));
    }
    case ActivationKind::mish: {
        // d/dx x tanh(sp(x)) = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2): no division by x.
        Expr t = tanh_softplus(x);
        return t + x * sigmoid_stable(x) * (1.0f - t * t);
    }
    case ActivationKind::swish: {
        Expr s = sigmoid_stable(p.beta * x);
        return s + p.beta * x * s * (1.0f - s);
    }
    case ActivationKind::silu: {
        Expr s = sigmoid_stable(x);
        return s + x * s * (1.0f - s);
    }
    case ActivationKind::identity: return 1.0f;
    }
    return 1.0f;
}

// dy/dx from y = f(x), for the kinds with has_derivative_from_output (elu and celu with alpha > 0).
// The same values as from x up to float rounding of y: elu's alpha e^x is y + alpha, which near
// x = -inf keeps y's absolute error (an ulp of alpha), as sigmoid's s (1 - s) from x does already.
inline Expr activation_derivative_from_output(ActivationKind kind, Expr y, const ActivationParams &p) {
    using namespace Halide;
    switch (kind) {
    case ActivationKind::relu: return select(y > 0.0f, 1.0f, 0.0f);
    case ActivationKind::elu: return select(y > 0.0f, 1.0f, y + p.alpha);
    case ActivationKind::celu: return select(y > 0.0f, 1.0f, y * (1.0f / p.alpha) + 1.0f);
    case ActivationKind::sigmoid: return y * (1.0f - y);
    case ActivationKind::tanh: return 1.0f - y * y;
    case ActivationKind::identity: return 1.0f;
    default: break;
    }
    throw Halide::CompileError("hnn: activation kind " + std::to_string(static_cast<int>(kind)) +
                               " has no derivative from its output");
}

// dy/d(parameter) at x for the activations with a learnable parameter: prelu's a_c, swish's beta.
// Zero for the others.
inline Expr activation_parameter_derivative(ActivationKind kind, Expr x, const ActivationParams &p) {
    using namespace Halide;
    switch (kind) {
    case ActivationKind::prelu: return select(x > 0.0f, 0.0f, x);
    case ActivationKind::swish: {
        Expr s = sigmoid_stable(p.beta * x);
        return x * x * s * (1.0f - s);
    }
    default: return 0.0f;
    }
}

// The activation, its derivative and its parameter derivative with the kind chosen at run time. The
// select chain collapses to one branch in every specialization the schedules make on the kind
// (schedules/activation_specialization.h).
template<typename F>
Expr select_activation(Expr kind, F &&formula) {
    Expr result = formula(ActivationKind::identity);
    for (int k = activation_kind_count - 2; k >= 0; k--) {
        result = Halide::select(kind == k, formula(static_cast<ActivationKind>(k)), result);
    }
    return result;
}

inline Expr activation(Expr kind, Expr x, const ActivationParams &p) {
    return select_activation(kind, [&](ActivationKind k) { return activation(k, x, p); });
}

// The derivative from `saved`, the tensor a forward pass kept: y = f(x) where from_output is true
// (a run-time bool, true only for kinds with has_derivative_from_output), x otherwise. A schedule
// specializing on the kind and on from_output leaves one formula in each copy.
inline Expr activation_derivative(Expr kind, Expr saved, Expr from_output, const ActivationParams &p) {
    return select_activation(kind, [&](ActivationKind k) {
        Expr from_input = activation_derivative(k, saved, p);
        if (!has_derivative_from_output(k)) return from_input;
        return Halide::select(from_output, activation_derivative_from_output(k, saved, p), from_input);
    });
}

inline Expr activation_parameter_derivative(Expr kind, Expr x, const ActivationParams &p) {
    return select_activation(kind, [&](ActivationKind k) { return activation_parameter_derivative(k, x, p); });
}

}  // namespace hnn
