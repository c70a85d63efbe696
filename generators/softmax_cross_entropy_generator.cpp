// Softmax cross-entropy, fused and stable: the loss averaged over the batch, whether each sample's
// argmax is its label, and d(loss)/d(logits) in one kernel. Logits are (k, n), labels (n).

#include "Halide.h"

#include "common.h"
#include "softmax_schedule.h"

namespace hnn {
namespace {

using namespace Halide;

class SoftmaxCrossEntropy : public Generator<SoftmaxCrossEntropy> {
public:
    Input<Buffer<float, 2>> logits{"logits"};
    Input<Buffer<int32_t, 1>> labels{"labels"};  // in [0, classes): the runtime checks before calling
    Output<Buffer<float, 0>> loss{"loss"};        // mean over the batch of -log softmax(logits)[label]
    Output<Buffer<int32_t, 1>> correct{"correct"};  // 1 where the first maximal logit is the label
    Output<Buffer<float, 2>> logits_grad{"logits_grad"};

    Var k{"k"}, n{"n"};
    Func max_logit{"max_logit"}, sum_exp{"sum_exp"}, sample_loss{"sample_loss"}, predicted{"predicted"};
    RDom rk, rn;

    void generate() {
        const Expr classes = logits.dim(0).extent(), batch = logits.dim(1).extent();
        rk = RDom(0, classes, "rk");
        rn = RDom(0, batch, "rn");
        Expr label = clamp(labels(n), 0, classes - 1);

        // Everything in terms of l - m, m the largest logit: no overflow, and no cancellation between
        // large logits and a large log-sum-exp (l - m is exact for nearby floats).
        max_logit(n) = maximum(logits(rk, n));
        sum_exp(n) = sum(exp(logits(rk, n) - max_logit(n)));
        sample_loss(n) = log(sum_exp(n)) - (logits(label, n) - max_logit(n));
        loss() = sum(sample_loss(rn)) / cast<float>(batch);

        predicted(n) = argmax(logits(rk, n))[0];
        correct(n) = select(predicted(n) == label, 1, 0);

        Expr softmax = exp(logits(k, n) - max_logit(n)) / sum_exp(n);
        logits_grad(k, n) = (softmax - select(k == label, 1.0f, 0.0f)) / cast<float>(batch);
    }

    void schedule() {
        if (auto_schedule) return;
        schedule_softmax_cross_entropy(get_target(), loss, correct, logits_grad, max_logit, sum_exp, predicted);
    }
};

}  // namespace
}  // namespace hnn

HALIDE_REGISTER_GENERATOR(hnn::SoftmaxCrossEntropy, softmax_cross_entropy)
