#pragma once
// Schedule of the fused softmax cross-entropy: tiny tensors (classes x batch), so the per-sample
// max logit and sum of exponentials are computed once and shared by the loss and the gradient.

#include "Halide.h"

namespace hnn {

inline void schedule_softmax_cross_entropy(const Halide::Target &t, Halide::Func loss, Halide::Func correct,
                                           Halide::Func logits_grad, Halide::Func max_logit, Halide::Func sum_exp,
                                           Halide::Func predicted) {
    using namespace Halide;
    Var k = logits_grad.args()[0], n = logits_grad.args()[1];
    if (t.has_gpu_feature()) {
        Var ki("ki"), ni("ni"), cn = correct.args()[0], cni("cni");
        max_logit.compute_root().gpu_tile(max_logit.args()[0], Var("mi"), 64, TailStrategy::GuardWithIf);
        sum_exp.compute_root().gpu_tile(sum_exp.args()[0], Var("si"), 64, TailStrategy::GuardWithIf);
        predicted.compute_root().gpu_tile(predicted.args()[0], Var("pi"), 64, TailStrategy::GuardWithIf);
        logits_grad.gpu_tile(k, n, ki, ni, 16, 16, TailStrategy::GuardWithIf);
        correct.gpu_tile(cn, cni, 64, TailStrategy::GuardWithIf);
        loss.gpu_single_thread();
        return;
    }
    const int vec = t.natural_vector_size<float>();
    max_logit.compute_root();
    sum_exp.compute_root();
    predicted.compute_root();
    Var no("no"), ni("ni");
    logits_grad.vectorize(k, vec, TailStrategy::GuardWithIf).split(n, no, ni, 8, TailStrategy::GuardWithIf).parallel(no);
}

}  // namespace hnn
