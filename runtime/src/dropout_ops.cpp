#include "hnn/dropout_ops.h"

#include "hnn/error.h"
#include "kernel_table.h"
#include "op_checks.h"

#include <cmath>

namespace hnn {

void dropout(Tensor &input, float rate, const RandomKey &key, Tensor &output) {
    const char *op = "dropout";
    require_activation_tensor(op, "input", input);
    require_same(op, "input", input, "output", output);
    if (!std::isfinite(rate) || rate < 0 || rate > 0.99f) {
        throw Error(std::string(op) + ": rate " + std::to_string(rate) + " is outside [0, 0.99]");
    }
    int r = kernel_table(input.device())
                .dropout(input.raw(), rate, key.training ? 1 : 0, key.seed, key.step, key.batch_offset, output.raw());
    check_kernel(r, op, "input " + input.shape_string());
}

}  // namespace hnn
