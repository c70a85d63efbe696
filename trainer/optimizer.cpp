#include "optimizer.h"

#include "hnn/error.h"

#include <cmath>
#include <cstdlib>

namespace hnn {

OptimizerKind parse_optimizer(const std::string &name) {
    if (name == "sgd") return OptimizerKind::sgd;
    if (name == "adam") return OptimizerKind::adam;
    if (name == "amsgrad") return OptimizerKind::amsgrad;
    throw Error("--optimizer '" + name + "': expected sgd, adam or amsgrad");
}

const char *optimizer_name(OptimizerKind kind) {
    switch (kind) {
    case OptimizerKind::sgd: return "sgd";
    case OptimizerKind::adam: return "adam";
    case OptimizerKind::amsgrad: return "amsgrad";
    }
    return "unknown";
}

Optimizer::Optimizer(const OptimizerConfig &config, std::vector<Parameter> parameters) : config_(config) {
    for (Parameter &p : parameters) {
        Slot s{p, Tensor(p.value->shape(), p.value->device()), {}, {}};
        if (config.kind != OptimizerKind::sgd) {
            s.second = Tensor(p.value->shape(), p.value->device());
            s.second_max = Tensor(p.value->shape(), p.value->device());
        }
        slots_.push_back(std::move(s));
    }
}

void Optimizer::step(float lr) {
    steps_++;
    for (Slot &s : slots_) {
        if (config_.kind == OptimizerKind::sgd) {
            SgdOptions o;
            o.lr = lr;
            o.momentum = config_.momentum;
            o.nesterov = config_.nesterov;
            o.weight_decay = config_.weight_decay;
            o.decoupled_weight_decay = config_.decoupled_weight_decay;
            sgd_update(*s.parameter.value, *s.parameter.grad, s.first, o);
        } else {
            AdamOptions o;
            o.lr = lr;
            o.beta1 = config_.beta1;
            o.beta2 = config_.beta2;
            o.eps = config_.eps;
            o.weight_decay = config_.weight_decay;
            o.decoupled_weight_decay = config_.decoupled_weight_decay;
            o.amsgrad = config_.kind == OptimizerKind::amsgrad;
            adam_update(*s.parameter.value, *s.parameter.grad, s.first, s.second, s.second_max, o, static_cast<int>(steps_));
        }
    }
}

std::vector<StateTensor> Optimizer::state() {
    std::vector<StateTensor> out;
    const std::string kind = optimizer_name(config_.kind);
    for (Slot &s : slots_) {
        if (config_.kind == OptimizerKind::sgd) {
            out.push_back({"sgd.velocity." + s.parameter.name, &s.first});
        } else {
            out.push_back({kind + ".m." + s.parameter.name, &s.first});
            out.push_back({kind + ".v." + s.parameter.name, &s.second});
            if (config_.kind == OptimizerKind::amsgrad) out.push_back({kind + ".v_max." + s.parameter.name, &s.second_max});
        }
    }
    return out;
}

float LrSchedule::lr_at(float base, int epoch, int total_epochs) const {
    switch (kind) {
    case constant: return base;
    case step: return base * std::pow(gamma, static_cast<float>(epoch / step_epochs));
    case cosine:
        return total_epochs <= 1 ? base
                                 : base * 0.5f * (1.0f + std::cos(3.14159265358979f * static_cast<float>(epoch) /
                                                                  static_cast<float>(total_epochs)));
    }
    return base;
}

LrSchedule parse_lr_schedule(const std::string &text) {
    LrSchedule s;
    if (text == "constant") return s;
    if (text == "cosine") {
        s.kind = LrSchedule::cosine;
        return s;
    }
    const std::string bad = "--lr-schedule '" + text + "': expected constant, cosine or step:EPOCHS:GAMMA (e.g. step:10:0.5)";
    if (text.rfind("step:", 0) != 0) throw Error(bad);
    const size_t colon = text.find(':', 5);
    if (colon == std::string::npos) throw Error(bad);
    char *end = nullptr;
    const std::string epochs = text.substr(5, colon - 5), gamma = text.substr(colon + 1);
    long e = std::strtol(epochs.c_str(), &end, 10);
    if (epochs.empty() || *end != '\0' || e < 1 || e > 1000000) throw Error(bad);
    float g = std::strtof(gamma.c_str(), &end);
    if (gamma.empty() || *end != '\0' || !std::isfinite(g) || g <= 0) throw Error(bad);
    s.kind = LrSchedule::step;
    s.step_epochs = static_cast<int>(e);
    s.gamma = g;
    return s;
}

}  // namespace hnn
