#pragma once
// Schedules of the pooling kernels: memory-bound windows over (c, x, y, n) tensors, vectorized
// along channels (contiguous) and parallel over rows and images.

#include "Halide.h"

#include "parallel_rows.h"

namespace hnn {

// out is pure over (c, x, y, n) and reads `window`, whose update reduces over the window.
// `elements`: the larger of the input and the output, for the choice of one thread
// (parallel_rows.h); `row_elements`: c x (output width), for parallel_row_tasks. fast_path: a
// condition under which `out` does not read `window` (avg-pool forward on 2x2 windows, backward
// with kernel == stride); the CPU loop nest gets a copy specialized on it.
inline void schedule_pool(const Halide::Target &t, Halide::Func out, Halide::Func window, Halide::Expr channels,
                          Halide::Expr elements, Halide::Expr row_elements, Halide::Expr fast_path = Halide::Expr()) {
    using namespace Halide;
    Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
    Var yn("yn"), ci("ci"), xi("xi");
    if (t.has_gpu_feature()) {
        out.fuse(y, n, yn).gpu_tile(c, x, ci, xi, 32, 4, TailStrategy::GuardWithIf).gpu_blocks(yn);
        window.compute_at(out, ci);
        return;
    }
    const int vec = t.natural_vector_size<float>();
    out.fuse(y, n, yn);
    // On the stack: its size (the channels) is known only at run time, which otherwise puts it on
    // the heap, a malloc and free per output position (a 28x28x200 avg-pool forward at batch 100
    // made 19600 of them and ran 2.5x slower than a loop over the same loads).
    window.compute_at(out, x).store_in(MemoryType::Stack);
    // Wide channels: vectors along c. Few channels: vectors along x (the window math is the same).
    auto vectorized = [&](Stage stage) {
        if (fast_path.defined()) {
            Stage s = stage.specialize(fast_path);
            s.specialize(channels >= vec).vectorize(c, vec, TailStrategy::GuardWithIf);
            s.vectorize(x, vec, TailStrategy::GuardWithIf);
        }
        stage.specialize(channels >= vec).vectorize(c, vec, TailStrategy::GuardWithIf);
        stage.vectorize(x, vec, TailStrategy::GuardWithIf);
    };
    vectorized(out.specialize(elements < kOneThreadBelowElements));
    parallel_row_tasks(out, yn, row_elements);
    vectorized(out);
    Var wc = window.args()[0];
    window.vectorize(wc, vec, TailStrategy::GuardWithIf);
    for (int i = 0; i < window.num_update_definitions(); i++) {
        window.update(i).vectorize(wc, vec, TailStrategy::GuardWithIf);
    }
}

// The argmax of every window once (the max-pool backward kernels then gather without scattering):
// on the CPU row by row of images in parallel.
inline void schedule_max_pool_argmax(const Halide::Target &t, Halide::Func argmax_at) {
    using namespace Halide;
    if (t.has_gpu_feature()) {
        Var ci("ci"), ni("ni");
        argmax_at.compute_root().gpu_tile(argmax_at.args()[0], argmax_at.args()[1], ci, ni, 32, 4, TailStrategy::GuardWithIf);
        return;
    }
    const int vec = t.natural_vector_size<float>();
    Var ay = argmax_at.args()[2], an = argmax_at.args()[3], ayn("ayn");
    argmax_at.compute_root().fuse(ay, an, ayn).parallel(ayn).vectorize(argmax_at.args()[0], vec, TailStrategy::GuardWithIf);
}

inline void schedule_max_pool_backward(const Halide::Target &t, Halide::Func input_grad, Halide::Func din,
                                       Halide::Func argmax_at, Halide::Expr channels, Halide::Expr elements,
                                       Halide::Expr row_elements) {
    schedule_max_pool_argmax(t, argmax_at);
    schedule_pool(t, input_grad, din, channels, elements, row_elements);
}

// input_elements: the input's size; small calls run on one thread (parallel_rows.h). column_sum is
// the CPU's sum over rows of each (c, x) (see GlobalAvgPoolForward); sum adds it over x.
inline void schedule_global_pool_forward(const Halide::Target &t, Halide::Func output, Halide::Func sum,
                                         Halide::Func column_sum, Halide::RDom r, Halide::Expr channels,
                                         Halide::Expr input_elements) {
    using namespace Halide;
    Var c = output.args()[0], n = output.args()[1];
    if (t.has_gpu_feature()) {
        Var ci("ci"), ni("ni");
        output.gpu_tile(c, n, ci, ni, 32, 1, TailStrategy::GuardWithIf);
        sum.compute_at(output, ci);
        return;
    }
    const int vec = t.natural_vector_size<float>();
    // 50 images of 8x8x10 took 36 us as a parallel task per image, 4x oneDNN's time.
    output.specialize(input_elements < kOneThreadBelowElements).vectorize(c, vec, TailStrategy::GuardWithIf);
    output.parallel(n).vectorize(c, vec, TailStrategy::GuardWithIf);
    // One image at a time: its column sums (c x width floats, in L1) walked row by row in memory
    // order, then their sum over x, channels in vectors.
    Var i = column_sum.args()[0];
    column_sum.compute_at(output, n).vectorize(i, vec, TailStrategy::GuardWithIf);
    // It reads the input at (i % c, i / c) with an x stride of c: element i, a dense vector load,
    // where the simplifier knows that c is not 0 (else the address selects on it, and loads gather).
    for (Stage s : {column_sum.update().specialize(channels > 0), column_sum.update()}) {
        s.reorder(i, r.x).vectorize(i, vec, TailStrategy::GuardWithIf);
    }
    Var sc = sum.args()[0];
    sum.compute_at(output, n).vectorize(sc, vec, TailStrategy::GuardWithIf);
    sum.update().vectorize(sc, vec, TailStrategy::GuardWithIf);
}

// elements, row_elements: input_grad's size and row size (c x width), as in parallel_rows.h.
inline void schedule_global_pool_backward(const Halide::Target &t, Halide::Func input_grad, Halide::Expr elements,
                                          Halide::Expr row_elements) {
    using namespace Halide;
    Var c = input_grad.args()[0], x = input_grad.args()[1], y = input_grad.args()[2], n = input_grad.args()[3];
    Var yn("yn"), ci("ci"), xi("xi");
    if (t.has_gpu_feature()) {
        input_grad.fuse(y, n, yn).gpu_tile(c, x, ci, xi, 32, 4, TailStrategy::GuardWithIf).gpu_blocks(yn);
        return;
    }
    // A task per row (8 floats x 10 channels on allconv's last layer, 400 of them) kept two threads
    // busier fetching tasks than writing: 0.025 ms against oneDNN's 0.018.
    const int vec = t.natural_vector_size<float>();
    input_grad.fuse(y, n, yn);
    Stage one_thread = input_grad.specialize(elements < kOneThreadBelowElements);
    parallel_row_tasks(input_grad, yn, row_elements);
    for (Stage s : {one_thread, Stage(input_grad)}) s.vectorize(c, vec, TailStrategy::GuardWithIf);
}

}  // namespace hnn
