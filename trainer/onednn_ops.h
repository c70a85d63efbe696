#pragma once
// The operations of hnn's kernels done by oneDNN (Debian's libdnnl 2.x), so that `hnn bench` can
// time both in one run and check hnn's results against an independent implementation.
//
// Data goes in and results come out in hnn's layouts: activations (c, x, y, n), which is oneDNN's
// nhwc, and filters (co, kx, ky, ci), which is oneDNN's ihwo. Each primitive holds its weights in
// the layout it prefers (format_tag::any, as frameworks let it); every reorder happens when an op is
// built or its result read, never in run(), which is the primitive alone.

#include "model.h"

#include "hnn/activation.h"
#include "hnn/conv2d_ops.h"

#include <memory>
#include <string>
#include <vector>

namespace hnn {

// A conv as one of hnn's layers sees it.
struct ConvProblem {
    int batch = 0;
    Shape3 in;
    int out_channels = 0, kernel = 1;
    Conv2dGeometry geometry;
    bool bias = false;
};

// avg_pool, max_pool or global_avg_pool (a window of the whole input) of one layer.
struct PoolProblem {
    LayerKind kind = LayerKind::avg_pool;
    int batch = 0;
    Shape3 in, out;
    int kernel = 2, stride = 2;
};

// Where oneDNN's conv primitives keep activations: hnn's own nhwc (what a framework holding
// channels-last tensors passes), or the blocked layouts oneDNN prefers (reorders untimed).
enum class OnednnLayout { nhwc, any };

class OnednnOp {
public:
    virtual ~OnednnOp() = default;
    // The primitive, waited for: the part that is timed.
    virtual void run() = 0;
    // The outputs of the last run in hnn's layouts (conv backward weights: filter gradient, then
    // bias gradient).
    virtual std::vector<std::vector<float>> outputs() = 0;

    std::string computes;        // what oneDNN runs, where it differs from hnn's kernel or needs saying
    std::string implementation;  // oneDNN's implementation, e.g. "brg:avx512_core" ("ref" means slow)
};

// oneDNN's OpenMP threads for every primitive built after the call.
void set_onednn_threads(int threads);

// Ends oneDNN's OpenMP worker threads, which spin for milliseconds after each call, waiting for the
// next one; oneDNN starts them again at its next call. hnn's kernels timed while they spun shared
// the cores with them: on 2 cores a 1x1 conv to 10 channels timed at 0.28 ms after oneDNN's run,
// 0.17 ms without it.
void release_onednn_threads();

// "2.6.3": the library loaded at run time.
std::string onednn_version();

// How oneDNN computes `activation` (e.g. celu as elu on x/alpha), or "" when it has no equivalent
// (prelu, rrelu, softsign): then the eltwise ops below return null and a conv runs bare.
std::string onednn_activation(const Activation &activation);

// input (ci, x, y, n), filter (co, kx, ky, ci), bias (co) or null; output f(conv + bias) with f as
// post-ops when oneDNN has it, else conv + bias alone.
std::unique_ptr<OnednnOp> onednn_conv_forward(const ConvProblem &p, const Activation &activation, const float *input,
                                              const float *filter, const float *bias, OnednnLayout layout);
// dL/dinput from output_grad (co, ox, oy, n) and the filter.
std::unique_ptr<OnednnOp> onednn_conv_backward_data(const ConvProblem &p, const float *output_grad, const float *filter,
                                                    OnednnLayout layout);
// dL/dfilter and dL/dbias from output_grad and the input.
std::unique_ptr<OnednnOp> onednn_conv_backward_weights(const ConvProblem &p, const float *output_grad, const float *input,
                                                       OnednnLayout layout);

// y = f(x) and dx = dy * f'(x) on (c, x, y, n) tensors of `shape`. Given y = f(x) (for an activation
// with can_differentiate_from_output), the backward reads f' from y instead of x, by oneDNN's
// _use_dst_for_bwd algorithm, as hnn's training then does.
std::unique_ptr<OnednnOp> onednn_eltwise_forward(const Activation &activation, const std::vector<int> &shape,
                                                 const float *x);
std::unique_ptr<OnednnOp> onednn_eltwise_backward(const Activation &activation, const std::vector<int> &shape,
                                                  const float *x, const float *dy, const float *y = nullptr);

// The pooled output of `input`, and dL/dinput from output_grad (max: through the workspace of a
// forward pass over `input`, run once when the op is built).
std::unique_ptr<OnednnOp> onednn_pool_forward(const PoolProblem &p, const float *input);
std::unique_ptr<OnednnOp> onednn_pool_backward(const PoolProblem &p, const float *input, const float *output_grad);

}  // namespace hnn
