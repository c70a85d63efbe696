#include "hnn/loss_ops.h"

#include "hnn/error.h"
#include "kernel_table.h"
#include "op_checks.h"

namespace hnn {

LossResult softmax_cross_entropy(Tensor &logits, const std::vector<int32_t> &labels, Tensor &logits_grad) {
    const char *op = "softmax_cross_entropy";
    if (!logits.defined() || logits.rank() != 2) {
        throw Error(std::string(op) + ": logits must be (classes, n), got " + logits.shape_string());
    }
    const int classes = logits.dim(0), batch = logits.dim(1);
    require_same(op, "logits", logits, "logits_grad", logits_grad);
    if (static_cast<int>(labels.size()) != batch) {
        throw Error(std::string(op) + ": " + std::to_string(labels.size()) + " labels for a batch of " + std::to_string(batch));
    }
    for (int i = 0; i < batch; i++) {
        if (labels[i] < 0 || labels[i] >= classes) {
            throw Error(std::string(op) + ": label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) +
                        " is outside [0, " + std::to_string(classes) + ")");
        }
    }
    LossResult result;
    result.is_correct.assign(batch, 0);
    Halide::Runtime::Buffer<int32_t> label_buffer(const_cast<int32_t *>(labels.data()), batch);
    // A wrapped buffer starts host-clean, and device kernels copy only host-dirty inputs over.
    label_buffer.set_host_dirty();
    Halide::Runtime::Buffer<int32_t> correct_buffer(result.is_correct.data(), batch);
    Halide::Runtime::Buffer<float> loss_buffer = Halide::Runtime::Buffer<float>::make_scalar(&result.loss);
    int r = kernel_table(logits.device())
                .softmax_cross_entropy(logits.raw(), label_buffer.raw_buffer(), loss_buffer.raw_buffer(),
                                       correct_buffer.raw_buffer(), logits_grad.raw());
    check_kernel(r, op, "logits " + logits.shape_string());
    // Device kernels leave the small outputs on the device: bring them back.
    if (loss_buffer.device_dirty()) loss_buffer.copy_to_host();
    if (correct_buffer.device_dirty()) correct_buffer.copy_to_host();
    loss_buffer.device_free();
    correct_buffer.device_free();
    label_buffer.device_free();
    for (int32_t c : result.is_correct) result.correct += c;
    return result;
}

}  // namespace hnn
