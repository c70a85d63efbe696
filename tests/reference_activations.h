#pragma once
// Independent float64 activations and derivatives, written from the textbook formulas with libm
// (not from generators/activation_math.h), for checking the kernels.

#include "activation_kind.h"

#include <cmath>

namespace hnn::reference {

struct ActivationParams {
    double negative_slope = 0.01, alpha = 1, beta = 1, threshold = 20, slope = 0.25;  // slope: prelu a_c or rrelu r
};

inline double sigmoid(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
inline double softplus1(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }

inline double activation(ActivationKind k, double x, const ActivationParams &p) {
    switch (k) {
    case ActivationKind::relu: return x > 0 ? x : 0;
    case ActivationKind::leaky_relu: return x > 0 ? x : p.negative_slope * x;
    case ActivationKind::prelu:
    case ActivationKind::rrelu: return x >= 0 ? x : p.slope * x;
    case ActivationKind::elu: return x > 0 ? x : p.alpha * std::expm1(x);
    case ActivationKind::celu: return x > 0 ? x : p.alpha * std::expm1(x / p.alpha);
    case ActivationKind::softsign: return x / (1 + std::fabs(x));
    case ActivationKind::tanh: return std::tanh(x);
    case ActivationKind::sigmoid: return sigmoid(x);
    case ActivationKind::softplus: return p.beta * x > p.threshold ? x : softplus1(p.beta * x) / p.beta;
    case ActivationKind::mish: return x * std::tanh(softplus1(x));
    case ActivationKind::swish: return x * sigmoid(p.beta * x);
    case ActivationKind::silu: return x * sigmoid(x);
    case ActivationKind::identity: return x;
    }
    return NAN;
}

inline double derivative(ActivationKind k, double x, const ActivationParams &p) {
    switch (k) {
    case ActivationKind::relu: return x > 0 ? 1 : 0;
    case ActivationKind::leaky_relu: return x > 0 ? 1 : p.negative_slope;
    case ActivationKind::prelu: return x > 0 ? 1 : p.slope;
    case ActivationKind::rrelu: return x >= 0 ? 1 : p.slope;
    case ActivationKind::elu: return x > 0 ? 1 : p.alpha * std::exp(x);
    case ActivationKind::celu: return x > 0 ? 1 : std::exp(x / p.alpha);
    case ActivationKind::softsign: return 1 / ((1 + std::fabs(x)) * (1 + std::fabs(x)));
    case ActivationKind::tanh: return 1 / (std::cosh(x) * std::cosh(x));
    case ActivationKind::sigmoid: return sigmoid(x) * sigmoid(-x);  // = s (1 - s), without 1 - s cancelling in double
    case ActivationKind::softplus: return p.beta * x > p.threshold ? 1 : sigmoid(p.beta * x);
    case ActivationKind::mish: {
        double t = std::tanh(softplus1(x));
        return t + x * sigmoid(x) * (1 - t * t);
    }
    case ActivationKind::swish: {
        double s = sigmoid(p.beta * x);
        return s + p.beta * x * s * (1 - s);
    }
    case ActivationKind::silu: return sigmoid(x) * (1 + x * (1 - sigmoid(x)));
    case ActivationKind::identity: return 1;
    }
    return NAN;
}

}  // namespace hnn::reference
