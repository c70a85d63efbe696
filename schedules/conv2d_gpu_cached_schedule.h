#pragma once
// The GPU forward and backward-data without shared memory, the default since 2026-12-07 (not yet
// timed on a GPU; gpu.staged:1 builds the staged schedule of conv2d_gpu_schedule.h instead): each
// thread sums one output channel at a tile of positions over the whole reduction in its registers,
// reading the input and the filter through the cache, as apps/cuda_mat_mul's schedule reads its
// matrices. The staged schedule keeps a block's sums in shared memory across its channel chunks
// (Halide 14 cannot give each thread its slice of a block-level register allocation without
// gpu_lanes, which only CUDA lowers), so every chunk costs two barriers and a pass through shared
// memory, and its shared allocation caps an H200 at 5 blocks a multiprocessor (15% occupancy
// measured at 4 rows, 10% of the fp32 peak). Here nothing is shared and nothing waits: occupancy is
// bounded by registers alone.
//
// The layout follows apps/conv_layer's GPU schedule: the 32 lanes of a warp are 32 consecutive
// output channels at the same positions, so a filter load is one coalesced 128-byte line and an
// input load one value broadcast to the warp. A block is 32 channels x 2 x 2 warps, each warp a
// tile of gpu.tile_x x positions by gpu.tile_y rows (4 x 4 by default). Kernel sizes 1, 2, 3 and 5
// at strides 1 and 2 are specializations with the taps unrolled, so that the compiler loads each
// input value once for every tap and position using it: the generated CUDA forward's loop over
// channels at 3x3 stride 1 is 144 FMAs, 45 loads (the 6 x 6 input footprint and 9 filter values)
// and 373 instructions; backward-data's 144 FMAs and 58 loads. Other shapes loop over the taps.

#include "Halide.h"

#include "activation_specialization.h"
#include "kernel_shape_specializations.h"
#include "schedule_params.h"

#include <vector>

namespace hnn {

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

// out, acc, epilogue, channel, kx, ky, kernel_width, kernel_height, stride, kind and from_output as
// GpuConvLike's (conv2d_gpu_schedule.h); the weights and the padded input are read where they are.
inline void schedule_conv_like_gpu_cached(Halide::Func out, Halide::Func acc, Halide::Func epilogue,
                                          Halide::RVar channel, Halide::RVar kx, Halide::RVar ky,
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

    Var ac = acc.args()[0], ax = acc.args()[1], ay = acc.args()[2];
    acc.compute_at(out, lane)
        .store_in(MemoryType::Register)
        .bound_extent(ac, 1)
        .bound_extent(ax, T.xs)
        .bound_extent(ay, T.rows)
        .unroll(ax)
        .unroll(ay);

    const std::vector<KernelShape> unrolled = kernel_shapes({1, 2, 3, 5}, {1, 2});
    const std::vector<Stage> stages = specialize_on_kernel_shapes(acc, kernel_width, kernel_height, stride, unrolled);
    for (size_t i = 0; i < stages.size(); i++) {
        // The channel loop outermost, then the taps, then the tile: one channel's inputs and
        // filter values are loaded once and used by every sum that needs them.
        Stage st = stages[i];
        st.reorder(ax, ay, kx, ky, channel).unroll(ax).unroll(ay);
        if (i < unrolled.size()) st.unroll(kx).unroll(ky);
    }
}

}  // namespace hnn
