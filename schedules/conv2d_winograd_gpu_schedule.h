#pragma once
// GPU schedules of the Winograd convolutions (generators/conv2d_winograd_algorithm.h), shared by
// CUDA and OpenCL: the forward and backward-data first, backward-weights at the end. Not yet timed
// on a GPU (written 2026-12-07 without one): the runtime takes them on a device only where
// --conv-algorithm asks for Winograd by name.
//
// Why Winograd on the GPU: the direct convolutions ran at 5.3-7.4 TFLOP/s on an H200 (11% of its
// fp32 peak), and PyTorch's fp32 step for allconv took a seventh of hnn's. F(4x4, 3x3) does a
// quarter of the direct sum's multiply-adds, and its multiply-adds are 36 independent matrix
// products, the shape a GPU runs best. The forward and backward-data are five kernels, all plain
// passes over memory but the fourth:
//   1. the zero-padded input, copied first as in the cached direct convolution;
//   2. the filter's transform G g G^T, one thread per (co, ci) computing all its points;
//   3. the input's transform B^T d B, one thread per (channel, tile) computing all its points from
//      the tile's block of the padded copy, stored with the tiles innermost;
//   4. per point, the matrix product (co x ci) by (ci x tiles): a thread sums a register tile of 8
//      consecutive co x 8 consecutive tiles over the channels, reading both operands through the
//      cache, each operand's 8 values at constant offsets from one address (the generated CUDA's
//      loop: 89 instructions for 64 FMAs and 16 loads a channel, no local memory); a warp (= block)
//      is 4 co x 8 tile threads, so that a load reads one or two 128-byte lines;
//   5. the output transform A^T M A with the activation (or its derivative) applied, one thread per
//      (channel, tile) writing its m x m outputs; the 32 lanes of a warp are 32 consecutive
//      channels, so that every load of the products and every store is one line.
// The products (co x tiles x points) and the transformed input make round trips through memory
// that the direct schedule does not: at allconv's 96 -> 192 channels on 32x32 at batch 128, F(4x4)'s
// products are 226 MB, about 0.05 ms of an H200's 4.8 TB/s each way, against the 5.9 ms the direct
// forward took there.

#include "Halide.h"

#include "activation_specialization.h"
#include "conv2d_gpu_cached_schedule.h"
#include "conv2d_winograd_algorithm.h"
#include "gpu_partial_gradient_sum.h"
#include "tile_bounds.h"

#include <set>
#include <vector>

namespace hnn {

// Which way a transform's warps run: along the tiles (the forward's and backward-data's input, read
// by the products along the tiles) or along the channels (backward-weights' operands, read along
// the channels).
enum class TransformLanes { tiles, channels };

// A separable transform (rows (c, t, row, nu, k), then transformed (c, t, xi, nu, k)) at root: a
// thread per (channel, tile) computes all the points x points values, its rows in registers (the
// input's rows are points, the output gradient's are outputs). Channels and tiles are rounded up to
// whole blocks: the generators clamp the channels, and the padded copies are zero past the images.
// Along the tiles, blocks are 32 tiles x 8 channels and the result is stored tiles innermost, so
// that a product thread's 8 tiles are 8 consecutive values (loaded at constant offsets from one
// address: the channels' stride is not a constant) and a warp's stores are whole lines; its reads
// of an x-innermost padded copy are 4 lines a load at F(4x4) (16 bytes apart), which the block's 8
// warps of neighbouring channels share through the cache. Along the channels, blocks are 32
// channels x 4 tiles, stored channels innermost.
inline void schedule_transform_all_points_gpu(const WinogradInputTransform &transform, int points,
                                              TransformLanes lanes) {
    using namespace Halide;
    const bool along_tiles = lanes == TransformLanes::tiles;
    Func rows = transform.rows, transformed = transform.transformed;
    std::vector<Var> v = transformed.args();  // (c, t, xi, nu, k)
    Var lane_var = along_tiles ? v[1] : v[0], other_var = along_tiles ? v[0] : v[1];
    Var lane_block("lane_block"), lane("lane"), other_block("other_block"), other("other");
    transformed.compute_root();
    if (along_tiles) transformed.reorder_storage(v[1], v[0], v[2], v[3], v[4]);
    transformed.bound(v[2], 0, points)
        .bound(v[3], 0, points)
        .split(lane_var, lane_block, lane, 32, TailStrategy::RoundUp)
        .split(other_var, other_block, other, along_tiles ? 8 : 4, TailStrategy::RoundUp)
        .reorder(v[2], v[3], lane, other, lane_block, other_block, v[4])
        .gpu_blocks(lane_block, other_block, v[4])
        .gpu_threads(lane, other)
        .unroll(v[2])
        .unroll(v[3]);
    std::vector<Var> r = rows.args();  // (c, t, row, nu, k)
    rows.compute_at(transformed, lane)
        .store_in(MemoryType::Register)
        .bound_extent(r[0], 1)
        .bound_extent(r[1], 1)
        .bound(r[3], 0, points)
        .bound_extent(r[4], 1)
        .unroll(r[2])
        .unroll(r[3]);
}

// A kernel of one thread per (co, ci) of f (f's dimensions `co` and `ci`) computing all its
// values x values (dimensions `a` and `b`, bounded to [0, values) and unrolled): the filter's
// transform at `points` x `points`, and the transform of its gradient back to 3 x 3. Warps of 32
// consecutive co, blocks of 32 co x 4 ci.
inline void schedule_per_channel_pair_gpu(Halide::Func f, int co, int ci, int a, int b, int values) {
    using namespace Halide;
    std::vector<Var> v = f.args();
    Var cob("cob"), coi("coi"), cib("cib"), cii("cii");
    f.bound(v[a], 0, values)
        .bound(v[b], 0, values)
        .split(v[co], cob, coi, 32, TailStrategy::GuardWithIf)
        .split(v[ci], cib, cii, 4, TailStrategy::GuardWithIf)
        .reorder(v[a], v[b], coi, cii, cob, cib)
        .gpu_blocks(cob, cib)
        .gpu_threads(coi, cii)
        .unroll(v[a])
        .unroll(v[b]);
}

struct WinogradGpuTile {
    static constexpr int co = 8, tiles = 8;                 // a thread's sums of the matrix product
    static constexpr int co_threads = 4, tile_threads = 8;  // a block: 32 co x 64 tiles, one warp
    static constexpr int lanes = 32;               // a warp: the output transform's channels
    static constexpr int transform_tiles = 4;      // the output transform's tiles a block
    // The algorithm's groups of images (define_conv2d_winograd): the whole batch in one, whose
    // tiles are the matrix products' columns.
    static constexpr int group_tiles = kWinogradWholeBatch;
};

// out (c, x, y, n) is the kernel's output, epilogue (c, x, y, n) the activation or its derivative,
// padded the zero-padded input the transforms read.
inline void schedule_conv2d_winograd_gpu(Halide::Func out, WinogradConv &w, Halide::Func padded,
                                         Halide::Func epilogue, Halide::Expr kind,
                                         const std::set<int> &activation_kinds,
                                         Halide::Expr from_output = Halide::Expr()) {
    using namespace Halide;
    using T = WinogradGpuTile;
    const int m = w.transforms->outputs, points = w.transforms->points;

    // 5. The output transform: a thread computes one channel of one tile, all of its m x m outputs.
    // The outputs' x and y start at 0 (hnn's tensors and views do), so that Halide can tell a
    // thread's positions lie in one tile (x / m is the same for all of them) and keep its tile's
    // sums in registers, not in memory indexed by the tile. (A Tuple's other buffers share the
    // first one's min.)
    out.output_buffers()[0].dim(1).set_min(0);
    out.output_buffers()[0].dim(2).set_min(0);
    Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
    Var cb("cb"), lane("lane"), xt("xt"), xa("xa"), yt("yt"), ya("ya"), xtb("xtb"), xtt("xtt"), ytn("ytn");
    out.split(c, cb, lane, T::lanes, TailStrategy::GuardWithIf)
        .split(x, xt, xa, m, TailStrategy::GuardWithIf)
        .split(y, yt, ya, m, TailStrategy::GuardWithIf)
        .split(xt, xtb, xtt, T::transform_tiles, TailStrategy::GuardWithIf)
        .reorder(xa, ya, lane, xtt, cb, xtb, yt, n)
        .fuse(yt, n, ytn)
        .gpu_blocks(cb, xtb, ytn)
        .gpu_threads(lane, xtt)
        .unroll(xa)
        .unroll(ya);

    Var ec = epilogue.args()[0], ex = epilogue.args()[1], ey = epilogue.args()[2];
    epilogue.compute_at(out, lane)
        .bound_extent(ec, 1)
        .bound_extent(ex, m)
        .bound_extent(ey, m)
        .unroll(ex)
        .unroll(ey);
    specialize_on_activation(epilogue, kind, activation_kinds, from_output);

    std::vector<Var> o = w.tiles.args();  // (co, a, b, T, group)
    w.tiles.compute_at(out, lane)
        .store_in(MemoryType::Register)
        .bound_extent(o[0], 1)
        .bound(o[1], 0, m)
        .bound(o[2], 0, m)
        .bound_extent(o[3], 1)
        .bound_extent(o[4], 1)
        .unroll(o[1])
        .unroll(o[2]);
    RVar point_x = w.points[0], point_y = w.points[1], tile_a = w.points[2], tile_b = w.points[3];
    // Unrolled, each point's coefficients are constants: the zero ones vanish with their `where`.
    w.tiles.update().unroll(tile_a).unroll(tile_b).unroll(point_y).unroll(point_x);

    // 4. The matrix products, at root through a wrapper so that a thread computes its tile of them
    // in registers and stores it once.
    Func products = w.product.in(w.tiles);
    std::vector<Var> p = products.args();  // (co, T, xi, nu, group)
    Var cob("cob"), coi("coi"), cot("cot"), coj("coj"), tb("tb"), ti("ti"), tt("tt"), tj("tj"), point("point"),
        point_group("point_group");
    // Past the last channel and tile a register tile reads clamped channels and repeated tiles (the
    // algorithm's clamps), and its sums are not read.
    products.compute_root()
        .split(p[0], cob, coi, T::co * T::co_threads, TailStrategy::RoundUp)
        .split(coi, cot, coj, T::co)
        .split(p[1], tb, ti, T::tiles * T::tile_threads, TailStrategy::RoundUp)
        .split(ti, tt, tj, T::tiles)
        .fuse(p[2], p[3], point)
        .fuse(point, p[4], point_group)
        .reorder(coj, tj, cot, tt, cob, tb, point_group)
        .gpu_blocks(cob, tb, point_group)
        .gpu_threads(cot, tt)
        .unroll(coj)
        .unroll(tj);
    // product (co, T, xi, nu, group); the channel loop outermost: each channel's 8 + 8 loads feed
    // all 64 sums.
    schedule_gpu_register_tile(w.product, LoopLevel(products, cot), {T::co, T::tiles, 1, 1, 1}, 0, 1, {w.channels});

    // 3. The input's transform.
    schedule_transform_all_points_gpu(w.input, points, TransformLanes::tiles);
    // 1. The padded input, copied first, x innermost: the input transform's lanes (consecutive
    // tiles) then read 4 lines a load (F(4x4): 16 bytes apart), not 32.
    compute_copy_first(padded, CopyLayout::x_innermost);

    // 2. The filter's transform (co, ci, xi, nu).
    w.filter_transformed.compute_root();
    schedule_per_channel_pair_gpu(w.filter_transformed, 0, 1, 2, 3, points);
}

// The Winograd backward-weights on the GPU. Per point, the filter's transformed gradient is a matrix
// product over the batch's tiles, (co x tiles) by (tiles x ci), scheduled as the cached direct
// backward-weights' (conv2d_gpu_cached_schedule.h): a thread sums a register tile of 4 consecutive
// co x 8 consecutive ci over a share of the images' tiles, a warp (= block) is 8 x 4 threads
// covering 32 x 32 channels so that each load is one 128-byte line, and the shares' partial sums
// are added in a fixed order by a kernel of their own. Before it, the input and the output gradient
// are transformed at all points (one thread per channel and tile, the channels a warp's lanes);
// after it, G^T M G back to 3x3, one thread per (co, ci). The generated CUDA's loop is 53
// instructions for 32 FMAs and 12 loads a tile, no local memory.
inline void schedule_conv2d_winograd_backward_weights_gpu(Halide::Func filter_grad, WinogradFilterGradient &w,
                                                          Halide::Func input_padded, Halide::Func output_grad_padded,
                                                          Halide::Expr batch, Halide::Expr channels_out,
                                                          Halide::Expr channels_in) {
    using namespace Halide;
    const GpuCachedWeightsTile T;  // the same register tile and warp (no narrow case)
    const int points = w.transforms->points;

    // The transforms, at all points.
    compute_copy_first(input_padded);
    compute_copy_first(output_grad_padded);
    schedule_transform_all_points_gpu(w.input, points, TransformLanes::channels);
    schedule_transform_all_points_gpu({w.output_grad_rows, w.output_grad_transformed}, points,
                                      TransformLanes::channels);

    // Shares of whole images, so that a thread walks its tiles and images with addresses that step
    // by constants. As many as give the GPU about 2^18 threads, within 128 MB of partial sums.
    Expr block_co = T.co * T.co_threads(), block_ci = T.ci * T.ci_threads();
    Expr rounded_co = (channels_out + block_co - 1) / block_co * block_co;
    Expr rounded_ci = (channels_in + block_ci - 1) / block_ci * block_ci;
    Expr threads_per_share = (rounded_co / T.co) * (rounded_ci / T.ci) * points * points;
    Expr share_elements = rounded_co * rounded_ci * points * points;
    Expr shares = gpu_partial_gradient_shares(threads_per_share, share_elements, batch);
    Expr images_per_share = max(1, (batch + shares - 1) / shares);
    RVar share("images_share"), image("image_in_share");
    Var s("share");
    w.transformed_grad.update().split(w.tiles.y, share, image, images_per_share, TailStrategy::GuardWithIf);
    Func partial = w.transformed_grad.update().rfactor(share, s);

    // The partial sums as a pure Func, so that a thread computes its tile of them in registers and
    // stores it once. Past the last channel a tile reads clamped channels; its sums are not used.
    Func partial_tiles = partial.in(w.transformed_grad);
    std::vector<Var> a = partial_tiles.args();  // (co, ci, xi, nu, share)
    Var cob("cob"), coi("coi"), cot("cot"), coj("coj"), cib("cib"), cii("cii"), cit("cit"), cij("cij"), point("point"),
        point_share("point_share");
    partial_tiles.compute_root()
        .fuse(a[2], a[3], point)
        .fuse(point, a[4], point_share)
        .split(a[0], cob, coi, block_co, TailStrategy::RoundUp)
        .split(coi, cot, coj, T.co)
        .split(a[1], cib, cii, block_ci, TailStrategy::RoundUp)
        .split(cii, cit, cij, T.ci)
        .reorder(coj, cij, cot, cit, cob, cib, point_share)
        // Points and shares in x, which CUDA allows 2^31 - 1 blocks (y and z: 65,535).
        .gpu_blocks(point_share, cob, cib)
        .gpu_threads(cot, cit)
        .unroll(coj)
        .unroll(cij);
    schedule_gpu_register_tile(partial, LoopLevel(partial_tiles, cot), {T.co, T.ci, 1, 1, 1}, 0, 1,
                               {w.tiles.x, image});

    // The shares' sum in a fixed order, one thread per (co, ci, point), and the transform back to
    // 3x3, one thread per (co, ci).
    Func sums = w.transformed_grad.in(w.filter_grad);
    std::vector<Var> g = sums.args();  // (co, ci, xi, nu)
    Var gp("gp");
    sums.compute_root().fuse(g[2], g[3], gp);
    sum_partial_gradients_in_fixed_order(sums, w.transformed_grad, share, g[0], g[1], {gp});

    schedule_per_channel_pair_gpu(filter_grad, 0, 3, 1, 2, 3);  // (co, kx, ky, ci)
}

}  // namespace hnn
