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

namespace hnn {

// The points of the F(2x2, 3x3) transforms: 4 per axis, 16 in all.
constexpr int kWinogradPoints = 4;
constexpr int kWinogradTileOutputs = 2;  // outputs per tile along each axis

// B^T[xi][i], G[xi][k] and A^T[a][xi] as expressions of indices that may be loop variables; where
// the schedule unrolls them they are constants and the zero terms vanish.
template <size_t Rows, size_t Columns>
Expr table_entry(const float (&table)[Rows][Columns], Expr row, Expr column) {
    std::vector<Expr> rows;
    for (size_t r = 0; r < Rows; r++) {
        std::vector<Expr> entries(table[r], table[r] + Columns);
        rows.push_back(Halide::mux(column, entries));
    }
    return Halide::mux(row, rows);
}
constexpr float kWinogradBT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
constexpr float kWinogradG[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
constexpr float kWinogradAT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
inline Expr winograd_input_coefficient(Expr xi, Expr i) { return table_entry(kWinogradBT, xi, i); }
inline Expr winograd_filter_coefficient(Expr xi, Expr k) { return table_entry(kWinogradG, xi, k); }
inline Expr winograd_output_coefficient(Expr a, Expr xi) { return table_entry(kWinogradAT, a, xi); }

// Tiles along an output extent (the last may be half outside it).
inline Expr winograd_tiles_along(Expr extent) { return (extent + kWinogradTileOutputs - 1) / kWinogradTileOutputs; }

// B^T d B of tile t of the image n at point (xi, nu), d the 4x4 block of input_padded whose
// top-left corner is the tile's first output position shifted by (-pad_x, -pad_y).
inline Expr winograd_input_transform(Halide::Func input_padded, Expr c, Expr t, Expr xi, Expr nu, Expr n,
                                     Expr tiles_x, Expr pad_x, Expr pad_y) {
    Expr x0 = (t % tiles_x) * kWinogradTileOutputs - pad_x;
    Expr y0 = (t / tiles_x) * kWinogradTileOutputs - pad_y;
    Expr v = 0.0f;
    for (int i = 0; i < kWinogradPoints; i++) {
        for (int j = 0; j < kWinogradPoints; j++) {
            v += winograd_input_coefficient(xi, i) * winograd_input_coefficient(nu, j) * input_padded(c, x0 + j, y0 + i, n);
        }
    }
    return v;
}

// The stages of one Winograd convolution, for the schedule.
struct WinogradConv {
    Halide::Func filter_transformed;  // (co, ci, xi, nu): G g G^T
    Halide::Func input_transformed;   // (ci, T, xi, nu, group): B^T d B of tile T of a group
    Halide::Func product;             // (co, T, xi, nu, group): sum over ci, the 16 matrix products
    Halide::Func tiles;               // (co, a, b, T, group): A^T product A, the 2x2 outputs of tile T
    Halide::Func conv;                // (co, x, y, n): the convolution, read from its tile
    Halide::RDom channels;            // over ci, the matrix products' reduction
    Halide::RDom points;              // over (xi, nu), the output transform's sum
    Expr images_per_group;
};

// conv(co, x, y, n) = bias(co) + sum_{kx, ky, ci} filter(co, kx, ky, ci) in(ci, x + kx - pad_x, y + ky - pad_y, n)
// for a 3x3 filter. filter(co, kx, ky, ci) may be any Func of that shape (backward-data passes the
// flipped, transposed filter); input_padded is zero outside the image. Images are taken in groups
// of at least group_tiles tiles (the schedule's choice), but the batch in at least 8 groups, so
// that threads get even shares.
inline WinogradConv define_conv2d_winograd(Halide::Func input_padded, Halide::Func filter, Halide::Func bias,
                                           Expr in_channels, Expr output_width, Expr output_height, Expr batch,
                                           Expr pad_x, Expr pad_y, int group_tiles) {
    using Halide::Func;
    using Halide::RDom;
    using Halide::Var;
    Var co("co"), ci("ci"), xi("xi"), nu("nu"), t("t"), g("group"), a("a"), b("b"), x("x"), y("y"), n("n");
    WinogradConv w;
    const Expr tiles_x = winograd_tiles_along(output_width);
    const Expr tiles_per_image = tiles_x * winograd_tiles_along(output_height);
    w.images_per_group = max(1, min((group_tiles + tiles_per_image - 1) / tiles_per_image, (batch + 7) / 8));

    w.filter_transformed = Func("winograd_filter");
    Expr u = 0.0f;
    for (int ky = 0; ky < 3; ky++) {
        for (int kx = 0; kx < 3; kx++) {
            u += winograd_filter_coefficient(xi, ky) * winograd_filter_coefficient(nu, kx) * filter(co, kx, ky, ci);
        }
    }
    w.filter_transformed(co, ci, xi, nu) = u;

    // A schedule computes whole register tiles of T, past the group's last tile: those read (and
    // discard) the group's last image's tiles again, not the next group's images.
    const Expr last_image = min(g * w.images_per_group + w.images_per_group, batch) - 1;
    w.input_transformed = Func("winograd_input");
    w.input_transformed(ci, t, xi, nu, g) =
        winograd_input_transform(input_padded, ci, t % tiles_per_image, xi, nu,
                                 min(g * w.images_per_group + t / tiles_per_image, last_image), tiles_x, pad_x, pad_y);

    w.channels = RDom(0, in_channels, "winograd_channels");
    w.product = Func("winograd_product");
    w.product(co, t, xi, nu, g) = 0.0f;
    w.product(co, t, xi, nu, g) +=
        w.filter_transformed(co, w.channels, xi, nu) * w.input_transformed(w.channels, t, xi, nu, g);

    // a indexes x within the tile, b y; xi is the row (y) point, nu the column (x) point.
    w.points = RDom(0, kWinogradPoints, 0, kWinogradPoints, "winograd_points");
    w.tiles = Func("winograd_tiles");
    w.tiles(co, a, b, t, g) = bias(co);
    w.tiles(co, a, b, t, g) += winograd_output_coefficient(b, w.points.x) * winograd_output_coefficient(a, w.points.y) *
                               w.product(co, t, w.points.x, w.points.y, g);

    w.conv = Func("conv");
    w.conv(co, x, y, n) = w.tiles(co, x % kWinogradTileOutputs, y % kWinogradTileOutputs,
                                  x / kWinogradTileOutputs + tiles_x * (y / kWinogradTileOutputs) +
                                      tiles_per_image * (n % w.images_per_group),
                                  n / w.images_per_group);
    return w;
}

// The filter gradient by the same transforms. The forward's tile is a linear function of the
// filter's transform U, so dL/dU at each point is the sum over tiles and images of
// (A dY A^T) . (B^T d B), where dY is the tile's 2x2 output gradient; dL/dg = G^T (dL/dU) G. Summed
// over tiles, the 16 points are again 16 matrix products (co x tiles by tiles x ci), 2.25 times
// fewer multiply-adds than the direct sum over positions.
struct WinogradFilterGradient {
    Halide::Func input_transformed;     // (ci, t, xi, nu, n): B^T d B, as the forward's
    Halide::Func output_grad_transformed;  // (co, t, xi, nu, n): A dY A^T
    Halide::Func transformed_grad;      // (co, ci, xi, nu): the products summed over tiles and images
    Halide::Func filter_grad;           // (co, kx, ky, ci): G^T transformed_grad G
    Halide::RDom tiles;                 // over (t, n)
};

// output_grad_padded is zero outside the output (a half tile at the end of a row or column sees no
// gradient from positions that do not exist).
inline WinogradFilterGradient define_conv2d_winograd_backward_weights(Halide::Func input_padded, Halide::Func output_grad_padded,
                                                                      Expr output_width, Expr output_height, Expr batch,
                                                                      Expr pad_x, Expr pad_y) {
    using Halide::Func;
    using Halide::Var;
    Var co("co"), ci("ci"), xi("xi"), nu("nu"), t("t"), n("n"), kx("kx"), ky("ky");
    WinogradFilterGradient w;
    const Expr tiles_x = winograd_tiles_along(output_width);

    w.input_transformed = Func("winograd_input");
    w.input_transformed(ci, t, xi, nu, n) = winograd_input_transform(input_padded, ci, t, xi, nu, n, tiles_x, pad_x, pad_y);

    w.output_grad_transformed = Func("winograd_output_grad");
    Expr x0 = (t % tiles_x) * kWinogradTileOutputs, y0 = (t / tiles_x) * kWinogradTileOutputs;
    Expr m = 0.0f;
    for (int b = 0; b < kWinogradTileOutputs; b++) {
        for (int a = 0; a < kWinogradTileOutputs; a++) {
            m += winograd_output_coefficient(b, xi) * winograd_output_coefficient(a, nu) * output_grad_padded(co, x0 + a, y0 + b, n);
        }
    }
    w.output_grad_transformed(co, t, xi, nu, n) = m;

    w.tiles = Halide::RDom(0, tiles_x * winograd_tiles_along(output_height), 0, batch, "winograd_tiles");
    w.transformed_grad = Func("winograd_transformed_grad");
    w.transformed_grad(co, ci, xi, nu) = 0.0f;
    w.transformed_grad(co, ci, xi, nu) += w.output_grad_transformed(co, w.tiles.x, xi, nu, w.tiles.y) *
                                         w.input_transformed(ci, w.tiles.x, xi, nu, w.tiles.y);

    w.filter_grad = Func("winograd_filter_grad");
    Expr g = 0.0f;
    for (int p = 0; p < kWinogradPoints; p++) {
        for (int q = 0; q < kWinogradPoints; q++) {
            g += winograd_filter_coefficient(p, ky) * winograd_filter_coefficient(q, kx) * w.transformed_grad(co, ci, p, q);
        }
    }
    w.filter_grad(co, kx, ky, ci) = g;
    return w;
}

}  // namespace hnn
