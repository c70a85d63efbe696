#pragma once
// CPU schedule of the Winograd convolutions (generators/conv2d_winograd_algorithm.h).
//
// Threads take groups of whole images (one 28x28 image for F(2x2), or several small ones: see
// winograd_register_tile). Per group, the transform points (16 for F(2x2), 36 for F(4x4)) run one
// after another, unrolled so that each point's transform coefficients are constants (many are 0 or
// +-1, and vanish or become additions). For each point:
//   - F(2x2): the group's tiles are transformed at that point into a buffer (ci x tiles, 157 KB
//     at 200 channels of 28x28: in L2), from the group's padded copy, also in L2. F(4x4)
//     transforms the group's tiles at all points before the first point (separably, which per
//     point would take 25 of a tile's 36 inputs);
//   - for each block of tile_c output channels, whose transformed filter (tile_c x ci, 26 KB at
//     200 channels) stays in L1, and each group of tile_t tiles, a register tile of tile_c x
//     tile_t sums of the matrix product runs over ci: per channel, tile_c / 16 vector loads of the
//     filter and tile_t broadcasts of the input for as many multiply-adds as accumulators;
//   - the register tile is added into the outputs of its tiles that the point's coefficients
//     reach (the output transform, one point's share), which wait for the other points in a
//     per-group buffer (in L2).
// Then each row of the group's images is written with the activation (or its derivative) applied.

#include "Halide.h"

#include <set>
#include <utility>

#include "activation_specialization.h"
#include "conv2d_winograd_algorithm.h"
#include "register_sums.h"
#include "schedule_params.h"
#include "tile_bounds.h"

namespace hnn {

struct WinogradTile {
    int channel_vectors;  // vectors of output channels
    int tiles;            // Winograd tiles along the flattened tile index
    int group_tiles;      // a thread's group of images has at least this many tiles
};

// 2 x 7 = 14 accumulators on AVX-512: 200 channels compute 224 (3 vectors would compute 240), and
// 196 = 28 x 7 tiles of a 28x28 image compute no padded tile. Each transformed filter panel
// (2 vectors x ci, in L1) serves every tile of a group: a 16x16 image's 64 tiles alone are
// 10 register tiles (the last 1/7 used) per panel load; groups of whole images with at least 96
// tiles (2 such images, 6 of 7x7 or 8x8) give it 19 or more. F(4x4) transforms a group's input at
// all 36 points at once (see below), 36 x 4 bytes a tile and channel, yet the same groups measured
// best: on celu7's 28x28 (49 tiles of 4x4), groups of 2 images (2.8 MB at 200 channels, past L2)
// ran the forward in 95 ms, of one image 108 ms, of 4 images 115 ms.
// `hnn tune` may replace each value (knobs "tile_c", "tile_t", "group_tiles"; schedule_params.h).
inline WinogradTile winograd_register_tile(const Halide::Target &t, const ScheduleParams &knobs = {}) {
    const WinogradTile hand = t.has_feature(Halide::Target::AVX512_Skylake) ? WinogradTile{2, 7, 96}
                              : t.has_feature(Halide::Target::AVX2)         ? WinogradTile{2, 5, 96}
                                                                            : WinogradTile{2, 3, 96};
    return {knobs.get("tile_c", hand.channel_vectors), knobs.get("tile_t", hand.tiles),
            knobs.get("group_tiles", hand.group_tiles)};
}

inline const std::set<std::string> &winograd_knob_names() {
    static const std::set<std::string> names{"tile_c", "tile_t", "group_tiles"};
    return names;
}

// A separable transform (rows (c, t, i, nu, k), then transformed (c, t, xi, nu, k)) of all the
// points of a group's tiles, computed at `at` before the first point's matrix product. Per vector
// of channels and tile, the block's row_count transformed rows (points x row_count vectors) are
// held in registers and all the points written at once. Channels are computed in whole vectors
// past a multiple of channel_align, and tiles to a multiple of tile_align: as far as the register
// tiles read (the operands' channels are clamped, so the extra lanes read real data).
inline void schedule_transform_all_points(Halide::Func rows, Halide::Func transformed, int row_count, int points,
                                          int channel_align, int tile_align, Halide::LoopLevel at,
                                          const Halide::Target &t) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    std::vector<Var> v = transformed.args();  // (c, t, xi, nu, k)
    Var vco("transform_c_outer"), vci("transform_c_inner");
    transformed.compute_at(at)
        .align_extent(v[0], channel_align)
        .align_extent(v[1], tile_align)
        .bound(v[2], 0, points)
        .bound(v[3], 0, points)
        .split(v[0], vco, vci, vec, TailStrategy::RoundUp)
        .reorder(vci, v[2], v[3], vco, v[1])
        .vectorize(vci)
        .unroll(v[2])
        .unroll(v[3]);
    std::vector<Var> r = rows.args();  // (c, t, i, nu, k)
    bound_extents(rows, {vec, 1, row_count, points, 1})
        .compute_at(transformed, vco)
        .vectorize(r[0])
        .unroll(r[2])
        .unroll(r[3]);
}

// out (c, x, y, n) is the kernel's output; epilogue (c, x, y, n) is the activation or its
// derivative, computed per row and specialized on `kind`.
// `tile` is winograd_register_tile's, as the algorithm's groups were made with it.
inline void schedule_conv2d_winograd(const Halide::Target &t, const WinogradTile &tile, Halide::Func out,
                                     WinogradConv &w, Halide::Func padded, Halide::Func epilogue, Expr kind,
                                     const std::set<int> &activation_kinds, Expr from_output = Expr()) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    const int points = w.transforms->points;
    const int tile_c = vec * tile.channel_vectors;

    Var c = out.args()[0], x = out.args()[1], y = out.args()[2], n = out.args()[3];
    Var group("image_group"), image("image_in_group");
    out.split(n, group, image, w.images_per_group, TailStrategy::GuardWithIf)
        .vectorize(c, vec, TailStrategy::GuardWithIf)
        .parallel(group);

    Var ec = epilogue.args()[0];
    // Stored per image, not per row: a row's buffer (32 channels x 28: 3.6 KB) was allocated and
    // freed 5600 times a celu7 step, and glibc's free of it was 3% of the step.
    epilogue.compute_at(out, y).store_at(out, image).vectorize(ec, vec, TailStrategy::GuardWithIf);
    specialize_on_activation(epilogue, kind, activation_kinds, from_output);

    padded.compute_at(out, group).vectorize(padded.args()[0], vec, TailStrategy::GuardWithIf);

    // The output transform's buffer: every point adds its share of each tile's 2x2 outputs.
    std::vector<Var> o = w.tiles.args();  // (c, a, b, T, group)
    Var oco("tiles_c_outer"), oci("tiles_c_inner"), oto("tiles_t_outer"), oti("tiles_t_inner");
    // Aligned to whole register tiles: the update's RoundUp runs that far, and Halide computes the
    // initial value only over what the output reads (the rest would be garbage, and denormal
    // garbage is slow).
    w.tiles.compute_at(out, group)
        .align_extent(o[0], tile_c)
        .align_extent(o[3], tile.tiles)
        .vectorize(o[0], vec, TailStrategy::GuardWithIf);
    RVar point_x = w.points[0], point_y = w.points[1], tile_a = w.points[2], tile_b = w.points[3];
    w.tiles.update()
        .split(o[0], oco, oci, tile_c, TailStrategy::RoundUp)
        .split(o[3], oto, oti, tile.tiles, TailStrategy::RoundUp)
        .reorder(oci, tile_a, tile_b, oti, oto, oco, point_y, point_x)
        .vectorize(oci, vec)
        .unroll(oci)
        .unroll(tile_a)
        .unroll(tile_b)
        .unroll(oti)
        .unroll(point_y)
        .unroll(point_x);

    // One register tile of the matrix product, per run of tile.tiles tiles.
    // product (c, T, xi, nu, group)
    schedule_register_sums(w.product, vec, {{tile_c, tile.tiles, 1, 1, 1}, {1}, "product_c"}, LoopLevel(w.tiles, oto),
                           {w.channels});

    if (points <= 4) {
        // F(2x2): one point's transformed input for the group of images, 4 of the block's inputs
        // each (the rows inlined), computed as far as the last register tile reads (align_extent),
        // so that no register tile reads memory nobody wrote.
        std::vector<Var> v = w.input.transformed.args();  // (c, T, xi, nu, group)
        w.input.transformed.compute_at(w.tiles, point_y)
            .align_extent(v[1], tile.tiles)
            .vectorize(v[0], vec, TailStrategy::GuardWithIf);
    } else {
        // F(4x4): per point, 25 of the 36 inputs of a tile's block would take part; the group's
        // tiles are transformed at all points before the first point's matrix product.
        // Whole vectors of channels: the generators clamp the padded copy's channels.
        schedule_transform_all_points(w.input.rows, w.input.transformed, points, points, vec, tile.tiles,
                                      LoopLevel(out, group), t);
    }

    // The transformed filter, once per call: its channel blocks are whole register tiles. Threads
    // share it (2.4 MB written at 192 channels; on one thread it was a tenth of a 7x7 layer's call
    // at batch 50).
    std::vector<Var> u = w.filter_transformed.args();  // (co, ci, xi, nu)
    w.filter_transformed.compute_root()
        .align_extent(u[0], tile_c)
        .bound(u[2], 0, points)
        .bound(u[3], 0, points)
        .reorder(u[0], u[2], u[3], u[1])
        .vectorize(u[0], vec, TailStrategy::GuardWithIf)
        .unroll(u[2])
        .unroll(u[3])
        .parallel(u[1], 16, TailStrategy::GuardWithIf);
}

// The filter gradient's register tile: co vectors x ci, summed along the tiles of a group of
// images with the accumulators in registers. A group holds at least `group_tiles` tiles: on small
// images the register tile would otherwise load and store its partial sums for a few tiles'
// worth of multiply-adds (7x7 images: 16 tiles; 13.2 ms one image at a time, 11.4 ms two, while
// 28x28 went from 120 to 152 ms with two).
struct WinogradGradientTile {
    int co_vectors;
    int ci;
    int group_tiles;
};

// `hnn tune` may replace each value (knobs "tile_co", "tile_ci", "group_tiles").
inline WinogradGradientTile winograd_gradient_tile(const Halide::Target &t, const ScheduleParams &knobs = {}) {
    const WinogradGradientTile hand =
        t.has_feature(Halide::Target::AVX512_Skylake) ? WinogradGradientTile{2, 7, 96} : WinogradGradientTile{2, 4, 96};
    return {knobs.get("tile_co", hand.co_vectors), knobs.get("tile_ci", hand.ci),
            knobs.get("group_tiles", hand.group_tiles)};
}

inline const std::set<std::string> &winograd_gradient_knob_names() {
    static const std::set<std::string> names{"tile_co", "tile_ci", "group_tiles"};
    return names;
}

// Each of `partitions` threads sums a share of the images into its own partial transformed
// gradient (rfactor over the images). Per group of images and per point (unrolled, as in the
// forward), the group's tiles are transformed at that point, input and output gradient (F(2x2):
// 157 KB each at 200 channels of 28x28, in L2; F(4x4) transforms all points of the group at once,
// as its forward does); then every register tile of (co vectors x ci) sums the product along the
// tiles and adds it into the partial. The partials are summed in a fixed order
// and transformed back to 3x3 once per call.
inline void schedule_conv2d_winograd_backward_weights(const Halide::Target &t, const WinogradGradientTile &tile,
                                                      Halide::Func filter_grad, WinogradFilterGradient &w,
                                                      Halide::Func input_padded, Halide::Func output_grad_padded,
                                                      Expr batch, Expr partitions) {
    using namespace Halide;
    const int vec = t.natural_vector_size<float>();
    const int points = w.transforms->points;
    const int tile_co = vec * tile.co_vectors;

    Var v("partition"), group("group");
    RVar images_outer("images_outer"), images_inner("images_inner"), groups("groups"), in_group("in_group");
    Expr share = (batch + partitions - 1) / partitions;
    w.transformed_grad.update().split(w.tiles.y, images_outer, images_inner, share, TailStrategy::GuardWithIf);
    Func partial = w.transformed_grad.update().rfactor(images_outer, v);
    Expr images_per_group = max(1, (tile.group_tiles + w.tiles.x.extent() - 1) / w.tiles.x.extent());
    partial.update().split(images_inner, groups, in_group, images_per_group, TailStrategy::GuardWithIf);
    Func tile_sum = partial.update().rfactor(groups, group);

    std::vector<Var> g = w.transformed_grad.args();  // (co, ci, xi, nu)
    // The partials' sum and the transform back to 3x3, shared by the threads as the forward's
    // filter transform is.
    w.transformed_grad.compute_root()
        .bound(g[2], 0, points)
        .bound(g[3], 0, points)
        .vectorize(g[0], vec, TailStrategy::GuardWithIf)
        .parallel(g[1], 16, TailStrategy::GuardWithIf);
    w.transformed_grad.update()
        .vectorize(g[0], vec, TailStrategy::GuardWithIf)
        .parallel(g[1], 16, TailStrategy::GuardWithIf);
    std::vector<Var> f = filter_grad.args();  // (co, kx, ky, ci)
    filter_grad.vectorize(f[0], vec, TailStrategy::GuardWithIf).parallel(f[3], 16, TailStrategy::GuardWithIf);

    // partial (co, ci, xi, nu, partition): per thread, its images group by group.
    std::vector<Var> p = partial.args();
    Var coo("co_outer"), coi("co_inner"), cio("ci_outer"), cii("ci_inner");
    partial.compute_root()
        .bound(p[2], 0, points)
        .bound(p[3], 0, points)
        .align_extent(p[0], tile_co)
        .align_extent(p[1], tile.ci)
        .vectorize(p[0], vec)
        .parallel(p[4]);
    partial.update()
        .split(p[0], coo, coi, tile_co, TailStrategy::RoundUp)
        .split(p[1], cio, cii, tile.ci, TailStrategy::RoundUp)
        .reorder(coi, cii, coo, cio, p[3], p[2], groups, p[4])
        .vectorize(coi, vec)
        .unroll(coi)
        .unroll(cii)
        .unroll(p[3])
        .unroll(p[2])
        .parallel(p[4]);

    // tile_sum (co, ci, xi, nu, partition, group): one register tile, along the group's tiles.
    schedule_register_sums(tile_sum, vec, {{tile_co, tile.ci, 1, 1, 1, 1}, {1}, "sum_co"}, LoopLevel(partial, coo),
                           {w.tiles.x, in_group});

    if (points <= 4) {
        // F(2x2): the group's transformed tiles at one point, computed as far as whole register
        // tiles read.
        std::vector<Var> vi = w.input.transformed.args();  // (ci, t, xi, nu, n)
        w.input.transformed.compute_at(partial, p[3])
            .align_extent(vi[0], tile.ci)
            .vectorize(vi[0], vec, TailStrategy::GuardWithIf);
        std::vector<Var> vo = w.output_grad_transformed.args();  // (co, t, xi, nu, n)
        w.output_grad_transformed.compute_at(partial, p[3])
            .align_extent(vo[0], tile_co)
            .vectorize(vo[0], vec, TailStrategy::GuardWithIf);
    } else {
        // F(4x4): all the points of the group's tiles at once, separably, as the forward's input.
        const LoopLevel group_level(partial, groups);
        schedule_transform_all_points(w.input.rows, w.input.transformed, points, points, tile.ci, 1, group_level, t);
        schedule_transform_all_points(w.output_grad_rows, w.output_grad_transformed, w.transforms->outputs, points,
                                      tile_co, 1, group_level, t);
    }

    // The group's images, copied once with their channels clamped for the tiles past the last one:
    // read in place, the clamp made every vector load of the transforms a gather. In whole vectors
    // (RoundUp): F(4x4)'s transforms read whole vectors past the register tiles' channels, which
    // Halide's guard on a GuardWithIf tail here did not cover (it stopped at the aligned extent).
    for (auto [padded, channels] : {std::pair{input_padded, tile.ci}, {output_grad_padded, tile_co}}) {
        padded.compute_at(partial, groups)
            .align_extent(padded.args()[0], channels)
            .vectorize(padded.args()[0], vec, TailStrategy::RoundUp);
    }
}

}  // namespace hnn
