#pragma once
// Schedules of the convolution kernels, after Halide's apps/conv_layer: the output is cut into
// register tiles (a few vectors of channels by a few x positions), the convolution for one tile is
// computed into those registers with the reduction loops outside the tile, and the activation
// epilogue is applied as the tile is stored. Tiles at the end of a dimension are computed whole
// (the algorithm clamps what they read) and stored partially, so any channel count and width
// works with one loop nest.

#include "Halide.h"

#include <numeric>

#include "activation_kind.h"
#include "activation_specialization.h"
#include "channel_reduction_schedule.h"
#include "conv2d_gpu_schedule.h"
#include "register_sums.h"
#include "schedule_params.h"
#include "tile_bounds.h"

namespace hnn {

using Halide::Expr;

struct RegisterTile {
    int channel_vectors;  // vectors of channels per tile
    int xs;               // x positions per tile
};

// 12 accumulators on AVX-512 and AVX2: conv_layer's 4x5 tile of 20 zmm measured 15-30% slower on
// the reference layers (3x3, 96-200 channels) on this project's AVX-512 machines (AMD Zen 4), and
// a tile of 3 vectors wastes less of a channel count that is not a multiple of 64 (200 -> 240,
// not 256). 8 of 16 xmm on the baseline. Run `hnn bench` to see where this lands; `hnn tune`
// searches the knobs tile_c (channel vectors) and tile_x per machine.
inline RegisterTile conv_register_tile(const Halide::Target &t, const ScheduleParams &p = ScheduleParams()) {
    RegisterTile hand{2, 4};
    if (t.has_feature(Halide::Target::AVX512_Skylake)) {
        hand = {3, 4};
    } else if (t.has_feature(Halide::Target::AVX2)) {
        hand = {2, 6};
    }
    return {p.get("tile_c", hand.channel_vectors), p.get("tile_x", hand.xs)};
}

// The reduction channels (ci of the forward, co of backward-data) a register tile sums before the
// next tile of the image: the tile's weights for those channels (16 channels x 9 taps x 48 co = 27 KB
// at 3x3 on AVX-512) stay in L1 while every tile of the image uses them. A tile that ran the whole
// reduction at once streamed all its weights (345 KB at 200 channels) from L2 for every 4 positions,
// which held the forward and backward-data near 55-60% of the FMA peak on a Xeon; chunks of 16
// reached 70% (8 and 32 were slower); 1 sums the whole reduction per tile. The value is for 3x3:
// kernels with fewer taps scale it up to the same weights per chunk (1x1: 144 channels).
// `hnn tune` searches the knob chunk_channels.
inline int conv_chunk_channels(const ScheduleParams &p = ScheduleParams()) {
    return p.get("chunk_channels", 16);
}

// The knobs of the forward and backward-data schedules (tile_y and staged: the GPU schedules').
inline const std::set<std::string> &conv_like_knobs() {
    static const std::set<std::string> knobs{"tile_c", "tile_x", "tile_y", "chunk_channels", "staged"};
    return knobs;
}

// Whether a forward or backward-data for target t, with these schedule_knobs, runs the staged GPU
// schedule (gpu.staged:1), which reads whole chunks of the reduction's channels: the generators
// clamp those reads.
inline bool stages_channel_chunks(const Halide::Target &t, const std::string &schedule_knobs) {
    return t.has_gpu_feature() && ScheduleParams(schedule_knobs, t, conv_like_knobs()).has("staged");
}

// The knobs of the backward-weights schedule: its register tile, co vectors by ci (staged: the GPU
// schedule's).
inline const std::set<std::string> &conv_backward_weights_knobs() {
    static const std::set<std::string> knobs{"tile_co", "tile_ci", "run_positions", "staged"};
    return knobs;
}

// Whether a backward-weights for target t, with these schedule_knobs, runs the staged GPU schedule
// (gpu.staged:1), which stages whole runs of 32 x positions: the generator clamps those reads.
inline bool stages_position_runs(const Halide::Target &t, const std::string &schedule_knobs) {
    return t.has_gpu_feature() && ScheduleParams(schedule_knobs, t, conv_backward_weights_knobs()).has("staged");
}

// Shared by forward and backward-data, which have the same shape: a pure output (c, x, y, n) fed by
// an accumulator Func `acc` whose update reduces over `r` (r.z of the forward / r.x of backward-data
// is the channel reduction), a weight Func laid out as the tiles read it, and the zero-padded
// input. Threads take whole images; each image's padded input is copied once into a buffer the
// tiles read without a bounds check per element, and every tile of channels of a row reads it
// while it is in cache.
//
// The activation is specialized where it is computed, so that the convolution's loop nest exists
// once (or twice, with a stride-1 copy), not once per activation: the forward's activation is in
// `out` itself; the backward-data's derivative is a Func `epilogue` computed per register tile.
inline void schedule_conv_like_cpu(const Halide::Target &t, Halide::Func out, Halide::Func acc, Halide::Func weights,
                                   Halide::Func padded, Halide::RVar inner, Halide::RVar middle, Halide::RVar outer,
                                   Expr kind, const ScheduleKnobs &knobs, Expr stride = Expr(),
                                   Halide::Func epilogue = Halide::Func(), Expr from_output = Expr()) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    check_knob(!knobs.params.has("tile_y"), "hnn: tile_y is a knob of the GPU schedule only (gpu.tile_y)");
    check_knob(!knobs.params.has("staged"), "hnn: staged is a knob of the GPU schedule only (gpu.staged)");
    const RegisterTile tile = conv_register_tile(t, knobs.params);
    const int tile_c = vec * tile.channel_vectors;
    const int chunk = conv_chunk_channels(knobs.params);
    Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
    Var co("c_outer"), ci("c_inner"), xo("x_outer"), xi("x_inner"), yn("yn");

    out.split(c, co, ci, tile_c, TailStrategy::GuardWithIf)
        .split(x, xo, xi, tile.xs, TailStrategy::GuardWithIf)
        .reorder(ci, xi, xo, co, y, n)
        .vectorize(ci, vec, TailStrategy::GuardWithIf)
        .parallel(n);

    Var ac = acc.args()[0], ax = acc.args()[1], ay = acc.args()[2], an = acc.args()[3];
    Var aco("acc_c_outer"), aci("acc_c_inner"), axo("acc_x_outer"), axi("acc_x_inner");
    if (chunk > 1) {
        // Per image and co tile: for each chunk of the reduction, every register tile of the image
        // sums the chunk (an rfactor over the chunks) and adds it into the image's sums, which wait
        // in a buffer between chunks (48 co x 28 x 28 floats = 150 KB, in L2).
        out.reorder(ci, xi, xo, y, co, n);
        RVar chunk_outer("chunk_outer"), chunk_inner("chunk_inner");
        Var u("chunk");
        // Fewer taps leave room in L1 for more channels: a chunk spans about chunk x 9 multiply-adds
        // per output (1x1 convs sum 144 channels at a time).
        Expr channels_per_chunk = max(chunk, chunk * 9 / (middle.extent() * outer.extent()));
        acc.update().split(inner, chunk_outer, chunk_inner, min(channels_per_chunk, inner.extent()),
                           TailStrategy::GuardWithIf);
        Func chunk_sum = acc.update().rfactor(chunk_outer, u);
        // The last x tile of a row runs whole (RoundUp, below) and reads the padded input past the
        // row: acc's aligned extent makes the image's padded copy cover it (see weights, below).
        acc.compute_at(out, co)
            .bound_extent(ac, tile_c)
            .align_extent(ax, tile.xs)
            .split(ac, aco, aci, vec)
            .vectorize(aci)
            .unroll(aco);
        acc.update()
            .split(ac, aco, aci, vec)
            .split(ax, axo, axi, tile.xs, TailStrategy::RoundUp)
            .reorder(aci, aco, axi, axo, ay, an, chunk_outer)
            .vectorize(aci)
            .unroll(aco)
            .unroll(axi);
        // chunk_sum (c, x, y, n, chunk): one register tile's sum over the chunk.
        const RegisterSums chunk_tile{{tile_c, tile.xs, 1, 1, 1}, {1}, "sum_c"};
        schedule_register_sums_pure(chunk_sum, vec, chunk_tile, LoopLevel(acc, axo));
        // A first layer's 1 or 3 channels make a chunk loop of 1 or 3 iterations per tap: unrolled,
        // the taps' loop carries 12 or 36 multiply-adds per iteration instead of a loop's overhead.
        for (int narrow : {1, 3}) {
            schedule_register_sums_update(chunk_sum.update().specialize(inner.extent() == narrow), chunk_sum, vec,
                                          chunk_tile, {chunk_inner, middle, outer})
                .unroll(chunk_inner);
        }
        schedule_register_sums_update(chunk_sum.update(), chunk_sum, vec, chunk_tile, {chunk_inner, middle, outer});
    } else {
        schedule_register_sums(acc, vec, {{tile_c, tile.xs, 1, 1}, {1}, "acc_c"}, LoopLevel(out, xo),
                               {inner, middle, outer});
    }

    // Register tiles past the last channel read whole tiles of weights. Halide computes a root Func
    // over what the output needs, not over what its consumers' bound_extent adds, so without the
    // alignment those lanes read uninitialized memory: results past the end are discarded, but
    // reused memory holding denormals made a 1x1 conv 23x slower (denormal FMAs take microcode
    // assists). Aligned, they are clamped copies of the last channel.
    weights.compute_root()
        .align_extent(weights.args()[0], tile_c)
        .vectorize(weights.args()[0], vec, TailStrategy::GuardWithIf);
    padded.compute_at(out, n).vectorize(padded.args()[0], vec, TailStrategy::GuardWithIf);

    if (epilogue.defined()) {
        Var ec = epilogue.args()[0], ex = epilogue.args()[1];
        Var eco("e_c_outer"), eci("e_c_inner");
        epilogue.compute_at(out, xo)
            .bound_extent(ec, tile_c)
            .bound_extent(ex, tile.xs)
            .split(ec, eco, eci, vec)
            .vectorize(eci)
            .unroll(eco);
        specialize_on_activation(epilogue, kind, knobs.activation_kinds, from_output);
        // Stride 1 (most layers) drops the backward-data's divisibility test and divisions.
        if (stride.defined()) out.specialize(stride == 1);
        return;
    }
    specialize_on_activation(out, kind, knobs.activation_kinds);
}

// r = (kx, ky, ci): ci innermost, then kx, ky.
// activated: the activation of conv, which output stores beside conv (the GPU computes it per
// register tile; the CPU inlines it into output).
inline void schedule_conv2d_forward(const Halide::Target &t, Halide::Func output, Halide::Func conv,
                                    Halide::Func activated, Halide::Func filter_bounded, Halide::Func input_padded,
                                    Halide::RDom r, Expr kind, Expr stride,
                                    const ScheduleKnobs &knobs = ScheduleKnobs()) {
    if (t.has_gpu_feature()) {
        schedule_conv_like_gpu({output, conv, activated, filter_bounded, input_padded, r.z, r.x, r.y, r.x.extent(),
                                r.y.extent(), stride, kind, false},
                               knobs);
    } else {
        schedule_conv_like_cpu(t, output, conv, filter_bounded, input_padded, r.z, r.x, r.y, kind, knobs);
    }
}

// The knobs of the pointwise forward and backward-data: the register tile, vectors of channels by
// positions (the build makes a second forward of 1 x 14 for outputs of at most one vector).
inline const std::set<std::string> &pointwise_conv2d_knobs() {
    static const std::set<std::string> knobs{"tile_c", "tile_x"};
    return knobs;
}

// Their register tile: 2 vectors of channels x 7 positions on AVX-512, 6 on AVX2, 4 on the
// baseline, unless knobs say otherwise (see schedule_pointwise_conv2d).
inline RegisterTile pointwise_register_tile(const Halide::Target &t, const ScheduleParams &p = ScheduleParams()) {
    const int xs = t.has_feature(Halide::Target::AVX512_Skylake) ? 7 : t.has_feature(Halide::Target::AVX2) ? 6 : 4;
    return {p.get("tile_c", 2), p.get("tile_x", xs)};
}

// The knobs of the pointwise backward-weights: its register tile (vectors of co x ci) and the
// positions of a run; without run_positions, runs are 64 positions, 256 where co fits one tile
// (see schedule_pointwise_conv2d_backward_weights).
inline const std::set<std::string> &pointwise_conv2d_backward_weights_knobs() {
    static const std::set<std::string> knobs{"tile_co", "tile_ci", "run_positions"};
    return knobs;
}

struct PointwiseBackwardWeightsTile {
    int co_vectors, ci;
    int run_positions;  // 0: 64, or 256 where co fits one tile
};

inline PointwiseBackwardWeightsTile pointwise_backward_weights_tile(const Halide::Target &t,
                                                                   const ScheduleParams &p = ScheduleParams()) {
    const bool avx512 = t.has_feature(Halide::Target::AVX512_Skylake);
    return {p.get("tile_co", 1), p.get("tile_ci", avx512 ? 12 : 8), p.get("run_positions", 0)};
}

// The pointwise forward and backward-data (a 1x1 conv as a matrix product over positions p,
// define_pointwise_conv2d_forward and _backward_data): output (c, p) in register tiles of 2 vectors
// of c x 7 positions on AVX-512 (6 on AVX2, 4 on the baseline), each summing the whole reduction in
// registers from the weights of its c (200 x 32 channels: 25 KB) and its positions' inputs.
// Threads take blocks of 14 tiles of positions; for each tile of positions every c tile runs, so
// that the output's rows are written whole, one after another: where the reduction is short the
// stores are most of the work (a backward-data summing 10 channels ran 1.4-1.8x faster than with
// the c tiles outside, which kept each one's weights in L1; 200 channels measured the same either
// way). No padded copy of the input and no partial sums in memory, which the direct kernels' image
// loop needs: on celu7's 1x1 layers (14x14 and 3x3 images) a JIT of this schedule ran 1.2-1.5x
// faster than the direct forward. `sum` is the product,
// `weights` the (c, reduction) matrix clamped past the last c, and the output applies the
// activation (forward) or its derivative (backward-data) to the sum as a tile is stored.
// `position_count` is p's extent: fewer than 56 tiles of positions make blocks of fewer tiles, at
// least 4 a thread of 2 (celu7's 1x1 images at batch 100 made one block of 98 positions and one of 2).
inline void schedule_pointwise_conv2d(const Halide::Target &t, Halide::Func output, Halide::Func sum,
                                      Halide::Func weights, Halide::RDom r, Expr kind, Expr position_count,
                                      const ScheduleKnobs &knobs = ScheduleKnobs(), Expr from_output = Expr()) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    const RegisterTile tile = pointwise_register_tile(t, knobs.params);
    const int positions = tile.xs;
    const int tile_c = tile.channel_vectors * vec;
    const Expr block = clamp(position_count / (8 * positions), 1, 14) * positions;
    Var co = output.args()[0], p = output.args()[1];
    Var coo("c_outer"), coi("c_inner"), cv("c_vectors"), po("p_outer"), pi("p_inner"), blk("block");
    // The tile's stores are unrolled too: indexed by loop variables, the accumulators could not live
    // in registers, and each tile began by zeroing them in memory (a call to memset per tile, half of
    // a backward-data summing 10 channels).
    output.split(p, blk, p, block, TailStrategy::GuardWithIf)
        .split(co, coo, coi, tile_c, TailStrategy::GuardWithIf)
        .split(p, po, pi, positions, TailStrategy::GuardWithIf)
        .split(coi, cv, coi, vec, TailStrategy::GuardWithIf)
        .reorder(coi, cv, pi, coo, po, blk)
        .vectorize(coi)
        .unroll(cv)
        .unroll(pi)
        .parallel(blk);
    schedule_register_sums(sum, vec, {{tile_c, positions}, {1}, "acc_c"}, LoopLevel(output, coo), {r.x});
    // Whole tiles of weights, clamped copies past the last c (see schedule_conv_like_cpu's weights).
    weights.compute_root()
        .align_extent(weights.args()[0], tile_c)
        .vectorize(weights.args()[0], vec, TailStrategy::GuardWithIf);
    specialize_on_activation(output, kind, knobs.activation_kinds, from_output);
}

// The pointwise backward-weights: filter_grad (co, ci) = sum over positions p (define_pointwise_conv2d_
// backward_weights). As schedule_conv2d_backward_weights_cpu, each of `partitions` threads sums
// a share of the positions into its own partial gradient, summed at the end in a fixed order; its
// share is cut into runs of positions, across rows and images (the direct kernel's runs end with
// the image: 9 positions on 3x3 images), and for each run every register tile of 1 co vector x 12
// ci accumulates along the run in registers, then adds into the partial gradient. Runs are 64
// positions, 256 where co fits one vector: there a tile has few multiply-adds per add into the
// partial gradient (192 -> 10 on 8x8, batch 50: 0.14 -> 0.12 ms). (2 co vectors x 12 ci measured
// 5-10% slower on 200 channels: 200 -> 224 computed, against 208.) Each run's output
// gradient and input are copied once, clamped to whole tiles of channels: the tiles read them with
// dense loads and broadcasts from one address (read in place, the clamp gave each of a tile's 12
// input channels its own address register, and the loop spilled them).
inline void schedule_pointwise_conv2d_backward_weights(const Halide::Target &t, Halide::Func filter_grad,
                                                       Halide::Func bias_grad, Halide::Func dw, Halide::RDom r,
                                                       Halide::Func output_grad,
                                                       Halide::Func input, Expr channels_out, Expr position_count,
                                                       Expr partitions,
                                                       const ScheduleParams &knobs = ScheduleParams()) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    const PointwiseBackwardWeightsTile tile = pointwise_backward_weights_tile(t, knobs);
    const int tile_co = tile.co_vectors * vec, tile_ci = tile.ci;
    Expr run_positions = tile.run_positions > 0 ? Expr(tile.run_positions) : select(channels_out <= tile_co, 256, 64);

    Var v("partition"), u("run");
    RVar share_outer("share_outer"), share_inner("share_inner"), runs("runs"), run_inner("run_inner");
    Expr share = (position_count + partitions - 1) / partitions;
    dw.update().split(r.x, share_outer, share_inner, share, TailStrategy::GuardWithIf);
    Func partial = dw.update().rfactor(share_outer, v);
    partial.update().split(share_inner, runs, run_inner, run_positions, TailStrategy::GuardWithIf);
    Func run = partial.update().rfactor(runs, u);

    Var co = dw.args()[0];
    dw.compute_root().vectorize(co, vec, TailStrategy::GuardWithIf);
    dw.update().vectorize(co, vec, TailStrategy::GuardWithIf);
    filter_grad.vectorize(filter_grad.args()[0], vec, TailStrategy::GuardWithIf);
    bias_grad.vectorize(bias_grad.args()[0], vec, TailStrategy::GuardWithIf);

    Var pco = partial.args()[0], pci = partial.args()[1], pv = partial.args()[2];
    Var coo("co_outer"), coi("co_inner"), cio("ci_outer"), cii("ci_inner");
    partial.compute_root().vectorize(pco, vec, TailStrategy::GuardWithIf).parallel(pv);
    partial.update()
        .split(pco, coo, coi, tile_co, TailStrategy::GuardWithIf)
        .split(pci, cio, cii, tile_ci, TailStrategy::GuardWithIf)
        .reorder(coi, cii, coo, cio, runs, pv)
        .vectorize(coi, vec, TailStrategy::GuardWithIf)
        .unroll(cii)
        .parallel(pv);

    // run (co, ci, partition, run): one register tile's sum over a run of positions.
    schedule_register_sums(run, vec, {{tile_co, tile_ci, 1, 1}, {1}, "acc_co"}, LoopLevel(partial, coo), {run_inner});

    Var gc = output_grad.args()[0], ic = input.args()[0];
    output_grad.compute_at(partial, runs).align_extent(gc, tile_co).vectorize(gc, vec, TailStrategy::GuardWithIf);
    input.compute_at(partial, runs).align_extent(ic, tile_ci).vectorize(ic, vec, TailStrategy::GuardWithIf);
}

// The kernel widths backward-data's narrow path unrolls, and the x positions of its tiles: 4 x 5
// taps = 20 accumulators (of 32 zmm), each tap's filter vector shared by the 4 positions.
constexpr int kNarrowBackwardDataKernelWidths[] = {3, 5};
constexpr int kNarrowBackwardDataPositions = 4;

// When backward-data takes its narrow path (the generator's din_narrow): a first layer's 1 or 3
// input channels, stride 1, a kernel width the tile unrolls.
inline Expr narrow_backward_data_condition(Expr in_channels, Expr kernel_width, Expr stride) {
    Expr unrolled;
    for (int k : kNarrowBackwardDataKernelWidths) {
        unrolled = unrolled.defined() ? unrolled || kernel_width == k : kernel_width == k;
    }
    return (in_channels == 1 || in_channels == 3) && stride == 1 && unrolled;
}

// The narrow path: per row of the image and input channel, tiles of kNarrowBackwardDataPositions x
// positions, each the sum over (co, kx, ky) computed as vectors over co. Each (position, kx) has
// its own accumulator of 16 co lanes (no chain of dependent multiply-adds); they share the tile's
// filter vector of a tap and its positions + k - 1 output-gradient vectors, and are added up at the
// end of the tile. The row is computed to a whole number of tiles (align_extent), so that the
// padded output gradient is computed as far as the last tile reads (see schedule_conv_like_cpu's
// weights). The output's loops have the names schedule_conv_like_cpu gives them (c_outer,
// x_outer): the activation derivative is computed per tile of them in both paths.
inline void schedule_narrow_backward_data(const Halide::Target &t, Halide::Func out, Halide::Func din_narrow,
                                          Halide::RDom r, Expr narrow) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    const int positions = kNarrowBackwardDataPositions;
    Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
    Var co("c_outer"), ci("c_inner"), xo("x_outer"), xi("x_inner");
    out.specialize(narrow)
        .split(c, co, ci, vec, TailStrategy::GuardWithIf)
        .split(x, xo, xi, positions, TailStrategy::GuardWithIf)
        .reorder(ci, xi, xo, co, y, n)
        .parallel(n);

    Var dc = din_narrow.args()[0], dx = din_narrow.args()[1];
    Var dxo("narrow_x_outer"), dxi("narrow_x_inner");
    // Stored per image: Halide allocates it in the general path's row loop as well (where it is
    // never computed), and a malloc per row and channel tile was a quarter of a small 1x1 conv.
    din_narrow.compute_at(out, y).store_at(out, n).align_extent(dx, positions);
    for (int kernel_width : kNarrowBackwardDataKernelWidths) {
        RVar co_outer("co_outer"), co_inner("co_inner");
        Var lane("lane"), tap("tap");
        Stage u = din_narrow.update().specialize(r.y.extent() == kernel_width);
        u.split(r.x, co_outer, co_inner, vec, TailStrategy::GuardWithIf);
        Func lanes = u.rfactor({{co_inner, lane}, {r.y, tap}});
        u.split(dx, dxo, dxi, positions).reorder(dxi, dxo, dc);
        std::vector<Var> a = lanes.args();  // (ci, x, y, n, lane, tap)
        bound_extents(lanes, {1, positions, 1, 1, vec, kernel_width})
            .compute_at(din_narrow, dxo)
            .reorder_storage(a[4], a[1], a[5], a[0], a[2], a[3])
            .vectorize(a[4])
            .unroll(a[1])
            .unroll(a[5]);
        lanes.update().reorder(a[4], a[1], a[5], co_outer, r.z).vectorize(a[4]).unroll(a[1]).unroll(a[5]);
    }
}

// r = (co, kx, ky): co innermost; on the GPU's cached schedule (co, j, i), the taps of a phase
// (define_conv2d_backward_data_by_phase). kernel_width and kernel_height: the filter's.
// derivative: the activation derivative applied to the gradient, per register tile.
inline void schedule_conv2d_backward_data(const Halide::Target &t, Halide::Func input_grad, Halide::Func din,
                                          Halide::Func filter_t, Halide::Func output_grad_padded,
                                          Halide::Func derivative, Halide::RDom r, Expr kernel_width,
                                          Expr kernel_height, Expr kind, Expr from_output, Expr stride,
                                          const ScheduleKnobs &knobs = ScheduleKnobs()) {
    if (t.has_gpu_feature()) {
        schedule_conv_like_gpu({input_grad, din, derivative, filter_t, output_grad_padded, r.x, r.y, r.z, kernel_width,
                                kernel_height, stride, kind, true, from_output},
                               knobs);
    } else {
        schedule_conv_like_cpu(t, input_grad, din, filter_t, output_grad_padded, r.x, r.y, r.z, kind, knobs, stride,
                               derivative, from_output);
    }
}

struct BackwardWeightsTile {
    int co_vectors;     // vectors of output channels
    int ci;             // input channels
    int run_positions;  // output positions summed into the tile between loads and stores of the partial sum
};

// A row of 1 vector of co x 12 ci measured fastest on AVX-512 (Zen 4) at the reference layers.
// The tile loads and stores its accumulators once per run of positions: a run of one 7- or 8-wide
// row spends a third of its time on that, so runs join rows until they cover run_positions.
// `hnn tune` searches the knobs tile_co, tile_ci and run_positions.
inline BackwardWeightsTile conv_backward_weights_tile(const Halide::Target &t,
                                                      const ScheduleParams &p = ScheduleParams()) {
    const bool avx512 = t.has_feature(Halide::Target::AVX512_Skylake);
    return {p.get("tile_co", avx512 ? 1 : 2), p.get("tile_ci", avx512 ? 12 : 4), p.get("run_positions", 56)};
}

// The run-time sizes the backward-weights schedule depends on.
struct BackwardWeightsSizes {
    Expr batch;         // images
    Expr partitions;    // threads summing shares of the batch
    Expr channels_in;   // the filter gradient's ci extent
    Expr kernel_width;  // and its kx extent
    Expr output_width;  // the output gradient's x extent
    Expr channels_out;  // the GPU schedule's: the filter gradient's co and ky extents
    Expr kernel_height;
    Expr stride;
};

// The reduction variables of the partial gradient's update after the row split: positions along a
// row, rows of a run, runs of an image, images of a thread's share.
struct BackwardWeightsLoops {
    Halide::RVar x, rows_inner, rows_outer, images_inner;
};

// One run of rows' register tile, computed at `at` of `partial` (the loop over co tiles): every
// dimension but co, kx and ci is a single value, and the loops along the run's rows run inside the
// tile, so per position it loads the tile's co vectors once and broadcasts one input per (kx, ci).
inline void schedule_backward_weights_row(const Halide::Target &t, Halide::Func row, Halide::Func partial,
                                          Halide::Var at, const BackwardWeightsLoops &l, int tile_co, int tile_kx,
                                          int tile_ci) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    // row (co, kx, ky, ci, partition, row_y, row_n): tiles of co x kx x ci.
    schedule_register_sums(row, vec, {{tile_co, tile_kx, 1, tile_ci, 1, 1, 1}, {1, 3}, "acc_co"},
                           LoopLevel(partial, at), {l.x, l.rows_inner, row.args()[6]});
}

// A first layer's 1 or 3 input channels would fill a tile of 12 ci with padding (11/12 of the
// work wasted at ci = 1). For the kernel sizes the models use, the tile spans every kx and ci
// instead: co vectors x kx x ci, with as many co vectors as fit beside them in registers.
inline void schedule_narrow_backward_weights(const Halide::Target &t, Halide::Func partial,
                                             const BackwardWeightsLoops &l, const BackwardWeightsSizes &sizes,
                                             int channels_in, int kernel_width) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    const int accumulators = t.has_feature(Target::AVX512_Skylake) ? 24 : 12;
    const int co_vectors = std::max(1, std::min(2, accumulators / (channels_in * kernel_width)));
    Stage narrow = partial.update().specialize(sizes.channels_in == channels_in && sizes.kernel_width == kernel_width);
    Var row_y("row_y"), row_n("row_n");
    Func row = narrow.rfactor({{l.rows_outer, row_y}, {l.images_inner, row_n}});

    std::vector<Var> a = partial.args();  // (co, kx, ky, ci, partition)
    Var coo("narrow_co_outer"), coi("narrow_co_inner");
    narrow.split(a[0], coo, coi, vec * co_vectors, TailStrategy::GuardWithIf)
        .reorder(coi, a[1], a[3], coo, a[2], l.rows_outer, l.images_inner, a[4])
        .vectorize(coi, vec, TailStrategy::GuardWithIf)
        .parallel(a[4]);
    schedule_backward_weights_row(t, row, partial, coo, l, vec * co_vectors, kernel_width, channels_in);
}

// filter_grad (co, kx, ky, ci) = sum over r = (x, y, n), a GEMM whose reduction runs over every
// position of the batch. Each of `partitions` threads sums a share of the images into its own
// partial gradient (rfactor over the images), row by row: for one row of one image, every
// (kx, ky) and tile of (co vectors x ci) accumulates along the row in registers (a second rfactor
// leaves only x inside), then adds into the partial gradient, which stays in cache. The partials
// are summed at the end in a fixed order: the result depends on `partitions`, not on scheduling.
//
// output_grad is the gradient with its channels clamped, so that a tile past the last channel reads
// valid memory. Read in place, that clamp makes every vector of the row loop a gather (16 scalar
// loads and shuffles per 12 FMAs on AVX-512); each row is copied once into a buffer the tiles read
// with dense loads (every (kx, ky, ci tile) reads it: ~150 times at 200 channels and 3x3); so is each
// run of rows.
inline void schedule_conv2d_backward_weights_cpu(const Halide::Target &t, Halide::Func filter_grad, Halide::Func dw,
                                                 Halide::RDom r, Halide::Func input_padded, Halide::Func output_grad,
                                                 const BackwardWeightsSizes &sizes, const ScheduleParams &p) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    const BackwardWeightsTile tile = conv_backward_weights_tile(t, p);
    const int tile_co = vec * tile.co_vectors;
    const int tile_ci = tile.ci;

    Var v("partition"), row_y("row_y"), row_n("row_n");
    RVar images_outer("images_outer"), images_inner("images_inner");
    Expr share = (sizes.batch + sizes.partitions - 1) / sizes.partitions;
    dw.update().split(r.z, images_outer, images_inner, share, TailStrategy::GuardWithIf);
    Func partial = dw.update().rfactor(images_outer, v);
    BackwardWeightsLoops loops{r.x, RVar("rows_inner"), RVar("rows_outer"), images_inner};
    Expr rows_per_run = max(1, (tile.run_positions + sizes.output_width - 1) / sizes.output_width);
    partial.update().split(r.y, loops.rows_outer, loops.rows_inner, rows_per_run, TailStrategy::GuardWithIf);
    // MNIST's first conv (1 channel, 5x5), CIFAR's (3 channels, 3x3 or 5x5).
    for (auto [channels_in, kernel_width] : {std::pair{1, 5}, {1, 3}, {3, 3}, {3, 5}}) {
        schedule_narrow_backward_weights(t, partial, loops, sizes, channels_in, kernel_width);
    }
    Func row = partial.update().rfactor({{loops.rows_outer, row_y}, {images_inner, row_n}});

    Var co = dw.args()[0];
    dw.compute_root().vectorize(co, vec, TailStrategy::GuardWithIf);
    dw.update().vectorize(co, vec, TailStrategy::GuardWithIf);
    filter_grad.vectorize(filter_grad.args()[0], vec, TailStrategy::GuardWithIf);

    Var pco = partial.args()[0], pkx = partial.args()[1], pky = partial.args()[2], pci = partial.args()[3];
    Var pv = partial.args()[4];
    Var coo("co_outer"), coi("co_inner"), cio("ci_outer"), cii("ci_inner");
    partial.compute_root().vectorize(pco, vec, TailStrategy::GuardWithIf).parallel(pv);
    partial.update()
        .split(pco, coo, coi, tile_co, TailStrategy::GuardWithIf)
        .split(pci, cio, cii, tile_ci, TailStrategy::GuardWithIf)
        .reorder(coi, cii, coo, cio, pkx, pky, loops.rows_outer, images_inner, pv)
        .vectorize(coi, vec, TailStrategy::GuardWithIf)
        .unroll(cii)
        .parallel(pv);
    schedule_backward_weights_row(t, row, partial, coo, loops, tile_co, 1, tile_ci);

    // Tiles past the last channel read whole tiles of both copies (see schedule_conv_like_cpu): they
    // are computed that far, as clamped copies of the last channel. The narrow tiles read up to two
    // vectors of co and exactly the ci there are.
    Var gc = output_grad.args()[0];
    output_grad.compute_at(partial, loops.rows_outer)
        .align_extent(gc, std::lcm(tile_co, 2 * vec))
        .vectorize(gc, vec, TailStrategy::GuardWithIf);

    // Each image's padded input is copied by the thread that sums it, just before its rows: the row
    // loop reads it without bounds checks, from cache (a whole batch padded at once was 72 MB at
    // 200 channels of 28x28, written and read back from memory on every call).
    Var pc = input_padded.args()[0];
    input_padded.compute_at(partial, images_inner)
        .align_extent(pc, tile_ci)
        .vectorize(pc, vec, TailStrategy::GuardWithIf);
}

inline void schedule_conv2d_backward_weights(const Halide::Target &t, Halide::Func filter_grad, Halide::Func dw,
                                             Halide::RDom r, Halide::Func input_padded, Halide::Func output_grad,
                                             const BackwardWeightsSizes &sizes,
                                             const ScheduleParams &p = ScheduleParams()) {
    if (t.has_gpu_feature()) {
        // Any other gpu.* knob here would be silently ignored: refuse it, as an unknown knob is refused.
        check_knob(!p.has("run_positions"), "hnn: run_positions is a knob of the CPU backward-weights schedule only");
        Halide::Expr taps = sizes.kernel_width * sizes.kernel_height;
        if (!p.has("staged")) {
            schedule_conv2d_backward_weights_gpu_cached(filter_grad, dw, r, input_padded, output_grad, sizes.batch,
                                                        sizes.channels_out, sizes.channels_in, taps,
                                                        GpuCachedWeightsTile::from_knobs(p));
            return;
        }
        check_knob(!p.has("tile_co") && !p.has("tile_ci"),
                   "hnn: gpu.tile_co and gpu.tile_ci are knobs of the default GPU backward-weights schedule, not "
                   "of the staged one (gpu.staged:1)");
        check_knob(p.get("staged", 1) == 1, "hnn: gpu.staged is 1 or absent");
        schedule_conv2d_backward_weights_gpu_staged(filter_grad, dw, r, input_padded, output_grad, sizes.batch,
                                                    sizes.channels_out * taps * sizes.channels_in, sizes.stride,
                                                    sizes.channels_in);
        return;
    }
    check_knob(!p.has("staged"), "hnn: staged is a knob of the GPU schedule only (gpu.staged)");
    schedule_conv2d_backward_weights_cpu(t, filter_grad, dw, r, input_padded, output_grad, sizes, p);
}

}  // namespace hnn
