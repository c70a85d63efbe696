#pragma once
// What every activation hnn accepts must satisfy, whether it came from --param text, a model file
// or a checkpoint: the same rules as `--param` enforces, written out independently here.

#include "fuzz_support.h"
#include "hnn/activation.h"

#include <cmath>

namespace hnn::fuzz {

inline void require_sane_activation(const Activation &a, const std::string &source) {
    for (float v : {a.negative_slope, a.alpha, a.beta, a.threshold, a.rrelu_lower, a.rrelu_upper, a.prelu_init}) {
        require(std::isfinite(v), source + ": accepted a non-finite activation parameter");
    }
    if (a.kind == ActivationKind::celu) require(a.alpha != 0, source + ": accepted celu alpha 0");
    if (a.kind == ActivationKind::softplus) require(a.beta > 0, source + ": accepted softplus beta <= 0");
    if (a.kind == ActivationKind::rrelu) require(a.rrelu_lower <= a.rrelu_upper, source + ": accepted rrelu lower > upper");
}

}  // namespace hnn::fuzz
