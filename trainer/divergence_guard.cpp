#include "divergence_guard.h"

#include <cmath>
#include <sstream>

namespace hnn {
namespace {

// The first element that is NaN or infinite, or -1.
long first_nonfinite(const Tensor &t) {
    if (!t.defined()) return -1;
    const float *p = t.host();
    for (size_t i = 0; i < t.size(); i++) {
        if (!std::isfinite(p[i])) return static_cast<long>(i);
    }
    return -1;
}

std::string describe(const Tensor &t, long element, const std::string &what, size_t layer, const Layer &l) {
    std::ostringstream s;
    s << "the " << what << " of layer " << layer << " (" << layer_type_name(l.spec.kind) << ") holds "
      << t.host()[element] << " (element " << element << " of " << t.shape_string() << ")";
    return s.str();
}

// The layer's parameter (value or gradient) named as in checkpoints: filter, bias, activation parameter.
std::string check_parameters(const Layer &l, size_t index, bool gradients) {
    const Tensor *tensors[] = {gradients ? &l.filter_grad : &l.filter, gradients ? &l.bias_grad : &l.bias,
                               gradients ? &l.activation_parameter_grad : &l.activation_parameter};
    const char *names[] = {"filter", "bias", "activation parameter"};
    for (int k = 0; k < 3; k++) {
        const long at = first_nonfinite(*tensors[k]);
        if (at >= 0) return describe(*tensors[k], at, std::string(names[k]) + (gradients ? " gradient" : ""), index, l);
    }
    return "";
}

}  // namespace

std::string nonfinite_gradient(Network &network) {
    const std::vector<Layer> &layers = network.layers();
    for (size_t i = layers.size(); i-- > 0;) {
        const std::string found = check_parameters(layers[i], i, true);
        if (!found.empty()) return found;
    }
    return "";
}

std::string nonfinite_parameter(Network &network) {
    const std::vector<Layer> &layers = network.layers();
    for (size_t i = 0; i < layers.size(); i++) {
        const std::string found = check_parameters(layers[i], i, false);
        if (!found.empty()) return found;
    }
    return "";
}

std::string nonfinite_forward(Network &network) {
    const std::string parameter = nonfinite_parameter(network);
    if (!parameter.empty()) return parameter;
    const std::vector<Layer> &layers = network.layers();
    for (size_t i = 0; i < layers.size(); i++) {
        const long at = first_nonfinite(layers[i].output);
        if (at >= 0) return describe(layers[i].output, at, "output", i, layers[i]);
    }
    return "";
}

}  // namespace hnn
