#pragma once
// The GPU convolutions without shared memory, the default since 2026-12-07 (not yet timed on a GPU;
// gpu.staged:1 builds the staged schedules of conv2d_gpu_schedule.h instead). Every GPU library
// holds both, and this one also with larger thread tiles (generators/CMakeLists.txt); under
// --conv-algorithm auto a GPU times them at each shape. Backward-weights is the last function here.
// In forward and backward-data each thread sums one output channel at a tile of positions over the
// whole reduction in its registers, reading the input and the filter through the cache, as
// apps/cuda_mat_mul's schedule reads its matrices. The staged schedule keeps
// a block's sums in shared memory across its channel chunks (Halide 14 cannot give each thread its
// slice of a block-level register allocation without gpu_lanes, which only CUDA lowers), so every
// chunk costs two barriers and a pass through shared memory, and its shared allocation caps an H200
// at 5 blocks a multiprocessor (15% occupancy measured at 4 rows, 10% of the fp32 peak). Here
// nothing is shared and nothing waits: occupancy is bounded by registers alone.
//
// The layout follows apps/conv_layer's GPU schedule: the 32 lanes of a warp are 32 consecutive
// output channels at the same positions, so a filter load is one coalesced 128-byte line and an
// input load one value broadcast to the warp. A block is 32 channels x 2 x 2 warps, each warp a
// tile of gpu.tile_x x positions by gpu.tile_y rows (4 x 4 by default). Kernel sizes 1, 2, 3 and 5
// at strides 1 and 2 are specializations with the taps unrolled, so that the compiler loads each
// input value once for every tap and position using it. (Backward-data's reduction runs over the
// taps of a phase, define_conv2d_backward_data_by_phase, which the generator bounds with a where()
// on the kernel's taps: specialized on the kernel size and stride, both are constants. Its loop
// over channels at 3x3 stride 2 is 64 FMAs and 280 instructions, against 144 and 403 visiting every
// tap.) Other shapes loop over the taps, at strides 1 and 2 in specializations of their own: with
// the stride a constant, a tap's 16 input loads are at constant offsets from one address a row, and
// the generated CUDA's loop over a tap is 49 instructions for 16 FMAs in the forward against 85, in
// backward-data 51 (stride 1) and 86 (stride 2, the taps of a phase) against 192. The zero-padded
// input (backward-data's output gradient) is first written by a kernel of its own, so no load needs
// a select, and stored x innermost, so that a row of the footprint is read at constant offsets from
// one address: the generated CUDA forward's and backward-data's loops over channels at 3x3 stride 1
// are each 144 FMAs, 45 loads (the 6 x 6 input footprint and 9 filter values) and 253 instructions,
// against 337 with the copy's channels innermost (an address for each of the 36 input values) and
// 373 and 438 (with 58 loads: the selects kept repeated reads apart) reading the padding where it
// is.

#include "Halide.h"

#include "activation_specialization.h"
#include "gpu_partial_gradient_sum.h"
#include "kernel_shape_specializations.h"
#include "schedule_params.h"
#include "tile_bounds.h"

#include <vector>

namespace hnn {

// How compute_copy_first stores its copy: the layout the reading threads want neighbours in.
enum class CopyLayout {
    channels_innermost,  // (c, x, y, n), as hnn's tensors: a thread reading consecutive channels
    x_innermost,         // (x, c, y, n): a thread reading consecutive x, or lanes reading along x
};

// A (c, x, y, n) Func the convolution reads, written first by a kernel of its own: a zero-padded
// input or output gradient, so that the convolution's loads need no select each (36 in the
// forward's loop over channels at 3x3: its 6 x 6 footprint) and repeated reads of one value can be
// merged; a channel-clamped output gradient, so that neighbouring channels are read at constant
// offsets from one address rather than an address computed for each. Stored x innermost, a row's
// neighbouring positions are at constant offsets from one address instead (a channel's stride is
// not a constant), and the copy's warps run along x so that its stores are whole lines; the reads
// of each warp are then 32 lines, shared through the cache by the block's 8 warps of neighbouring
// channels.
inline void compute_copy_first(Halide::Func f, CopyLayout layout = CopyLayout::channels_innermost) {
    using namespace Halide;
    std::vector<Var> v = f.args();
    Var yn("yn"), co("co"), xo("xo"), ci("ci"), xi("xi");
    f.compute_root().fuse(v[2], v[3], yn);
    if (layout == CopyLayout::x_innermost) {
        f.reorder_storage(v[1], v[0], v[2], v[3])
            .gpu_tile(v[1], v[0], xo, co, xi, ci, 32, 8, TailStrategy::GuardWithIf);
    } else {
        f.gpu_tile(v[0], v[1], co, xo, ci, xi, 32, 4, TailStrategy::GuardWithIf);
    }
    f.gpu_blocks(yn);
}

struct GpuCachedTile {
    static constexpr int lanes = 32;  // output channels per block, one per lane
    static constexpr int warps_x = 2, warps_y = 2;
    int xs = 4;    // gpu.tile_x: x positions per thread
    int rows = 4;  // gpu.tile_y: rows per thread

    static GpuCachedTile from_knobs(const ScheduleParams &p) {
        GpuCachedTile t;
        t.xs = p.get("tile_x", t.xs);
        t.rows = p.get("tile_y", t.rows);
        check_knob(t.xs * t.rows <= 64, "hnn: gpu.tile_x x gpu.tile_y is at most 64 sums a thread");
        check_knob(!p.has("tile_c"), "hnn: gpu.tile_c is a knob of the staged schedule (gpu.staged:1); "
                                     "in the default GPU schedule a thread sums one channel");
        check_knob(!p.has("chunk_channels"), "hnn: chunk_channels is not a knob of the GPU schedule");
        return t;
    }
};

// out, acc, epilogue, padded, channel, kx, ky, kernel_width, kernel_height, stride, kind and
// from_output as GpuConvLike's (conv2d_gpu_schedule.h); the weights are read where they are, the
// padded input from a copy written first.
inline void schedule_conv_like_gpu_cached(Halide::Func out, Halide::Func acc, Halide::Func epilogue,
                                          Halide::Func padded, Halide::RVar channel, Halide::RVar kx, Halide::RVar ky,
                                          Halide::Expr kernel_width, Halide::Expr kernel_height,
                                          Halide::Expr stride, Halide::Expr kind, Halide::Expr from_output,
                                          const ScheduleKnobs &knobs) {
    using namespace Halide;
    const GpuCachedTile T = GpuCachedTile::from_knobs(knobs.params);
    Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
    Var cb("cb"), lane("lane"), xb("xb"), xin("xin"), xw("xw"), xr("xr"), yb("yb"), yin("yin"), yw("yw"), yr("yr"),
        ybn("ybn");
    out.split(c, cb, lane, GpuCachedTile::lanes, TailStrategy::GuardWithIf)
        .split(x, xb, xin, T.xs * GpuCachedTile::warps_x, TailStrategy::GuardWithIf)
        .split(xin, xw, xr, T.xs)
        .split(y, yb, yin, T.rows * GpuCachedTile::warps_y, TailStrategy::GuardWithIf)
        .split(yin, yw, yr, T.rows)
        .reorder(xr, yr, lane, xw, yw, cb, xb, yb, n)
        .fuse(yb, n, ybn)
        .gpu_blocks(cb, xb, ybn)
        .gpu_threads(lane, xw, yw)
        .unroll(xr)
        .unroll(yr);

    // A thread's sums and epilogue, bounded to its tile so that they are registers. Tiles past the
    // end of c, x or y are computed whole (everything they read is clamped or zero-padded) and
    // stored partially.
    Var ec = epilogue.args()[0], ex = epilogue.args()[1], ey = epilogue.args()[2];
    epilogue.compute_at(out, lane)
        .bound_extent(ec, 1)
        .bound_extent(ex, T.xs)
        .bound_extent(ey, T.rows)
        .unroll(ex)
        .unroll(ey);
    specialize_on_activation(epilogue, kind, knobs.activation_kinds, from_output);

    // x innermost: the 6 x 6 footprint of 3x3 stride 1 is 6 rows' addresses, not 36.
    compute_copy_first(padded, CopyLayout::x_innermost);

    Var ac = acc.args()[0], ax = acc.args()[1], ay = acc.args()[2];
    acc.compute_at(out, lane)
        .store_in(MemoryType::Register)
        .bound_extent(ac, 1)
        .bound_extent(ax, T.xs)
        .bound_extent(ay, T.rows)
        .unroll(ax)
        .unroll(ay);

    const std::vector<KernelShape> unrolled = kernel_shapes({1, 2, 3, 5}, {1, 2});
    const std::vector<Stage> stages =
        specialize_on_kernel_shapes(acc, kernel_width, kernel_height, stride, unrolled, {1, 2});
    for (size_t i = 0; i < stages.size(); i++) {
        // The channel loop outermost, then the taps, then the tile: one channel's inputs and
        // filter values are loaded once and used by every sum that needs them.
        Stage st = stages[i];
        st.reorder(ax, ay, kx, ky, channel).unroll(ax).unroll(ay);
        if (i < unrolled.size()) st.unroll(kx).unroll(ky);
    }
}

// The backward-weights without shared memory, the default since 2026-12-07 (not yet timed on a GPU;
// gpu.staged:1 builds the staged one). For each tap (kx, ky) it is a matrix product, filter_grad
// (co, ci) = sum over positions p of output_grad (co, p) x input (ci, p + tap), scheduled as one:
// a thread sums a register tile of 4 consecutive co x 8 consecutive ci over its share of the
// positions, reading both operands through the cache (12 loads for 32 FMAs a position, from copies
// of the zero-padded input and the channel-clamped output gradient written first), stores that tile
// of its partial gradient, and goes on to the next tap. A warp is 8 co threads x 4 ci
// threads, so that one load of a warp reads one 128-byte line of the output gradient or of the
// input, and a block (one warp) covers 32 co x 32 ci, a divisor of wide layers' channel counts (96,
// 192). Inputs of at most 8 channels (a first layer's 1 or 3) take 32 co threads x 1 instead, a
// block of 128 co x 8 ci, to waste fewer sums on channels that are not there. The taps are a loop
// in the thread, not a grid dimension: Halide 14 cannot bound a register tile's tap to one value
// when the tap comes from a fused block index, and indexes the tile with it (local memory).
//
// The shares are runs of rows of the batch's images taken one after the other, not whole images:
// the staged schedule's shares of images left a first layer too few threads (at 3 -> 96 channels
// it ran at 179 GFLOP/s on an H200, 1 -> 200 at 5x5 at 85). Their number is chosen to give the GPU
// about 2^18 threads, bounded by the rows there are and by 128 MB of partial gradients; a
// last kernel sums the partials in a fixed order.
//
// The knobs gpu.tile_co and gpu.tile_ci change a thread's tile; a warp keeps 32 consecutive co (one
// line) across its co threads, 32 / tile_co of them. The direct-large-tile kernels take 8 x 8: 16
// loads for 64 FMAs a position, on blocks of 32 co x 64 ci.
struct GpuCachedWeightsTile {
    static constexpr int warp = 32;
    static constexpr int narrow_co_threads = warp;  // inputs of at most `ci` channels
    int co = 4, ci = 8;                             // sums a thread
    int co_threads() const { return warp / co; }    // a warp's, and a block's
    int ci_threads() const { return warp / co_threads(); }

    static GpuCachedWeightsTile from_knobs(const ScheduleParams &p) {
        GpuCachedWeightsTile t;
        t.co = p.get("tile_co", t.co);
        t.ci = p.get("tile_ci", t.ci);
        check_knob(t.co == 2 || t.co == 4 || t.co == 8, "hnn: gpu.tile_co is 2, 4 or 8 (a warp's 32 co)");
        check_knob(t.ci >= 1 && t.co * t.ci <= 64, "hnn: gpu.tile_co x gpu.tile_ci is at most 64 sums a thread");
        return t;
    }
};

// filter_grad (co, kx, ky, ci) = dw = sum over r = (x, y, n) of output_grad (co, r.x, r.y, r.z) x
// the padded input at the tap.
inline void schedule_conv2d_backward_weights_gpu_cached(Halide::Func filter_grad, Halide::Func dw, Halide::RDom r,
                                                        Halide::Func input_padded, Halide::Func output_grad,
                                                        Halide::Expr batch, Halide::Expr channels_out,
                                                        Halide::Expr channels_in, Halide::Expr taps,
                                                        const GpuCachedWeightsTile &T = GpuCachedWeightsTile()) {
    using namespace Halide;
    compute_copy_first(input_padded);
    compute_copy_first(output_grad);
    Expr narrow = channels_in <= T.ci;
    Expr block_co = select(narrow, T.narrow_co_threads, T.co_threads()) * T.co;
    Expr block_ci = select(narrow, 1, T.ci_threads()) * T.ci;
    Expr rounded_co = (channels_out + block_co - 1) / block_co * block_co;
    Expr rounded_ci = (channels_in + block_ci - 1) / block_ci * block_ci;
    Expr threads_per_share = (rounded_co / T.co) * (rounded_ci / T.ci);
    // What a share's partials take, with the tiles past the last channels (8 input channels for 1 in
    // a first layer): 256 x 8 x 25 elements at celu7's 1 -> 200 5x5 against its filter's 5,000.
    Expr share_elements = rounded_co * rounded_ci * taps;
    Expr rows = batch * r.y.extent();
    Expr shares = gpu_partial_gradient_shares(threads_per_share, share_elements, rows);
    // Provably positive, so that bounds inference can tell the shares' rows start at 0: the padded
    // input computed at root is realized over the rows they read.
    Expr rows_per_share = max(1, (rows + shares - 1) / shares);

    RVar all_rows("all_rows"), row_share("row_share"), row("row");
    Var v("share");
    dw.update()
        .fuse(r.y, r.z, all_rows)
        .split(all_rows, row_share, row, rows_per_share, TailStrategy::GuardWithIf);
    Func partial = dw.update().rfactor(row_share, v);
    sum_partial_gradients_in_fixed_order(filter_grad, dw, row_share);

    // The partial gradients as a pure Func, so that a thread can compute its tile of them in
    // registers and store it once.
    Func tiles = partial.in(dw);
    std::vector<Var> a = tiles.args();  // (co, kx, ky, ci, share)
    Var cob("cob"), coi("coi"), cot("cot"), coj("coj"), cib("cib"), cii("cii"), cit("cit"), cij("cij");
    tiles.compute_root();
    Stage narrow_tiles = tiles.specialize(narrow);
    for (bool narrow_tile : {true, false}) {
        Stage st = narrow_tile ? narrow_tiles : Stage(tiles);
        const int co_threads = narrow_tile ? T.narrow_co_threads : T.co_threads();
        const int ci_threads = narrow_tile ? 1 : T.ci_threads();
        // Past the last channel a tile reads clamped channels and its partials are not used.
        st.split(a[0], cob, coi, T.co * co_threads, TailStrategy::RoundUp)
            .split(coi, cot, coj, T.co)
            .split(a[3], cib, cii, T.ci * ci_threads, TailStrategy::RoundUp)
            .split(cii, cit, cij, T.ci)
            .reorder(coj, cij, a[1], a[2], cot, cit, a[4], cob, cib)
            // The shares in x, which CUDA allows 2^31 - 1 blocks (y and z: 65,535).
            .gpu_blocks(a[4], cob, cib)
            .gpu_threads(cot, cit)
            .unroll(coj)
            .unroll(cij);
    }

    // partial (co, kx, ky, ci, share). Every position's 4 + 8 loads feed all 32 sums before the next
    // position: the generated CUDA's loop is 53 instructions for 32 FMAs and 12 loads, each operand's
    // channels read at constant offsets from one address (66 reading the clamped output gradient
    // where it is, an address a channel; 115 reading the padding too).
    schedule_gpu_register_tile(partial, LoopLevel(tiles, a[1]), {T.co, 1, 1, T.ci, 1}, 0, 3, {r.x, row});
}

}  // namespace hnn
