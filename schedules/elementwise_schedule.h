#pragma once
// Schedules of the elementwise kernels over (c, x, y, n) tensors: activations forward and backward,
// the conv backward's activation-derivative pass, dropout and nearest resampling. Memory-bound: the goal is full-width vector
// loads/stores and every core busy, nothing else.

#include "Halide.h"

#include "activation_kind.h"
#include "activation_specialization.h"
#include "parallel_rows.h"

namespace hnn {

using Halide::Expr;
using Halide::Func;
using Halide::Target;
using Halide::TailStrategy;
using Halide::Var;

inline int natural_float_lanes(const Target &t) {
    return t.natural_vector_size<float>();
}

// One loop nest per activation kind (the select chain of activation_math.h collapses in each),
// and within it channels-innermost vectorization when there are enough channels, x otherwise.
// Rows and images in parallel tasks (parallel_rows.h), except for small calls, which run on one
// thread.
inline void schedule_elementwise_cpu(Func out, Expr kind, Expr from_output, Expr channels, Expr row_elements,
                                     Expr elements, Var c, Var x, Var y, Var n, const Target &t) {
    const int lanes = natural_float_lanes(t);
    Var yn("yn");
    out.fuse(y, n, yn);
    for (int k = 0; k < activation_kind_count; k++) {
        const ActivationKind a = static_cast<ActivationKind>(k);
        const bool cheap = a == ActivationKind::relu || a == ActivationKind::leaky_relu ||
                           a == ActivationKind::prelu || a == ActivationKind::identity;
        const int one_thread_below = cheap ? kOneThreadBelowElements : kOneThreadBelowElementsWithExp;
        for (Halide::Stage of_kind : activation_stages(out, kind, k, from_output)) {
            Halide::Stage one_thread = of_kind.specialize(elements < one_thread_below);
            parallel_row_tasks(of_kind, yn, row_elements);
            for (Halide::Stage s : {one_thread, of_kind}) {
                s.specialize(channels >= lanes).vectorize(c, lanes, TailStrategy::GuardWithIf);
                s.vectorize(x, lanes, TailStrategy::GuardWithIf);
            }
        }
    }
    out.specialize_fail("hnn: unknown activation kind");
}

inline void schedule_elementwise_gpu(Func out, Expr kind, Expr from_output, Expr channels, Var c, Var x, Var y, Var n) {
    Var yn("yn"), ci("ci"), xi("xi");
    out.fuse(y, n, yn);
    for (int k = 0; k < activation_kind_count; k++) {
        for (Halide::Stage s : activation_stages(out, kind, k, from_output)) {
            // Adjacent threads touch adjacent floats: along c when it is wide, along x otherwise. Rows
            // and images are blocks too: left a host loop, they would be one launch per row.
            s.specialize(channels >= 32).gpu_tile(c, x, ci, xi, 32, 4, TailStrategy::GuardWithIf).gpu_blocks(yn);
            s.gpu_tile(x, yn, xi, Var("yni"), 64, 2, TailStrategy::GuardWithIf);
        }
    }
    out.specialize_fail("hnn: unknown activation kind");
}

// `channels`, `row_elements` and `elements` are the output's c extent, c x width and size.
// `from_output`: activation_backward's choice of y or x (undefined for a forward).
inline void schedule_elementwise(Func out, Expr kind, Expr channels, Expr row_elements, Expr elements, Var c, Var x,
                                 Var y, Var n, const Target &t, Expr from_output = Expr()) {
    if (t.has_gpu_feature()) {
        schedule_elementwise_gpu(out, kind, from_output, channels, c, x, y, n);
    } else {
        schedule_elementwise_cpu(out, kind, from_output, channels, row_elements, elements, c, x, y, n, t);
    }
}

// A kernel with one loop nest, pure over (c, x, y, n): vectors along channels (contiguous) when
// there are enough of them, along x otherwise; rows and images in parallel.
inline void schedule_pointwise(const Target &t, Func out, Expr channels) {
    Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
    Var yn("yn"), ci("ci"), xi("xi");
    if (t.has_gpu_feature()) {
        out.fuse(y, n, yn).gpu_tile(c, x, ci, xi, 32, 4, TailStrategy::GuardWithIf).gpu_blocks(yn);
        return;
    }
    const int lanes = natural_float_lanes(t);
    out.fuse(y, n, yn).parallel(yn);
    out.specialize(channels >= lanes).vectorize(c, lanes, TailStrategy::GuardWithIf);
    out.vectorize(x, lanes, TailStrategy::GuardWithIf);
}

}  // namespace hnn
