#include "hnn/activation.h"

#include "hnn/error.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace hnn {

namespace {

struct NamedKind {
    ActivationKind kind;
    const char *name;
};

const NamedKind kinds[] = {
    {ActivationKind::relu, "relu"},         {ActivationKind::leaky_relu, "leaky_relu"},
    {ActivationKind::prelu, "prelu"},       {ActivationKind::rrelu, "rrelu"},
    {ActivationKind::elu, "elu"},           {ActivationKind::celu, "celu"},
    {ActivationKind::softsign, "softsign"}, {ActivationKind::tanh, "tanh"},
    {ActivationKind::sigmoid, "sigmoid"},   {ActivationKind::softplus, "softplus"},
    {ActivationKind::mish, "mish"},         {ActivationKind::swish, "swish"},
    {ActivationKind::silu, "silu"},         {ActivationKind::identity, "identity"},
};

std::string known_names() {
    std::string s;
    for (ActivationKind k : all_activations()) s += (s.empty() ? "" : ", ") + std::string(activation_name(k));
    return s;
}

float parse_float(const std::string &text, const std::string &context) {
    errno = 0;
    char *end = nullptr;
    float v = std::strtof(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
        throw Error("--param " + context + ": '" + text + "' is not a finite number");
    }
    return v;
}

}  // namespace

const std::vector<ActivationKind> &all_activations() {
    static const std::vector<ActivationKind> list = [] {
        std::vector<ActivationKind> l;
        for (const NamedKind &k : kinds) {
            if (k.kind != ActivationKind::identity) l.push_back(k.kind);
        }
        return l;
    }();
    return list;
}

const char *activation_name(ActivationKind kind) {
    for (const NamedKind &k : kinds) {
        if (k.kind == kind) return k.name;
    }
    return "unknown";
}

ActivationKind parse_activation_kind(const std::string &name) {
    for (const NamedKind &k : kinds) {
        if (name == k.name) return k.kind;
    }
    throw Error("unknown activation '" + name + "': expected one of " + known_names());
}

void apply_activation_params(Activation &activation, const std::vector<std::string> &assignments) {
    for (const std::string &a : assignments) apply_activation_param(activation, a);
    // Pairs (rrelu's lower <= upper) only once every assignment is in: "lower=0.5 upper=0.8" is
    // valid in either order, though 0.5 is above the default upper.
    if (std::string problem = activation_parameter_problem(activation); !problem.empty()) {
        throw Error("--param: " + problem);
    }
}

bool apply_activation_param(Activation &activation, const std::string &assignment) {
    size_t dot = assignment.find('.');
    size_t eq = assignment.find('=');
    if (dot == std::string::npos || eq == std::string::npos || dot > eq) {
        throw Error("--param '" + assignment + "': expected NAME.PARAM=VALUE, e.g. celu.alpha=2");
    }
    ActivationKind kind = parse_activation_kind(assignment.substr(0, dot));
    std::string param = assignment.substr(dot + 1, eq - dot - 1);
    std::string value_text = assignment.substr(eq + 1);

    struct Field {
        ActivationKind kind;
        const char *name;
        float Activation::*member;
    };
    static const Field fields[] = {
        {ActivationKind::leaky_relu, "negative_slope", &Activation::negative_slope},
        {ActivationKind::prelu, "init", &Activation::prelu_init},
        {ActivationKind::rrelu, "lower", &Activation::rrelu_lower},
        {ActivationKind::rrelu, "upper", &Activation::rrelu_upper},
        {ActivationKind::elu, "alpha", &Activation::alpha},
        {ActivationKind::celu, "alpha", &Activation::alpha},
        {ActivationKind::softplus, "beta", &Activation::beta},
        {ActivationKind::softplus, "threshold", &Activation::threshold},
        {ActivationKind::swish, "beta", &Activation::beta},
    };
    std::string accepted;
    for (const Field &f : fields) {
        if (f.kind != kind) continue;
        accepted += (accepted.empty() ? "" : ", ") + std::string(f.name);
        if (param != f.name) continue;
        float value = parse_float(value_text, assignment);
        if (kind == ActivationKind::celu && value == 0.0f) {
            throw Error("--param " + assignment + ": celu.alpha must be non-zero");
        }
        if (kind == ActivationKind::softplus && param == "beta" && value <= 0.0f) {
            throw Error("--param " + assignment + ": softplus.beta must be positive");
        }
        if (kind != activation.kind) return false;
        activation.*(f.member) = value;
        return true;
    }
    throw Error("--param '" + assignment + "': " + activation_name(kind) + " has no parameter '" + param + "'" +
                (accepted.empty() ? " (it takes none)" : " (it takes " + accepted + ")"));
}

bool can_differentiate_from_output(const Activation &a) {
    if (!has_derivative_from_output(a.kind)) return false;
    if (a.kind == ActivationKind::elu || a.kind == ActivationKind::celu) return a.alpha > 0.0f;
    return true;
}

std::string activation_parameter_problem(const Activation &a) {
    const struct {
        const char *name;
        float value;
    } values[] = {{"negative_slope", a.negative_slope}, {"alpha", a.alpha},           {"beta", a.beta},
                  {"threshold", a.threshold},           {"rrelu_lower", a.rrelu_lower}, {"rrelu_upper", a.rrelu_upper},
                  {"prelu_init", a.prelu_init}};
    for (const auto &v : values) {
        if (!std::isfinite(v.value)) return std::string(v.name) + " is not a finite number";
    }
    if (a.kind == ActivationKind::celu && a.alpha == 0.0f) return "celu.alpha must be non-zero";
    if (a.kind == ActivationKind::softplus && a.beta <= 0.0f) return "softplus.beta must be positive";
    if (a.kind == ActivationKind::rrelu && a.rrelu_lower > a.rrelu_upper) {
        return "rrelu needs lower <= upper (lower " + std::to_string(a.rrelu_lower) + ", upper " +
               std::to_string(a.rrelu_upper) + ")";
    }
    return "";
}

}  // namespace hnn
