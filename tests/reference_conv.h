#pragma once
// Plain float64 loops for convolution, written from the definition (independent of the generators).
// Layout: input (ci, x, y, n), filter (co, kx, ky, ci), output (co, x, y, n); flat arrays with the
// first index fastest.

#include <vector>

namespace hnn::reference {

struct ConvShape {
    int ci, w, h, n;    // input
    int co, kw, kh;     // filter
    int stride, pad_x, pad_y;
    int ow, oh;         // output
};

inline size_t at4(int a, int b, int c, int d, int A, int B, int C) { return a + size_t(A) * (b + size_t(B) * (c + size_t(C) * d)); }

inline std::vector<double> conv_forward(const ConvShape &s, const float *in, const float *filter, const float *bias) {
    std::vector<double> out(size_t(s.co) * s.ow * s.oh * s.n);
    for (int n = 0; n < s.n; n++)
        for (int y = 0; y < s.oh; y++)
            for (int x = 0; x < s.ow; x++)
                for (int co = 0; co < s.co; co++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int ky = 0; ky < s.kh; ky++)
                        for (int kx = 0; kx < s.kw; kx++) {
                            int ix = x * s.stride + kx - s.pad_x, iy = y * s.stride + ky - s.pad_y;
                            if (ix < 0 || ix >= s.w || iy < 0 || iy >= s.h) continue;
                            for (int ci = 0; ci < s.ci; ci++)
                                acc += double(filter[at4(co, kx, ky, ci, s.co, s.kw, s.kh)]) * in[at4(ci, ix, iy, n, s.ci, s.w, s.h)];
                        }
                    out[at4(co, x, y, n, s.co, s.ow, s.oh)] = acc;
                }
    return out;
}

// d(sum dout * conv(in)) / d(in): scatter each output's gradient back through the filter.
inline std::vector<double> conv_backward_data(const ConvShape &s, const float *dout, const float *filter) {
    std::vector<double> din(size_t(s.ci) * s.w * s.h * s.n, 0.0);
    for (int n = 0; n < s.n; n++)
        for (int y = 0; y < s.oh; y++)
            for (int x = 0; x < s.ow; x++)
                for (int ky = 0; ky < s.kh; ky++)
                    for (int kx = 0; kx < s.kw; kx++) {
                        int ix = x * s.stride + kx - s.pad_x, iy = y * s.stride + ky - s.pad_y;
                        if (ix < 0 || ix >= s.w || iy < 0 || iy >= s.h) continue;
                        for (int co = 0; co < s.co; co++)
                            for (int ci = 0; ci < s.ci; ci++)
                                din[at4(ci, ix, iy, n, s.ci, s.w, s.h)] +=
                                    double(dout[at4(co, x, y, n, s.co, s.ow, s.oh)]) * filter[at4(co, kx, ky, ci, s.co, s.kw, s.kh)];
                    }
    return din;
}

inline std::vector<double> conv_backward_weights(const ConvShape &s, const float *dout, const float *in) {
    std::vector<double> dw(size_t(s.co) * s.kw * s.kh * s.ci, 0.0);
    for (int n = 0; n < s.n; n++)
        for (int y = 0; y < s.oh; y++)
            for (int x = 0; x < s.ow; x++)
                for (int ky = 0; ky < s.kh; ky++)
                    for (int kx = 0; kx < s.kw; kx++) {
                        int ix = x * s.stride + kx - s.pad_x, iy = y * s.stride + ky - s.pad_y;
                        if (ix < 0 || ix >= s.w || iy < 0 || iy >= s.h) continue;
                        for (int ci = 0; ci < s.ci; ci++)
                            for (int co = 0; co < s.co; co++)
                                dw[at4(co, kx, ky, ci, s.co, s.kw, s.kh)] +=
                                    double(dout[at4(co, x, y, n, s.co, s.ow, s.oh)]) * in[at4(ci, ix, iy, n, s.ci, s.w, s.h)];
                    }
    return dw;
}

}  // namespace hnn::reference
