#pragma once
// 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016): each 2x2 block of outputs ("tile") is
// computed from a 4x4 block of input as
//
//     Y = A^T [ (G g G^T) . (B^T d B) ] A
//
// where . is the elementwise product over the 16 transform points (xi, nu). Summed over input
// channels, the elementwise products become 16 independent matrix products (co x ci by ci x
// tiles): 16 multiply-adds per tile per channel pair instead of the direct sum's 36, 2.25 times
// fewer. The transforms B and A have entries 0 and +-1 and G has +-1/2 (exact in binary floating
// point), so the result rounds about as the direct sum does.
//
// Tiles are numbered t = tx + tiles_x * ty over the output, so that a register tile of the matrix
// product runs along t without regard to row ends. The forward numbers them on through a group of
// images (T = t + tiles per image * image in the group), so that a register tile may also span
// images (a 7x7 image has only 16 tiles). Layout as in conv2d_algorithm.h: input (ci, x, y, n),
// filter (co, kx, ky, ci), output (co, x, y, n).

#include "common.h"

#include <vector>

namespace hnn {

// One algorithm F(m x m, 3x3): its transforms B^T (points x points), G (points x 3) and A^T
// (m x points), points = m + 2 per axis.
struct WinogradTransforms {
    int outputs;  // m, outputs per tile along each axis
    int points;   // per axis
    std::vector<std::vector<float>> input, filter, output;  // B^T, G, A^T
};

// F(2x2, 3x3), Lavin and Gray's tables (points 0, 1, -1 and infinity): entries 0, +-1 and +-1/2,
// exact in binary floating point, so the result rounds about as the direct sum does.
inline const WinogradTransforms &winograd_f2x2() {
    static const WinogradTransforms f{2,
                                      4,
                                      {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
                                      {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}},
                                      {{1, 1, 1, 0}, {0, 1, -1, -1}}};
    return f;
}

// F(4x4, 3x3): 36 points per 16 outputs, 2.25 multiply-adds per output and channel pair against
// F(2x2)'s 4 and the direct sum's 9. Points 0, 1, -1, 1/2, -2 and infinity (derived with exact
// rationals): B^T and A^T are exact in binary, G holds thirds and fifteenths. Simulated in float32
// over 200 channels against float64, its error is 4.7e-6 of the largest output, against F(2x2)'s
// 7.7e-7 and the direct sum's 6.4e-7; Lavin's points +-2 give 1.0e-5, +-1/2 1.2e-5.
inline const WinogradTransforms &winograd_f4x4() {
    static const WinogradTransforms f{4,
                                      6,
                                      {{1, -1.5f, -2, 1.5f, 1, 0},
                                       {0, -1, 0.5f, 2.5f, 1, 0},
                                       {0, 1, -2.5f, 0.5f, 1, 0},
                                       {0, -2, -1, 2, 1, 0},
                                       {0, 0.5f, -1, -0.5f, 1, 0},
                                       {0, 1, -1.5f, -2, 1.5f, 1}},
                                      {{1, 0, 0},
                                       {1.0f / 3, 1.0f / 3, 1.0f / 3},
                                       {-1.0f / 3, 1.0f / 3, -1.0f / 3},
                                       {-16.0f / 15, -8.0f / 15, -4.0f / 15},
                                       {1.0f / 15, -2.0f / 15, 4.0f / 15},
                                       {0, 0, 1}},
                                      {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 0.5f, -2, 0}, {0, 1, 1, 0.25f, 4, 0}, {0, 1, -1, 0.125f, -8, 1}}};
    return f;
}

// A table's entry [row][column] for indices that may be loop variables; where the schedule unrolls
// them they are constants and the zero terms vanish.
inline Expr table_entry(const std::vector<std::vector<float>> &table, Expr row, Expr column) {
    std::vector<Expr> rows;
    for (const std::vector<float> &r : table) {
        std::vector<Expr> entries(r.begin(), r.end());
        rows.push_back(Halide::mux(column, entries));
    }
    return Halide::mux(row, rows);
}

// Tiles along an output extent (the last may be partly outside it).
inline Expr winograd_tiles_along(Expr extent, const WinogradTransforms &f) { return (extent + f.outputs - 1) / f.outputs; }

// B^T d B, separably: rows(c, t, i, nu, k) = d B, row i of tile t's block at column point nu;
// transformed(c, t, xi, nu, k) = B^T (d B), its rows at row point xi. (x0, y0) is the block's
// top-left corner in input_padded and `image` its image, given as functions of t and k (k: the
// forward's group of images, backward-weights' image). Computing the rows once serves all the
// column points: 12 of F(4x4)'s 36 inputs per point instead of 25. A schedule that leaves the rows
// inline sums per point (F(2x2)'s transform reads 4 inputs a point either way).
struct WinogradInputTransform {
    Halide::Func rows, transformed;
};

inline WinogradInputTransform define_winograd_input_transform(Halide::Func input_padded, Halide::Var t, Halide::Var k,
                                                              Expr x0, Expr y0, Expr image, const WinogradTransforms &f) {
    Halide::Var c("c"), i("i"), xi("xi"), nu("nu");
    WinogradInputTransform w{Halide::Func("winograd_input_rows"), Halide::Func("winograd_input")};
    Expr row = 0.0f;
    for (int j = 0; j < f.points; j++) row += table_entry(f.input, nu, j) * input_padded(c, x0 + j, y0 + i, image);
    w.rows(c, t, i, nu, k) = row;
    Expr v = 0.0f;
    for (int r = 0; r < f.points; r++) v += table_entry(f.input, xi, r) * w.rows(c, t, r, nu, k);
    w.transformed(c, t, xi, nu, k) = v;
    return w;
}

// The stages of one Winograd convolution, for the schedule.
struct WinogradConv {
    const WinogradTransforms *transforms = nullptr;
    Halide::Func filter_transformed;  // (co, ci, xi, nu): G g G^T
    WinogradInputTransform input;     // (ci, T, ., nu, group): rows and B^T d B of tile T of a group
    Halide::Func product;             // (co, T, xi, nu, group): sum over ci, the points' matrix products
    Halide::Func tiles;               // (co, a, b, T, group): A^T product A, the m x m outputs of tile T
    Halide::Func conv;                // (co, x, y, n): the convolution, read from its tile
    Halide::RDom channels;            // over ci, the matrix products' reduction
    Halide::RDom points;              // over (xi, nu, a, b), the output transform's sum
    Expr images_per_group;
};

// conv(co, x, y, n) = bias(co) + sum_{kx, ky, ci} filter(co, kx, ky, ci) in(ci, x + kx - pad_x, y + ky - pad_y, n)
// for a 3x3 filter, by the transforms f. filter(co, kx, ky, ci) may be any Func of that shape
// (backward-data passes the flipped, transposed filter); input_padded is zero outside the image.
// Images are taken in groups of at least group_tiles tiles (the schedule's choice), but the batch
// in at least 8 groups, so that threads get even shares; or, with group_tiles kWinogradWholeBatch
// (a GPU's: its blocks need no shares), in one group.
constexpr int kWinogradWholeBatch = 0;

inline WinogradConv define_conv2d_winograd(Halide::Func input_padded, Halide::Func filter, Halide::Func bias,
                                           Expr in_channels, Expr output_width, Expr output_height, Expr batch,
                                           Expr pad_x, Expr pad_y, const WinogradTransforms &f, int group_tiles) {
    using Halide::Func;
    using Halide::RDom;
    using Halide::Var;
    Var co("co"), ci("ci"), xi("xi"), nu("nu"), t("t"), g("group"), a("a"), b("b"), x("x"), y("y"), n("n");
    WinogradConv w;
    w.transforms = &f;
    const Expr tiles_x = winograd_tiles_along(output_width, f);
    const Expr tiles_per_image = tiles_x * winograd_tiles_along(output_height, f);
    w.images_per_group = group_tiles == kWinogradWholeBatch
                             ? batch
                             : max(1, min((group_tiles + tiles_per_image - 1) / tiles_per_image, (batch + 7) / 8));

    w.filter_transformed = Func("winograd_filter");
    Expr u = 0.0f;
    for (int ky = 0; ky < 3; ky++) {
        for (int kx = 0; kx < 3; kx++) {
            u += table_entry(f.filter, xi, ky) * table_entry(f.filter, nu, kx) * filter(co, kx, ky, ci);
        }
    }
    w.filter_transformed(co, ci, xi, nu) = u;

    // A schedule computes whole register tiles of T, past the group's last tile: those read (and
    // discard) the group's last image's tiles again, not the next group's images.
    const Expr last_image = min(g * w.images_per_group + w.images_per_group, batch) - 1;
    const Expr image = min(g * w.images_per_group + t / tiles_per_image, last_image);
    const Expr tile = t % tiles_per_image;
    w.input = define_winograd_input_transform(input_padded, t, g, (tile % tiles_x) * f.outputs - pad_x,
                                              (tile / tiles_x) * f.outputs - pad_y, image, f);

    w.channels = RDom(0, in_channels, "winograd_channels");
    w.product = Func("winograd_product");
    w.product(co, t, xi, nu, g) = 0.0f;
    w.product(co, t, xi, nu, g) +=
        w.filter_transformed(co, w.channels, xi, nu) * w.input.transformed(w.channels, t, xi, nu, g);

    // a indexes x within the tile, b y; xi is the row (y) point, nu the column (x) point. Each point
    // adds into the outputs its coefficient reaches: A^T's first and last columns have one non-zero
    // entry, so F(4x4)'s points reach 324 of their 576 (point, output) pairs and F(2x2)'s 36 of 64.
    w.points = RDom(0, f.points, 0, f.points, 0, f.outputs, 0, f.outputs, "winograd_points");
    const Expr point_x = w.points[0], point_y = w.points[1], tile_a = w.points[2], tile_b = w.points[3];
    const Expr coefficient = table_entry(f.output, tile_b, point_x) * table_entry(f.output, tile_a, point_y);
    w.points.where(coefficient != 0.0f);
    w.tiles = Func("winograd_tiles");
    w.tiles(co, a, b, t, g) = bias(co);
    w.tiles(co, tile_a, tile_b, t, g) += coefficient * w.product(co, t, point_x, point_y, g);

    w.conv = Func("conv");
    if (group_tiles == kWinogradWholeBatch) {
        // No remainder by the group's size: Halide 14 bounds one by a non-constant divisor by [0,
        // divisor - 1] even at a single n, and a GPU thread computing one tile would be given all
        // of its group's images' tiles.
        w.conv(co, x, y, n) =
            w.tiles(co, x % f.outputs, y % f.outputs, x / f.outputs + tiles_x * (y / f.outputs) + tiles_per_image * n, 0);
        return w;
    }
    w.conv(co, x, y, n) = w.tiles(co, x % f.outputs, y % f.outputs,
                                  x / f.outputs + tiles_x * (y / f.outputs) + tiles_per_image * (n % w.images_per_group),
                                  n / w.images_per_group);
    return w;
}

// The filter gradient by the transforms f. The forward's tile is a linear function of the filter's
// transform U, so dL/dU at each point is the sum over tiles and images of (A dY A^T) . (B^T d B),
// where dY is the tile's m x m output gradient; dL/dg = G^T (dL/dU) G. Summed over tiles, the
// points are again matrix products (co x tiles by tiles x ci), 2.25 (F(2x2)) or 4 (F(4x4)) times
// fewer multiply-adds than the direct sum over positions.
struct WinogradFilterGradient {
    const WinogradTransforms *transforms = nullptr;
    WinogradInputTransform input;          // (ci, t, ., nu, n): rows and B^T d B, as the forward's
    Halide::Func output_grad_rows;         // (co, t, b, nu, n): dY A^T, row b of tile t's gradient at column point nu
    Halide::Func output_grad_transformed;  // (co, t, xi, nu, n): A dY A^T
    Halide::Func transformed_grad;         // (co, ci, xi, nu): the products summed over tiles and images
    Halide::Func filter_grad;              // (co, kx, ky, ci): G^T transformed_grad G
    Halide::RDom tiles;                    // over (t, n)
};

// output_grad_padded is zero outside the output (a partial tile at the end of a row or column sees
// no gradient from positions that do not exist).
inline WinogradFilterGradient define_conv2d_winograd_backward_weights(Halide::Func input_padded, Halide::Func output_grad_padded,
                                                                      Expr output_width, Expr output_height, Expr batch,
                                                                      Expr pad_x, Expr pad_y, const WinogradTransforms &f) {
    using Halide::Func;
    using Halide::Var;
    Var co("co"), ci("ci"), xi("xi"), nu("nu"), t("t"), n("n"), kx("kx"), ky("ky"), b("b");
    WinogradFilterGradient w;
    w.transforms = &f;
    const Expr tiles_x = winograd_tiles_along(output_width, f);
    const Expr x0 = (t % tiles_x) * f.outputs, y0 = (t / tiles_x) * f.outputs;
    w.input = define_winograd_input_transform(input_padded, t, n, x0 - pad_x, y0 - pad_y, n, f);

    // A dY A^T, separably as B^T d B (A^T is m x points: its entry [a][nu]).
    w.output_grad_rows = Func("winograd_output_grad_rows");
    Expr row = 0.0f;
    for (int a = 0; a < f.outputs; a++) row += table_entry(f.output, a, nu) * output_grad_padded(co, x0 + a, y0 + b, n);
    w.output_grad_rows(co, t, b, nu, n) = row;
    w.output_grad_transformed = Func("winograd_output_grad");
    Expr m = 0.0f;
    for (int r = 0; r < f.outputs; r++) m += table_entry(f.output, r, xi) * w.output_grad_rows(co, t, r, nu, n);
    w.output_grad_transformed(co, t, xi, nu, n) = m;

    w.tiles = Halide::RDom(0, tiles_x * winograd_tiles_along(output_height, f), 0, batch, "winograd_tiles");
    w.transformed_grad = Func("winograd_transformed_grad");
    w.transformed_grad(co, ci, xi, nu) = 0.0f;
    w.transformed_grad(co, ci, xi, nu) += w.output_grad_transformed(co, w.tiles.x, xi, nu, w.tiles.y) *
                                         w.input.transformed(ci, w.tiles.x, xi, nu, w.tiles.y);

    w.filter_grad = Func("winograd_filter_grad");
    Expr g = 0.0f;
    for (int p = 0; p < f.points; p++) {
        for (int q = 0; q < f.points; q++) {
            g += table_entry(f.filter, p, ky) * table_entry(f.filter, q, kx) * w.transformed_grad(co, ci, p, q);
        }
    }
    w.filter_grad(co, kx, ky, ci) = g;
    return w;
}

}  // namespace hnn
