#pragma once
// Optimizer updates, element by element, as PyTorch's torch.optim defines them. Each function
// returns the new values of the parameter and the optimizer state at one element.

#include "common.h"

namespace hnn {

struct SgdHyper {
    Expr lr, momentum, dampening, weight_decay;
    Expr nesterov;            // bool
    Expr decoupled;           // bool: weight decay applied to the weight (SGDW), not the gradient
};

// Returns (param, velocity). With momentum 0 the velocity is just the (decayed) gradient.
inline Halide::Tuple sgd_step(Expr param, Expr grad, Expr velocity, const SgdHyper &h) {
    using Halide::select;
    Expr g = select(h.decoupled, grad, grad + h.weight_decay * param);
    Expr p = select(h.decoupled, param * (1.0f - h.lr * h.weight_decay), param);
    Expr v = h.momentum * velocity + (1.0f - h.dampening) * g;
    Expr direction = select(h.momentum == 0.0f, g, select(h.nesterov, g + h.momentum * v, v));
    return {p - h.lr * direction, v};
}

struct AdamHyper {
    Expr lr, beta1, beta2, eps, weight_decay;
    Expr decoupled;  // bool: AdamW
    Expr amsgrad;    // bool: element-wise max of the second moment (Reddi et al.)
    Expr step;       // 1 for the first update: bias corrections 1 - beta^step
};

// Returns (param, m, v, v_max).
inline Halide::Tuple adam_step(Expr param, Expr grad, Expr m, Expr v, Expr v_max, const AdamHyper &h) {
    using namespace Halide;
    Expr g = select(h.decoupled, grad, grad + h.weight_decay * param);
    Expr p = select(h.decoupled, param * (1.0f - h.lr * h.weight_decay), param);
    Expr m_new = h.beta1 * m + (1.0f - h.beta1) * g;
    Expr v_new = h.beta2 * v + (1.0f - h.beta2) * g * g;
    Expr v_max_new = select(h.amsgrad, max(v_max, v_new), v_max);
    Expr t = cast<float>(h.step);
    Expr bias_correction1 = 1.0f - pow(h.beta1, t);
    Expr bias_correction2 = 1.0f - pow(h.beta2, t);
    Expr second = select(h.amsgrad, v_max_new, v_new);
    Expr denom = sqrt(second) / sqrt(bias_correction2) + h.eps;
    return {p - (h.lr / bias_correction1) * m_new / denom, m_new, v_new, v_max_new};
}

}  // namespace hnn
