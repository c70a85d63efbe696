#pragma once
// An activation as the user names it: its kind and parameters, the names of the CLI and logs, and
// the `--param NAME.p=v` syntax.

#include "activation_kind.h"

#include <string>
#include <vector>

namespace hnn {

struct Activation {
    ActivationKind kind = ActivationKind::relu;
    float negative_slope = 0.01f;  // leaky_relu
    float alpha = 1.0f;            // elu, celu
    float beta = 1.0f;             // softplus, swish
    float threshold = 20.0f;       // softplus
    float rrelu_lower = 1.0f / 8;  // rrelu
    float rrelu_upper = 1.0f / 3;
    float prelu_init = 0.25f;      // prelu: initial a_c

    bool has_learnable_parameter() const {
        return kind == ActivationKind::prelu || kind == ActivationKind::swish;
    }
};

// The 13 user-facing activations, in the order of the table (identity is internal).
const std::vector<ActivationKind> &all_activations();
const char *activation_name(ActivationKind kind);
// Throws hnn::Error listing the known names.
ActivationKind parse_activation_kind(const std::string &name);

// Applies "NAME.PARAM=VALUE" (e.g. "celu.alpha=2") to `activation` when NAME is its kind's name;
// returns whether it applied. Throws hnn::Error naming the text on an unknown activation or
// parameter or a malformed value. Rules between parameters are left to apply_activation_params.
bool apply_activation_param(Activation &activation, const std::string &assignment);

// Every assignment in turn, then the rules between parameters (rrelu lower <= upper), so that the
// order of the assignments does not matter.
void apply_activation_params(Activation &activation, const std::vector<std::string> &assignments);

// Whether f' can be computed from y = f(x) alone (activation_math.h's derivative from the output),
// so that a forward pass need not keep x: relu, sigmoid, tanh, identity, and elu and celu with
// alpha > 0 (then y > 0 exactly where x > 0; with alpha <= 0, y does not tell x's sign).
bool can_differentiate_from_output(const Activation &activation);

// What is wrong with the activation's parameters by the rules --param enforces (every value finite,
// celu.alpha non-zero, softplus.beta positive, rrelu lower <= upper), or "" when nothing is. For
// activations that come from elsewhere (model files, checkpoints) with all their values at once.
std::string activation_parameter_problem(const Activation &activation);

}  // namespace hnn
