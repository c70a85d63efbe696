// dropout: output = input * mask / (1 - rate). The same kernel serves the forward pass (input = x)
// and the backward pass (input = dL/dy): the mask is regenerated from the same key.

#include "Halide.h"

#include "dropout_algorithm.h"
#include "elementwise_schedule.h"

namespace hnn {
namespace {

using namespace Halide;

class Dropout : public Generator<Dropout> {
public:
    Input<Buffer<float, 4>> input{"input"};
    Input<float> rate{"rate", 0.5f, 0.0f, 0.99f};
    Input<int> training{"training", 0, 0, 1};
    Input<uint32_t> seed{"seed", 0};
    Input<int> step{"step", 0};
    // The first image's index in the whole batch (a data-parallel shard's offset).
    Input<int> batch_offset{"batch_offset", 0};
    Output<Buffer<float, 4>> output{"output"};

    Var c{"c"}, x{"x"}, y{"y"}, n{"n"};

    void generate() {
        output(c, x, y, n) = input(c, x, y, n) * dropout_scale(training, rate, seed, step, c, x, y, n + batch_offset);
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_pointwise(get_target(), output, input.dim(0).extent());
    }
};

}  // namespace
}  // namespace hnn

HALIDE_REGISTER_GENERATOR(hnn::Dropout, dropout)
