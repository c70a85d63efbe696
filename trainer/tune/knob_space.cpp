#include "knob_space.h"

#include "conv2d_schedule.h"
#include "conv2d_winograd_schedule.h"
#include "schedule_params.h"
#include "tune_problem.h"

#include <algorithm>

namespace hnn::tune {
namespace {

bool conv_like(const std::string &kernel) {
    return kernel == "conv2d_forward" || kernel == "conv2d_backward_data";
}

int vector_registers(const Halide::Target &t) {
    return t.has_feature(Halide::Target::AVX512_Skylake) ? 32 : 16;
}

}  // namespace

// The first two knobs of every kernel are its register tile's sides.
std::vector<KnobRange> knob_ranges(const std::string &kernel, const Halide::Target &t) {
    if (is_winograd(kernel)) {
        if (pass_of(kernel) == KernelPass::backward_weights) {
            const WinogradGradientTile hand = winograd_gradient_tile(t);
            return {{"tile_co", hand.co_vectors, 1, 4},
                    {"tile_ci", hand.ci, 1, 24},
                    {"group_tiles", hand.group_tiles, 1, 1024, true}};
        }
        const WinogradTile hand = winograd_register_tile(t);
        return {{"tile_c", hand.channel_vectors, 1, 4},
                {"tile_t", hand.tiles, 1, 24},
                {"group_tiles", hand.group_tiles, 1, 1024, true}};
    }
    if (is_pointwise(kernel)) {
        if (pass_of(kernel) == KernelPass::backward_weights) {
            const PointwiseBackwardWeightsTile hand = pointwise_backward_weights_tile(t);
            // The default's runs are 64 positions, or 256 where co fits one tile: the search starts from 64.
            return {{"tile_co", hand.co_vectors, 1, 4},
                    {"tile_ci", hand.ci, 1, 24},
                    {"run_positions", hand.run_positions > 0 ? hand.run_positions : 64, 16, 1024, true,
                     hand.run_positions == 0}};
        }
        const RegisterTile hand = pointwise_register_tile(t);
        return {{"tile_c", hand.channel_vectors, 1, 6}, {"tile_x", hand.xs, 1, 14}};
    }
    if (conv_like(kernel)) {
        const RegisterTile hand = conv_register_tile(t);
        return {{"tile_c", hand.channel_vectors, 1, 6},
                {"tile_x", hand.xs, 1, 12},
                {"chunk_channels", conv_chunk_channels(), 1, 256, true}};
    }
    const BackwardWeightsTile hand = conv_backward_weights_tile(t);
    return {{"tile_co", hand.co_vectors, 1, 4},
            {"tile_ci", hand.ci, 1, 24},
            {"run_positions", hand.run_positions, 1, 512, true}};
}

bool fits_registers(const std::string &kernel, const Halide::Target &t, const Knobs &k) {
    Knobs full = hand_knobs(kernel, t);
    for (const auto &[name, value] : k) full[name] = value;
    // Accumulators, plus one register per vector of weights (convs) or of output gradient
    // (backward-weights) and one broadcast input.
    const std::vector<KnobRange> ranges = knob_ranges(kernel, t);
    const int a = full[ranges[0].name], b = full[ranges[1].name];
    return a * b + a + 1 <= vector_registers(t);
}

Knobs hand_knobs(const std::string &kernel, const Halide::Target &t) {
    Knobs k;
    for (const KnobRange &r : knob_ranges(kernel, t)) k[r.name] = r.hand;
    return k;
}

Knobs default_knobs(const std::string &kernel, const Halide::Target &t) {
    Knobs k;
    for (const KnobRange &r : knob_ranges(kernel, t)) {
        if (!r.per_shape) k[r.name] = r.hand;
    }
    return k;
}

std::vector<Knobs> neighbours(const std::string &kernel, const Halide::Target &t, const Knobs &from) {
    std::vector<Knobs> out;
    for (const KnobRange &r : knob_ranges(kernel, t)) {
        const int v = from.at(r.name);
        const std::vector<int> values = r.doubling ? std::vector<int>{v / 2, v * 2}
                                                   : std::vector<int>{v - 1, v + 1, v - 2, v + 2};
        for (int value : values) {
            Knobs k = from;
            k[r.name] = value;
            if (k[r.name] < r.min || k[r.name] > r.max || !fits_registers(kernel, t, k)) continue;
            out.push_back(k);
        }
    }
    // Trading the register tile's two sides (the first two knobs) keeps its size: try those too.
    const std::vector<KnobRange> ranges = knob_ranges(kernel, t);
    if (ranges.size() >= 2) {
        for (int s : {-1, 1}) {
            Knobs k = from;
            k[ranges[0].name] += s;
            k[ranges[1].name] -= s * std::max(1, from.at(ranges[1].name) / std::max(1, from.at(ranges[0].name)));
            bool ok = true;
            for (const KnobRange &r : ranges) ok = ok && k[r.name] >= r.min && k[r.name] <= r.max;
            if (ok && fits_registers(kernel, t, k)) out.push_back(k);
        }
    }
    return out;
}

std::string knobs_text(const Knobs &k) {
    if (k.empty()) return "default";
    std::string s;
    for (const auto &[name, value] : k) s += (s.empty() ? "" : " ") + name + "=" + std::to_string(value);
    return s;
}

std::string schedule_knobs_param(const Halide::Target &t, const Knobs &k) {
    std::string s;
    for (const auto &[name, value] : k) {
        s += (s.empty() ? "" : ",") + schedule_isa(t) + "." + name + ":" + std::to_string(value);
    }
    return s;
}

}  // namespace hnn::tune
