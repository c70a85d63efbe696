#pragma once
// Schedules of the convolution kernels, after Halide's apps/conv_layer: the output is cut into
// register tiles (a few vectors of channels by a few x positions), the convolution for one tile is
// computed into those registers with the reduction loops outside the tile, and the activation
// epilogue is applied as the tile is stored. Tiles at the end of a dimension are computed whole
// (the algorithm clamps what they read) and stored partially, so any channel count and width
// works with one loop nest.

#include "Halide.h"

#include "activation_kind.h"
#include "channel_reduction_schedule.h"

namespace hnn {

struct RegisterTile {
    int channel_vectors;  // vectors of channels per tile
    int xs;               // x positions per tile
};

// conv_layer's choice: 20 accumulators of 32 zmm on AVX-512, 12 of 16 ymm on AVX2, 8 of 16 xmm.
inline RegisterTile conv_register_tile(const Halide::Target &t) {
    if (t.has_feature(Halide::Target::AVX512_Skylake)) return {4, 5};
    if (t.has_feature(Halide::Target::AVX2)) return {3, 4};
    return {2, 4};
}

// Shared by forward and backward-data, which have the same shape: a pure output (c, x, y, n) fed by
// an accumulator Func `acc` whose update reduces over `r` (r.z of the forward / r.x of backward-data
// is the channel reduction), and a staged weight Func reused across the whole batch.
inline void schedule_conv_like_cpu(const Halide::Target &t, Halide::Func out, Halide::Func acc, Halide::Func weights,
                                   Halide::RVar inner, Halide::RVar middle, Halide::RVar outer, Expr kind) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    const RegisterTile tile = conv_register_tile(t);
    const int tile_c = vec * tile.channel_vectors;
    Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
    Var co("c_outer"), ci("c_inner"), xo("x_outer"), xi("x_inner"), yn("yn");

    out.split(c, co, ci, tile_c, TailStrategy::GuardWithIf)
        .split(x, xo, xi, tile.xs, TailStrategy::GuardWithIf)
        .reorder(ci, xi, xo, y, n, co)
        .vectorize(ci, vec, TailStrategy::GuardWithIf)
        .fuse(y, n, yn)
        .parallel(yn);

    Var ac = acc.args()[0], ax = acc.args()[1];
    Var aco("acc_c_outer"), aci("acc_c_inner");
    acc.compute_at(out, xo)
        .bound_extent(ac, tile_c)
        .bound_extent(ax, tile.xs)
        .split(ac, aco, aci, vec)
        .vectorize(aci)
        .unroll(aco)
        .unroll(ax);
    acc.update()
        .split(ac, aco, aci, vec)
        .reorder(aci, aco, ax, inner, middle, outer)
        .vectorize(aci)
        .unroll(aco)
        .unroll(ax);

    // The weights of one block of channels, laid out as the tile reads them, once per block.
    weights.compute_at(out, co).vectorize(weights.args()[0], vec, TailStrategy::GuardWithIf);

    for (int k = 0; k < activation_kind_count; k++) out.specialize(kind == k);
    out.specialize_fail("hnn: unknown activation kind");
}

inline void schedule_conv_like_gpu(Halide::Func out, Halide::Func acc, Halide::Func weights, Expr kind) {
    using namespace Halide;
    Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
    Var ci("c_inner"), xi("x_inner"), yn("yn");
    // Threads along channels (contiguous in memory), blocks over x and (y, n); each thread keeps its
    // accumulator in a register.
    out.fuse(y, n, yn)
        .gpu_tile(c, x, ci, xi, 32, 4, TailStrategy::GuardWithIf)
        .gpu_blocks(yn);
    acc.compute_at(out, ci);
    weights.compute_inline();
    for (int k = 0; k < activation_kind_count; k++) out.specialize(kind == k);
    out.specialize_fail("hnn: unknown activation kind");
}

// r = (kx, ky, ci): ci innermost, then kx, ky.
inline void schedule_conv2d_forward(const Halide::Target &t, Halide::Func output, Halide::Func conv,
                                    Halide::Func filter_bounded, Halide::RDom r, Expr kind) {
    if (t.has_gpu_feature()) {
        schedule_conv_like_gpu(output, conv, filter_bounded, kind);
    } else {
        schedule_conv_like_cpu(t, output, conv, filter_bounded, r.z, r.x, r.y, kind);
    }
}

// r = (co, kx, ky): co innermost.
inline void schedule_conv2d_backward_data(const Halide::Target &t, Halide::Func input_grad, Halide::Func din,
                                          Halide::Func filter_t, Halide::RDom r, Expr kind) {
    if (t.has_gpu_feature()) {
        schedule_conv_like_gpu(input_grad, din, filter_t, kind);
    } else {
        schedule_conv_like_cpu(t, input_grad, din, filter_t, r.x, r.y, r.z, kind);
    }
}

// filter_grad (co, kx, ky, ci) = sum over r = (x, y, n): a tile of output channels (vectors) by
// input channels (broadcast scalars) accumulates in registers over the whole reduction.
inline void schedule_conv2d_backward_weights(const Halide::Target &t, Halide::Func filter_grad, Halide::Func dw,
                                             Halide::RDom r) {
    using namespace Halide;
    Var co = filter_grad.args()[0], kx = filter_grad.args()[1], ky = filter_grad.args()[2], ci = filter_grad.args()[3];
    if (t.has_gpu_feature()) {
        Var coi("co_inner"), cii("ci_inner");
        filter_grad.gpu_tile(co, ci, coi, cii, 32, 4, TailStrategy::GuardWithIf);
        dw.compute_at(filter_grad, coi);
        return;
    }
    const int vec = t.natural_vector_size<float>();
    const int tile_co = vec * 2, tile_ci = 4;
    Var coo("co_outer"), coi("co_inner"), cio("ci_outer"), cii("ci_inner"), task("task");
    filter_grad.split(co, coo, coi, tile_co, TailStrategy::GuardWithIf)
        .split(ci, cio, cii, tile_ci, TailStrategy::GuardWithIf)
        .reorder(coi, cii, coo, cio, kx, ky)
        .vectorize(coi, vec, TailStrategy::GuardWithIf)
        .fuse(kx, ky, task)
        .fuse(cio, task, task)
        .parallel(task);
    Var dco = dw.args()[0], dci = dw.args()[3];
    Var aco("acc_co_outer"), aci("acc_co_inner");
    dw.compute_at(filter_grad, coo)
        .bound_extent(dco, tile_co)
        .bound_extent(dci, tile_ci)
        .split(dco, aco, aci, vec)
        .vectorize(aci)
        .unroll(aco)
        .unroll(dci);
    dw.update()
        .split(dco, aco, aci, vec)
        .reorder(aci, aco, dci, r.x, r.y, r.z)
        .vectorize(aci)
        .unroll(aco)
        .unroll(dci);
}

}  // namespace hnn
