#pragma once
// The run-time parameters every kernel with an activation takes, declared once. A generator holds
// an ActivationInputs member; Halide registers the Inputs inside it like any other member.

#include "activation_math.h"

namespace hnn {

struct ActivationInputs {
    Halide::GeneratorInput<int> kind{"activation_kind", 0, 0, activation_kind_count - 1};
    Halide::GeneratorInput<float> negative_slope{"negative_slope", 0.01f};
    Halide::GeneratorInput<float> alpha{"alpha", 1.0f};
    Halide::GeneratorInput<float> beta{"beta", 1.0f};
    Halide::GeneratorInput<float> threshold{"threshold", 20.0f};
    Halide::GeneratorInput<float> rrelu_lower{"rrelu_lower", 1.0f / 8};
    Halide::GeneratorInput<float> rrelu_upper{"rrelu_upper", 1.0f / 3};
    // rrelu draws a random slope per element while training, keyed by (seed, step, element index).
    // batch_offset is the index of this tensor's first image in the whole batch: a data-parallel
    // rank holding a shard draws the numbers that image draws in a single process.
    Halide::GeneratorInput<int> training{"training", 0, 0, 1};
    Halide::GeneratorInput<uint32_t> seed{"seed", 0};
    Halide::GeneratorInput<int> step{"step", 0};
    Halide::GeneratorInput<int> batch_offset{"batch_offset", 0};
    // prelu's learnable slope a_c, one per channel.
    Halide::GeneratorInput<Halide::Buffer<float, 1>> channel_slope{"channel_slope"};

    // For the autoschedulers (`hnn tune`): every Input needs an estimate.
    void set_estimates(int activation_kind, int channels) {
        kind.set_estimate(activation_kind);
        negative_slope.set_estimate(0.01f);
        alpha.set_estimate(1.0f);
        beta.set_estimate(1.0f);
        threshold.set_estimate(20.0f);
        rrelu_lower.set_estimate(1.0f / 8);
        rrelu_upper.set_estimate(1.0f / 3);
        training.set_estimate(0);
        seed.set_estimate(0);
        step.set_estimate(0);
        batch_offset.set_estimate(0);
        channel_slope.set_estimates({{0, channels}});
    }

    // The parameters seen by element (c, x, y, n).
    ActivationParams at(Expr c, Expr x, Expr y, Expr n) const {
        ActivationParams p;
        p.negative_slope = negative_slope;
        p.alpha = alpha;
        p.beta = beta;
        p.threshold = threshold;
        p.channel_slope = channel_slope(c);
        Expr u = counter_uniform(seed, step, c, x, y, n + batch_offset);
        p.rrelu_slope = Halide::select(training != 0, rrelu_lower + (rrelu_upper - rrelu_lower) * u,
                                       (rrelu_lower + rrelu_upper) * 0.5f);
        return p;
    }
};

}  // namespace hnn
