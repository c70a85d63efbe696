#pragma once
// GPU schedules of the convolution kernels, shared by CUDA and OpenCL (plain gpu_threads: no warp
// shuffles, which Halide 14 only lowers for CUDA).
//
// Forward and backward-data (the same shape: out (c, x, y, n) = epilogue(acc), acc reducing over a
// channel RVar and kx, ky) run the cached schedule of conv2d_gpu_cached_schedule.h, or with the knob
// gpu.staged:1 the staged one below, the one measured on an H200 on 2026-11-30. Staged: a block
// computes 32 channels x 4 x positions x 8 rows of one image with 16 x 8 threads, each thread a
// register tile of 2 channels x 4 x positions (the knobs gpu.tile_c, gpu.tile_x and gpu.tile_y
// change the channels and x positions per thread and the rows per block, one per thread row;
// GpuConvTile). The channel reduction runs in chunks; per chunk the block
// stages the chunk's input footprint and filter slice in shared memory (loaded cooperatively,
// coalesced along channels), every thread sums the chunk into its registers (an rfactor over the
// chunks; the taps and pairs of channels unrolled, so that each staged value is loaded once for
// every tap and x position using it), then adds them to the block's accumulator in shared memory.
// Each kernel size 1, 2, 3 at stride 1 and 2 is a specialization, so the footprints and the shared
// allocations are constants; other shapes take a fallback with the same register tiles reading
// global memory. The activation (or its derivative) is a Func computed per register tile and
// specialized on its kind there, so the convolution exists once per shape, not once per kind.
//
// Backward-weights (with gpu.staged:1; by default the cached schedule of
// conv2d_gpu_cached_schedule.h): partial gradients per share of the images (an rfactor), each block
// a tile of 64 co x 16 ci for one (kx, ky) and one share, 4 co x 4 ci per thread (32 co x 8 ci, 2 x
// 2, for inputs of at most 8 channels); per run of 32 x positions of a row it stages that run of the
// output gradient and the matching input in shared memory. A last kernel sums the partials in a
// fixed order: results do not depend on how blocks are scheduled.

#include "Halide.h"

#include "activation_specialization.h"
#include "conv2d_gpu_cached_schedule.h"
#include "gpu_partial_gradient_sum.h"
#include "kernel_shape_specializations.h"
#include "schedule_params.h"
#include "tile_bounds.h"

#include <string>
#include <vector>

namespace hnn {

using Halide::Expr;

// A forward or backward-data block: channel_threads x rows threads, each a register tile of
// channels_per_thread channels x xs positions of one row.
//
// Rows per block: 8 since 2026-12-07, 4 before (gpu.tile_y:4), not yet timed on a GPU. The shared
// allocation is one per kernel, sized for its largest specialization, and it bounds how many blocks
// a multiprocessor holds: the generated CUDA forward asks 38,912 bytes a block at 4 rows and 40,960
// at 8 (backward-data 41,216 and 45,056), so an H100 or H200 (228 KB a multiprocessor) holds 5
// blocks of 64 threads at 4 rows (Nsight measured 15% occupancy on an H200) and 5 of 128 at 8, for
// both kernels. Twice the rows share each chunk's staged filter slice, the larger stage. The cost:
// images of 28 rows (celu7's second layer) compute 32 at 8 rows a block, 28 at 4.
struct GpuConvTile {
    static constexpr int channel_threads = 16;
    int channels_per_thread = 2;  // gpu.tile_c
    int xs = 4;                   // gpu.tile_x: x positions per thread (and per block)
    int rows = 8;                 // gpu.tile_y: rows per block, one per thread row
    int channels() const { return channels_per_thread * channel_threads; }  // output channels per block

    // The hand-picked tile, or the one the knobs name. Each knob is bounded so that a tile's
    // accumulators stay in registers and a block within CUDA's 1024 threads; the shared memory a
    // tile asks is known only once lowered, and the build checks it (CheckCudaSharedMemory.cmake).
    static GpuConvTile from_knobs(const ScheduleParams &p) {
        GpuConvTile t;
        t.channels_per_thread = p.get("tile_c", t.channels_per_thread);
        t.xs = p.get("tile_x", t.xs);
        t.rows = p.get("tile_y", t.rows);
        check_knob(t.channels_per_thread * t.xs <= 64,
                   "hnn: gpu.tile_c x gpu.tile_x is at most 64 accumulators a thread");
        check_knob(t.rows <= 32, "hnn: gpu.tile_y is at most 32 rows (16 x 32 threads a block)");
        check_knob(!p.has("chunk_channels"), "hnn: chunk_channels is not a knob of the GPU schedule");
        return t;
    }
};

// A Func computed at `at` (a block-level loop) into shared memory by a block's 16 x `thread_rows`
// threads: its region flattened in storage order, consecutive threads on consecutive elements.
// `extents` bound the region (every read in it is clamped or zero-padded): with a constant
// allocation the host does not have to walk the loop nest to size the shared memory.
inline void stage_in_shared(Halide::Func f, const Halide::LoopLevel &at, const std::vector<int> &extents,
                            int thread_rows) {
    using namespace Halide;
    std::vector<Var> a = f.args();
    Var f01("f01"), f012("f012"), all("all"), rest("rest"), rest_o("rest_o"), tx("stage_tx"), ty("stage_ty");
    bound_extents(f, extents)
        .compute_at(at)
        .store_in(MemoryType::GPUShared)
        .fuse(a[0], a[1], f01)
        .fuse(f01, a[2], f012)
        .fuse(f012, a[3], all)
        .split(all, rest, tx, GpuConvTile::channel_threads, TailStrategy::GuardWithIf)
        .split(rest, rest_o, ty, thread_rows, TailStrategy::GuardWithIf)
        .reorder(rest_o, tx, ty)
        .gpu_threads(tx, ty);
}

// The channel-chunk size of a staged kernel size: with the hand-picked tile, the filter slice
// (32 x k x k x chunk) and the input footprint (chunk x (3 s + k) x (7 s + k)) together stay under
// 32 KB, and the kernel's whole shared allocation under CUDA's default limit of 48 KB a block.
inline int gpu_conv_chunk(int k) {
    return k == 1 ? 32 : k <= 3 ? 16 : 4;
}

// What schedule_conv_like_gpu needs of a forward or backward-data pipeline.
struct GpuConvLike {
    Halide::Func out;         // pure (c, x, y, n), the kernel's output
    Halide::Func acc;         // the accumulator, init + one update over r
    Halide::Func epilogue;    // activation or derivative, (c, x, y, n), specialized on `kind`
    Halide::Func weights;     // read by the update (filter_bounded / filter_t)
    Halide::Func padded;      // the zero-padded input of the update
    Halide::RVar channel, kx, ky;  // the reduction's RVars
    Expr kernel_width, kernel_height, stride, kind;
    bool backward_data;  // padded is read at (x + pad - k) / stride: staged at stride 1 only
    Expr from_output = Expr();  // backward-data: whether the derivative reads y (activation_derivative)
};

inline void schedule_conv_like_gpu(GpuConvLike s, const ScheduleKnobs &knobs) {
    using namespace Halide;
    if (s.backward_data) {
        std::vector<Var> w = s.weights.args();
        Var wk("wk"), wkc("wkc"), wo("wo"), wi("wi"), wko("wko"), wki("wki");
        s.weights.compute_root()
            .fuse(w[1], w[2], wk)
            .fuse(wk, w[3], wkc)
            // A kernel of its own: its thread tile need not follow the convolution's knobs.
            .gpu_tile(w[0], wkc, wo, wko, wi, wki, 32, 4, TailStrategy::GuardWithIf);
    }
    if (!knobs.params.has("staged")) {
        schedule_conv_like_gpu_cached(s.out, s.acc, s.epilogue, s.padded, s.channel, s.kx, s.ky, s.kernel_width,
                                      s.kernel_height, s.stride, s.kind, s.from_output, knobs);
        return;
    }
    check_knob(knobs.params.get("staged", 1) == 1, "hnn: gpu.staged is 1 or absent");
    const GpuConvTile T = GpuConvTile::from_knobs(knobs.params);
    const int per_thread = T.channels_per_thread;
    Var c = s.out.args()[0], x = s.out.args()[1], y = s.out.args()[2], n = s.out.args()[3];
    Var cb("cb"), ci("ci"), ct("ct"), cj("cj"), xb("xb"), xi("xi"), yb("yb"), yi("yi"), ybn("ybn");

    s.out.split(c, cb, ci, T.channels(), TailStrategy::GuardWithIf)
        .split(ci, ct, cj, per_thread)
        .split(x, xb, xi, T.xs, TailStrategy::GuardWithIf)
        .split(y, yb, yi, T.rows, TailStrategy::GuardWithIf)
        .reorder(cj, xi, ct, yi, cb, xb, yb, n)
        .fuse(yb, n, ybn)
        .gpu_blocks(cb, xb, ybn)
        .gpu_threads(ct, yi)
        .unroll(cj)
        .unroll(xi);

    Var ec = s.epilogue.args()[0], ex = s.epilogue.args()[1];
    s.epilogue.compute_at(s.out, ct)
        .bound_extent(ec, per_thread)
        .bound_extent(ex, T.xs)
        .unroll(ec)
        .unroll(ex);
    specialize_on_activation(s.epilogue, s.kind, knobs.activation_kinds, s.from_output);

    // The block's accumulator, in shared memory. Tiles past the end of c, x or y are computed whole
    // (everything the accumulator reads is clamped or zero-padded) and stored partially.
    // Not in registers across the chunks: Halide 14 gives a block-level MemoryType::Register
    // allocation whole to every thread (a 64 x 16 tile became a 4 KB local array per thread in the
    // PTX, 2026-12-07), so each thread keeps only a chunk's sums in registers.
    Var ac = s.acc.args()[0], ax = s.acc.args()[1], ay = s.acc.args()[2], an = s.acc.args()[3];
    s.acc.compute_at(s.out, cb)
        .store_in(MemoryType::GPUShared)
        .bound_extent(ac, T.channels())
        .bound_extent(ax, T.xs)
        .bound_extent(ay, T.rows)
        .split(ac, ct, cj, per_thread)
        .reorder(cj, ax, ct, ay, an)
        .gpu_threads(ct, ay)
        .unroll(cj)
        .unroll(ax);

    // 5x5 is not staged: it matches the CPU on PoCL 3.1 with POCL_WORK_GROUP_METHOD=loops, but PoCL's
    // default method (loopvec) crashes in that specialization's vectorized stores; it takes the
    // fallback so that the OpenCL build runs on PoCL as Debian installs it.
    const std::vector<KernelShape> staged = kernel_shapes({1, 2, 3}, {1, 2});
    std::vector<Stage> stages = specialize_on_kernel_shapes(s.acc, s.kernel_width, s.kernel_height, s.stride, staged);

    Var u("chunk");
    for (size_t i = 0; i < stages.size(); i++) {
        const bool is_staged = i < staged.size();
        const int chunk = is_staged ? gpu_conv_chunk(staged[i].k) : 16;
        // Names of their own: specializations sharing a split's name share its loop bounds, whatever
        // the factor.
        const std::string suffix = is_staged ? "_k" + std::to_string(staged[i].k) + "s" + std::to_string(staged[i].stride) : "";
        RVar rco("rco" + suffix), rci("rci" + suffix);
        Stage st = stages[i];
        st.split(s.channel, rco, rci, chunk, TailStrategy::GuardWithIf);
        // Each thread sums a chunk in registers and adds it to the shared accumulator once.
        Func partial = st.rfactor(rco, u);
        st.split(ac, ct, cj, per_thread)
            .reorder(cj, ax, ct, ay, rco, an)
            .gpu_threads(ct, ay)
            .unroll(cj)
            .unroll(ax);

        std::vector<Var> p = partial.args();  // (c, x, y, n, chunk)
        partial.compute_at(s.acc, ct)
            .bound_extent(p[0], per_thread)
            .bound_extent(p[1], T.xs)
            .unroll(p[0])
            .unroll(p[1]);
        if (!is_staged) {
            partial.update().reorder(p[0], p[1], rci, s.kx, s.ky).unroll(p[0]).unroll(p[1]);
            continue;
        }
        // The taps and pairs of channels unrolled (fours at 1x1, which has one tap): neighbouring
        // taps read overlapping inputs and adjacent channels are adjacent in both stages, so the
        // compiler loads each value once (as 64- or 128-bit loads) for the taps and x positions
        // that use it. The generated CUDA forward's loop at 3x3 stride 1: 144 FMAs, 36 shared loads
        // and 185 instructions, where one pair of channels and one tap was 16, 6 and 30. The values
        // in flight cost registers, which are not what limits occupancy: the shared allocation
        // holds an H100 to 5 blocks of 128 threads, which leaves up to 96 registers a thread.
        const int k = staged[i].k, stride = staged[i].stride;
        RVar rci_pair("rci_pair" + suffix), rci_pairs("rci_pairs" + suffix);
        partial.update()
            .split(rci, rci_pairs, rci_pair, k == 1 ? 4 : 2)
            .reorder(p[0], p[1], s.kx, rci_pair, s.ky, rci_pairs)
            .unroll(p[0])
            .unroll(p[1])
            .unroll(s.kx)
            .unroll(rci_pair)
            .unroll(s.ky);
        const LoopLevel chunk_loop(s.acc, rco);
        stage_in_shared(s.weights.in(partial), chunk_loop, {T.channels(), k, k, chunk}, T.rows);
        // The forward reads x s + kx - pad, x over the tile's positions (and y over its rows);
        // backward-data reads x + pad - kx (stride 1; at stride 2 the division's footprint is not a
        // constant).
        const int footprint_x = s.backward_data ? T.xs - 1 + k : (T.xs - 1) * stride + k;
        const int footprint_y = s.backward_data ? T.rows - 1 + k : (T.rows - 1) * stride + k;
        if (!s.backward_data || stride == 1) {
            stage_in_shared(s.padded.in(partial), chunk_loop, {chunk, footprint_x, footprint_y, 1}, T.rows);
        }
    }
}

// A backward-weights block's tile: per thread `co` output channels x `ci` input channels of one
// (kx, ky), over 16 x 4 threads (the staging's thread shape), so a block holds 16 co x 4 ci of them.
struct GpuWeightsTile {
    static constexpr int co_threads = GpuConvTile::channel_threads, ci_threads = 4;
    int co, ci;
    int block_co() const { return co * co_threads; }
    int block_ci() const { return ci * ci_threads; }
};

// filter_grad (co, kx, ky, ci) = dw = sum over r = (x, y, n). `parts` shares of the images, each
// summed into its own partial gradient; `filter_elements` bounds the partials' memory.
inline void schedule_conv2d_backward_weights_gpu_staged(Halide::Func filter_grad, Halide::Func dw, Halide::RDom r,
                                                        Halide::Func input_padded, Halide::Func output_grad,
                                                        Expr batch, Expr filter_elements, Expr stride,
                                                        Expr channels_in) {
    using namespace Halide;
    constexpr int run = 32;
    // 4 x 4 per thread: 8 shared loads feed 16 FMAs. A first layer's 1 or 3 input channels would
    // leave most of a 16-channel tile empty: there each thread takes 2 x 2 (a block 32 co x 8 ci).
    // 8 co x 1 ci, which wastes no lane, was slower on an H200 (6.8 against 3.8 ms at 3 -> 96
    // channels, batch 128): 9 loads per 8 FMAs.
    const GpuWeightsTile wide{4, 4}, narrow{2, 2};
    // Enough shares to fill the GPU: up to about 128 MB of partials. Each launch (one kx, ky) has
    // co/64 x ci/16 x shares blocks, which with a 16 MB budget was 576 blocks at 192 channels,
    // batch 128: four or five 64-thread blocks for each of an H200's 132 multiprocessors.
    // A share must divide the batch: a last share past the end would stage images that are not
    // there (the staging is not under the tail's guard). So it is the largest power of two up to
    // the wanted size that does, at worst 1 (one share per image).
    Expr parts = max(1, min(batch, (32 << 20) / max(filter_elements, 1)));
    Expr wanted = (batch + parts - 1) / parts;
    Expr share = 1;
    for (int s : {2, 4, 8, 16, 32}) share = select(wanted >= s && batch % s == 0, s, share);
    RVar images_outer("images_outer"), images_inner("images_inner"), rxo("run"), rxi("run_x");
    Var v("share");
    dw.update().split(r.z, images_outer, images_inner, share, TailStrategy::GuardWithIf);
    Func partial = dw.update().rfactor(images_outer, v);
    sum_partial_gradients_in_fixed_order(filter_grad, dw, images_outer);

    // Blocks over (co tile, ci tile, share); kx and ky are host loops, so every (kx, ky) is a launch
    // whose blocks read one shifted window of the input.
    std::vector<Var> a = partial.args();  // (co, kx, ky, ci, share)
    Var coo("coo"), coi("coi"), cot("cot"), coj("coj"), cio("cio"), cii("cii"), cit("cit"), cij("cij");
    partial.compute_root()
        .split(a[0], coo, coi, wide.block_co(), TailStrategy::RoundUp)
        .split(a[3], cio, cii, wide.block_ci(), TailStrategy::RoundUp)
        .reorder(coi, cii, coo, cio, a[4], a[1], a[2])
        .gpu_blocks(coo, cio, a[4])
        .gpu_threads(coi, cii);

    // Stride 1 and 2 stage the input run in shared memory (its footprint is then a constant);
    // other strides read it from global memory. Every specialization is made before any is
    // scheduled: each copies the unscheduled update.
    struct Variant {
        GpuWeightsTile tile;
        int stride;  // 0: any stride, the input read from global memory
        Expr applies;  // undefined: the general case, the last
    };
    std::vector<Variant> variants;
    for (bool is_narrow : {true, false}) {
        for (int st : {1, 2, 0}) {
            Expr applies = st ? stride == st : Expr();
            if (is_narrow) {
                Expr narrow_input = channels_in <= narrow.block_ci();
                applies = applies.defined() ? narrow_input && applies : narrow_input;
            }
            variants.push_back({is_narrow ? narrow : wide, st, applies});
        }
    }
    std::vector<Stage> stages;
    for (const Variant &v : variants) {
        stages.push_back(v.applies.defined() ? partial.update().specialize(v.applies) : partial.update());
    }
    Var w_n("w_n"), w_y("w_y"), w_x("w_x");
    for (size_t i = 0; i < stages.size(); i++) {
        const GpuWeightsTile tile = variants[i].tile;
        Stage st = stages[i];
        st.split(r.x, rxo, rxi, run, TailStrategy::GuardWithIf);
        // Each thread sums a run in registers and adds it to the partial once.
        Func row = st.rfactor({{images_inner, w_n}, {r.y, w_y}, {rxo, w_x}});
        st.split(a[0], coo, coi, tile.block_co(), TailStrategy::RoundUp)
            .split(coi, cot, coj, tile.co)
            .split(a[3], cio, cii, tile.block_ci(), TailStrategy::RoundUp)
            .split(cii, cit, cij, tile.ci)
            .reorder(coj, cij, cot, cit, rxo, r.y, images_inner, coo, cio, a[4], a[1], a[2])
            .gpu_blocks(coo, cio, a[4])
            .gpu_threads(cot, cit)
            .unroll(coj)
            .unroll(cij);

        std::vector<Var> b = row.args();  // (co, kx, ky, ci, share, w_n, w_y, w_x)
        row.compute_at(partial, cot)
            .bound_extent(b[0], tile.co)
            .bound_extent(b[3], tile.ci)
            .unroll(b[0])
            .unroll(b[3]);
        // Four positions an iteration: the generated CUDA's loop is 64 FMAs, 8 shared loads and 77
        // instructions at 4 x 4 (16, 2 and 23 one position at a time), 16, 8 and 29 at 2 x 2.
        row.update().reorder(b[0], b[3], rxi).unroll(b[0]).unroll(b[3]).unroll(rxi, 4);

        const LoopLevel run_loop(partial, rxo);
        stage_in_shared(output_grad.in(row), run_loop, {tile.block_co(), run, 1, 1}, GpuWeightsTile::ci_threads);
        if (variants[i].stride) {
            stage_in_shared(input_padded.in(row), run_loop, {tile.block_ci(), (run - 1) * variants[i].stride + 1, 1, 1},
                            GpuWeightsTile::ci_threads);
        }
    }
}

}  // namespace hnn
