#include "hnn/resample_ops.h"

#include "hnn/error.h"
#include "kernel_table.h"
#include "op_checks.h"

namespace hnn {

void upsample_nearest_add(Tensor &base, Tensor &small, float scale, Tensor &output) {
    const char *op = "upsample_nearest_add";
    require_activation_tensor(op, "base", base);
    require_activation_tensor(op, "small", small);
    require_same(op, "base", base, "output", output);
    if (small.dim(0) != base.dim(0) || small.dim(3) != base.dim(3) || small.device() != base.device()) {
        throw Error(std::string(op) + ": small " + small.shape_string() + " must have the channels, batch and device of base " +
                    base.shape_string());
    }
    int r = kernel_table(base.device()).upsample_nearest_add(base.raw(), small.raw(), scale, output.raw());
    check_kernel(r, op, "base " + base.shape_string() + ", small " + small.shape_string());
}

}  // namespace hnn
