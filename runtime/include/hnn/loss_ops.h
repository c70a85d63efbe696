#pragma once
// Softmax cross-entropy over logits (classes, n) and integer labels.

#include "hnn/tensor.h"

#include <cstdint>
#include <vector>

namespace hnn {

struct LossResult {
    float loss = 0;                  // mean over the batch
    int correct = 0;                 // samples whose first maximal logit is the label
    std::vector<int32_t> is_correct; // per sample, 1 or 0
};

// Writes d(loss)/d(logits) into logits_grad (same shape). Labels outside [0, classes) throw
// hnn::Error naming the sample and the label.
LossResult softmax_cross_entropy(Tensor &logits, const std::vector<int32_t> &labels, Tensor &logits_grad);

}  // namespace hnn
