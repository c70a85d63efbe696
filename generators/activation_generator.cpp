// Activation kernels: forward, backward (dL/dx) and the gradient of the learnable parameters
// (prelu's a_c, swish's beta). The activation is a run-time argument; the schedule specializes
// on it, so each kind runs its own loop with no per-element dispatch.

#include "Halide.h"

#include "activation_inputs.h"
#include "channel_reduction_schedule.h"
#include "elementwise_schedule.h"

namespace hnn {
namespace {

using namespace Halide;

class ActivationForward : public Generator<ActivationForward> {
public:
    Input<Buffer<float, 4>> input{"input"};  // x: (c, x, y, n)
    ActivationInputs act;
    Output<Buffer<float, 4>> output{"output"};  // y = f(x)

    Var c{"c"}, x{"x"}, y{"y"}, n{"n"};

    void generate() {
        ActivationParams p = act.at(c, x, y, n);
        output(c, x, y, n) = activation(act.kind, input(c, x, y, n), p);
    }

    void schedule() {
        if (auto_schedule) return;
        schedule_elementwise(output, act.kind, output.dim(0).extent(), row_elements(output), elements(output), c, x, y, n,
                             get_target());
    }
};

// dL/dx = dL/dy * f'(x), with f' read from x, the activation's input, or from its output y where
// derivative_from_output (activation_math.h).
class ActivationBackward : public Generator<ActivationBackward> {
public:
    Input<Buffer<float, 4>> saved{"saved"};              // x, or y where derivative_from_output
    Input<bool> derivative_from_output{"derivative_from_output"};
    Input<Buffer<float, 4>> output_grad{"output_grad"};  // dL/dy
    ActivationInputs act;
    Output<Buffer<float, 4>> input_grad{"input_grad"};  // dL/dx

    Var c{"c"}, x{"x"}, y{"y"}, n{"n"};

    void generate() {
        ActivationParams p = act.at(c, x, y, n);
        input_grad(c, x, y, n) =
            output_grad(c, x, y, n) * activation_derivative(act.kind, saved(c, x, y, n), derivative_from_output, p);
    }

    void schedule() {
        if (auto_schedule) return;
        schedule_elementwise(input_grad, act.kind, input_grad.dim(0).extent(), row_elements(input_grad),
                             elements(input_grad), c, x, y, n, get_target(), derivative_from_output);
    }
};

// Per channel: sum over (x, y, n) of dL/dy * dy/dparam. For prelu this is dL/da_c; for swish the
// runtime adds the channels up into dL/dbeta.
class ActivationParameterGradient : public Generator<ActivationParameterGradient> {
public:
    Input<Buffer<float, 4>> input{"input"};
    Input<Buffer<float, 4>> output_grad{"output_grad"};
    ActivationInputs act;
    Output<Buffer<float, 1>> parameter_grad{"parameter_grad"};

    Var c{"c"};
    Func sum{"sum"};
    RDom r;

    void generate() {
        r = RDom(0, input.dim(1).extent(), 0, input.dim(2).extent(), 0, input.dim(3).extent(), "r");
        ActivationParams p = act.at(c, r.x, r.y, r.z);
        sum(c) = 0.0f;
        sum(c) += output_grad(c, r.x, r.y, r.z) * activation_parameter_derivative(act.kind, input(c, r.x, r.y, r.z), p);
        parameter_grad(c) = sum(c);
    }

    void schedule() {
        if (auto_schedule) return;
        schedule_channel_reduction(parameter_grad, sum, r, get_target());
    }
};

}  // namespace
}  // namespace hnn

HALIDE_REGISTER_GENERATOR(hnn::ActivationForward, activation_forward)
HALIDE_REGISTER_GENERATOR(hnn::ActivationBackward, activation_backward)
HALIDE_REGISTER_GENERATOR(hnn::ActivationParameterGradient, activation_parameter_gradient)
