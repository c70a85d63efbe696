#pragma once
// Schedule of the resampling kernels: elementwise over the output, vectorized along channels
// (contiguous in both tensors, so the gather from `small` is a plain vector load).

#include "Halide.h"

namespace hnn {

inline void schedule_resample(const Halide::Target &t, Halide::Func out, Halide::Expr channels) {
    using namespace Halide;
    Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
    Var yn("yn"), ci("ci"), xi("xi");
    if (t.has_gpu_feature()) {
        out.fuse(y, n, yn).gpu_tile(c, x, ci, xi, 32, 4, TailStrategy::GuardWithIf).gpu_blocks(yn);
        return;
    }
    const int vec = t.natural_vector_size<float>();
    out.fuse(y, n, yn).parallel(yn);
    out.specialize(channels >= vec).vectorize(c, vec, TailStrategy::GuardWithIf);
    out.vectorize(x, vec, TailStrategy::GuardWithIf);
}

}  // namespace hnn
