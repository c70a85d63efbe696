// upsample_nearest_add: out = base + scale * nearest_upsample(small), the gradient term that
// dilated backprop adds from layer k+2's input to layer k's output.

#include "Halide.h"

#include "resample_algorithm.h"
#include "elementwise_schedule.h"

namespace hnn {
namespace {

using namespace Halide;

class UpsampleNearestAdd : public Generator<UpsampleNearestAdd> {
public:
    Input<Buffer<float, 4>> base{"base"};
    Input<Buffer<float, 4>> small{"small"};
    Input<float> scale{"scale"};
    Output<Buffer<float, 4>> output{"output"};

    void generate() {
        // The output has base's shape (the runtime checks it).
        define_upsample_nearest_add(output, base, small, scale, small.dim(1).extent(), small.dim(2).extent(),
                                    base.dim(1).extent(), base.dim(2).extent());
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_pointwise(get_target(), output, base.dim(0).extent());
    }
};

}  // namespace
}  // namespace hnn

HALIDE_REGISTER_GENERATOR(hnn::UpsampleNearestAdd, upsample_nearest_add)
