#include "onednn_ops.h"

#include "hnn/error.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>

namespace hnn {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = memory::format_tag;

dnnl::engine &cpu_engine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

dnnl::stream &cpu_stream() {
    static dnnl::stream stream(cpu_engine());
    return stream;
}

// hnn's (c, x, y, n) is oneDNN's dims {n, c, h, w} stored nhwc.
memory::desc activation_desc(int c, int width, int height, int n, tag format = tag::nhwc) {
    return memory::desc({n, c, height, width}, memory::data_type::f32, format);
}

memory::desc activation_desc(const Shape3 &s, int n, tag format = tag::nhwc) {
    return activation_desc(s.channels, s.width, s.height, n, format);
}

// hnn's filter (co, kx, ky, ci), co innermost, is oneDNN's dims {o, i, h, w} stored ihwo.
memory::desc filter_desc(const ConvProblem &p, tag format = tag::ihwo) {
    return memory::desc({p.out_channels, p.in.channels, p.kernel, p.kernel}, memory::data_type::f32, format);
}

memory::desc vector_desc(int n) {
    return memory::desc({n}, memory::data_type::f32, tag::a);
}

size_t element_count(const memory::desc &d) {
    return d.get_size() / sizeof(float);
}

// A memory in the primitive's layout `want` holding `data` given in hnn's layout `user`.
memory input_memory(const memory::desc &want, const memory::desc &user, const float *data) {
    memory user_memory(user, cpu_engine());
    std::memcpy(user_memory.get_data_handle(), data, user.get_size());
    if (want == user) return user_memory;
    memory converted(want, cpu_engine());
    dnnl::reorder(user_memory, converted).execute(cpu_stream(), user_memory, converted);
    cpu_stream().wait();
    return converted;
}

// An output as the primitive writes it, how to read it in hnn's layout, and a factor applied on the
// way out (an activation computed on rescaled inputs).
struct Output {
    memory value;
    memory::desc user;
    float scale = 1.0f;
};

class PrimitiveOp : public OnednnOp {
public:
    PrimitiveOp(dnnl::primitive primitive, std::unordered_map<int, memory> args, std::vector<Output> outputs,
                const dnnl::primitive_desc_base &pd, std::string computes_text)
        : primitive_(std::move(primitive)), args_(std::move(args)), outputs_(std::move(outputs)) {
        computes = std::move(computes_text);
        implementation = pd.impl_info_str();
    }

    void run() override {
        primitive_.execute(cpu_stream(), args_);
        cpu_stream().wait();
    }

    std::vector<std::vector<float>> outputs() override {
        std::vector<std::vector<float>> result;
        for (Output &o : outputs_) {
            memory user(o.user, cpu_engine());
            dnnl::reorder(o.value, user).execute(cpu_stream(), o.value, user);
            cpu_stream().wait();
            const float *p = static_cast<const float *>(user.get_data_handle());
            std::vector<float> values(p, p + element_count(o.user));
            if (o.scale != 1.0f) {
                for (float &v : values) v *= o.scale;
            }
            result.push_back(std::move(values));
        }
        return result;
    }

private:
    dnnl::primitive primitive_;
    std::unordered_map<int, memory> args_;
    std::vector<Output> outputs_;
};

// f(x) = g(scale * x) / scale for oneDNN's algorithm g: the same function, and f'(x) = g'(scale * x)
// without a factor, so the backward takes the rescaled input and dy as they are.
struct EltwiseForm {
    algorithm g;
    float alpha = 0, beta = 0;
    float scale = 1;
    std::string text;
};

std::optional<EltwiseForm> eltwise_form(const Activation &a) {
    switch (a.kind) {
    case ActivationKind::relu: return EltwiseForm{algorithm::eltwise_relu, 0, 0, 1, "relu"};
    case ActivationKind::leaky_relu: return EltwiseForm{algorithm::eltwise_relu, a.negative_slope, 0, 1, "relu with negative slope"};
    case ActivationKind::elu: return EltwiseForm{algorithm::eltwise_elu, a.alpha, 0, 1, "elu"};
    case ActivationKind::celu: return EltwiseForm{algorithm::eltwise_elu, 1, 0, 1 / a.alpha, "elu of x/alpha, times alpha (oneDNN has no celu)"};
    case ActivationKind::tanh: return EltwiseForm{algorithm::eltwise_tanh, 0, 0, 1, "tanh"};
    case ActivationKind::sigmoid: return EltwiseForm{algorithm::eltwise_logistic, 0, 0, 1, "logistic"};
    // soft_relu has no threshold; above hnn's (20) the two differ by less than a float's precision.
    case ActivationKind::softplus:
        return EltwiseForm{algorithm::eltwise_soft_relu, 1, 0, a.beta, a.beta == 1 ? "soft_relu" : "soft_relu of beta*x, over beta"};
    case ActivationKind::mish: return EltwiseForm{algorithm::eltwise_mish, 0, 0, 1, "mish"};
    case ActivationKind::swish: return EltwiseForm{algorithm::eltwise_swish, a.beta, 0, 1, "swish"};
    case ActivationKind::silu: return EltwiseForm{algorithm::eltwise_swish, 1, 0, 1, "swish with beta 1"};
    case ActivationKind::prelu:
    case ActivationKind::rrelu:
    case ActivationKind::softsign:
    case ActivationKind::identity: return std::nullopt;
    }
    return std::nullopt;
}

// oneDNN's errors carry no context: say which operation failed.
template<typename Build>
std::unique_ptr<OnednnOp> guarded(const char *operation, Build &&build) {
    try {
        return build();
    } catch (const dnnl::error &e) {
        throw Error(std::string("oneDNN ") + operation + ": " + e.what());
    }
}

// oneDNN checks out = (in - k + left + right) / stride + 1 and takes no negative padding; hnn's
// geometries pad on the left and let the right edge fall where it does (floor), so the right
// padding is the smallest non-negative one that gives hnn's output size.
memory::dim right_padding(int in, int kernel, int stride, int left, int out) {
    return std::max(0, (out - 1) * stride + kernel - in - left);
}

struct ConvDescs {
    memory::desc src, dst, weights, bias, user_src, user_dst;
    memory::dims strides, padding_l, padding_r;
};

ConvDescs conv_descs(const ConvProblem &p, OnednnLayout layout) {
    const Conv2dGeometry &g = p.geometry;
    const Shape3 out{p.out_channels, g.out_width, g.out_height};
    const tag activations = layout == OnednnLayout::nhwc ? tag::nhwc : tag::any;
    ConvDescs d;
    d.user_src = activation_desc(p.in, p.batch);
    d.user_dst = activation_desc(out, p.batch);
    d.src = activation_desc(p.in, p.batch, activations);
    d.dst = activation_desc(out, p.batch, activations);
    d.weights = filter_desc(p, tag::any);
    d.bias = p.bias ? vector_desc(p.out_channels) : memory::desc();
    d.strides = {g.stride, g.stride};
    d.padding_l = {g.pad_y, g.pad_x};
    d.padding_r = {right_padding(p.in.height, p.kernel, g.stride, g.pad_y, g.out_height),
                   right_padding(p.in.width, p.kernel, g.stride, g.pad_x, g.out_width)};
    return d;
}

// Direct convolution, as frameworks ask for (convolution_auto may pick Winograd, which changes the
// arithmetic).
dnnl::convolution_forward::primitive_desc conv_forward_pd(const ConvDescs &d, const dnnl::primitive_attr &attr = {}) {
    dnnl::convolution_forward::desc desc(prop_kind::forward_training, algorithm::convolution_direct, d.src, d.weights,
                                         d.bias, d.dst, d.strides, d.padding_l, d.padding_r);
    return {desc, attr, cpu_engine()};
}

std::string with_layout_note(const std::string &text, OnednnLayout layout) {
    if (layout == OnednnLayout::nhwc) return text;
    const std::string note = "activations in oneDNN's preferred layout";
    return text.empty() ? note : text + "; " + note;
}

struct PoolDescs {
    algorithm kind;
    memory::desc src, dst;
    memory::dims strides, kernel, padding_l, padding_r;
};

PoolDescs pool_descs(const PoolProblem &p) {
    PoolDescs d;
    d.kind = p.kind == LayerKind::max_pool ? algorithm::pooling_max : algorithm::pooling_avg_exclude_padding;
    d.src = activation_desc(p.in, p.batch);
    d.dst = activation_desc(p.out, p.batch);
    if (p.kind == LayerKind::global_avg_pool) {
        d.kernel = {p.in.height, p.in.width};
        d.strides = {1, 1};
    } else {
        d.kernel = {p.kernel, p.kernel};
        d.strides = {p.stride, p.stride};
    }
    d.padding_l = {0, 0};
    d.padding_r = {right_padding(p.in.height, int(d.kernel[0]), int(d.strides[0]), 0, p.out.height),
                   right_padding(p.in.width, int(d.kernel[1]), int(d.strides[1]), 0, p.out.width)};
    return d;
}

dnnl::pooling_forward::primitive_desc pool_forward_pd(const PoolDescs &d) {
    dnnl::pooling_forward::desc desc(prop_kind::forward_training, d.kind, d.src, d.dst, d.strides, d.kernel,
                                     d.padding_l, d.padding_r);
    return {desc, cpu_engine()};
}

}  // namespace

void set_onednn_threads(int threads) {
    omp_set_num_threads(threads);
}

void release_onednn_threads() {
    omp_pause_resource_all(omp_pause_soft);
}

std::string onednn_version() {
    const dnnl_version_t *v = dnnl::version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::string onednn_activation(const Activation &activation) {
    const std::optional<EltwiseForm> form = eltwise_form(activation);
    return form ? form->text : "";
}

std::unique_ptr<OnednnOp> onednn_conv_forward(const ConvProblem &p, const Activation &activation, const float *input,
                                              const float *filter, const float *bias, OnednnLayout layout) {
    return guarded("convolution forward", [&]() -> std::unique_ptr<OnednnOp> {
        const ConvDescs d = conv_descs(p, layout);
        const std::optional<EltwiseForm> form =
            activation.kind == ActivationKind::identity ? std::nullopt : eltwise_form(activation);
        dnnl::post_ops ops;
        std::string computes;
        if (form) {
            // A linear post-op before g and g's own output scale keep the function exact where oneDNN
            // has it only rescaled. Not a second linear post-op after g: oneDNN 2.6's brgconv gives it
            // the first one's factor.
            if (form->scale != 1) ops.append_eltwise(1, algorithm::eltwise_linear, form->scale, 0);
            ops.append_eltwise(1 / form->scale, form->g, form->alpha, form->beta);
            computes = std::string("convolution with post-op ") + form->text;
        } else if (activation.kind != ActivationKind::identity) {
            computes = std::string("convolution alone: oneDNN has no ") + activation_name(activation.kind) +
                       " (checked against hnn's pre-activation)";
        }
        dnnl::primitive_attr attr;
        attr.set_post_ops(ops);
        const auto pd = conv_forward_pd(d, attr);
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, input_memory(pd.src_desc(), d.user_src, input)},
            {DNNL_ARG_WEIGHTS, input_memory(pd.weights_desc(), filter_desc(p), filter)},
            {DNNL_ARG_DST, memory(pd.dst_desc(), cpu_engine())}};
        if (p.bias) args[DNNL_ARG_BIAS] = input_memory(d.bias, d.bias, bias);
        std::vector<Output> outputs{{args[DNNL_ARG_DST], d.user_dst}};
        return std::make_unique<PrimitiveOp>(dnnl::convolution_forward(pd), std::move(args), std::move(outputs), pd,
                                             with_layout_note(computes, layout));
    });
}

std::unique_ptr<OnednnOp> onednn_conv_backward_data(const ConvProblem &p, const float *output_grad, const float *filter,
                                                    OnednnLayout layout) {
    return guarded("convolution backward data", [&]() -> std::unique_ptr<OnednnOp> {
        const ConvDescs d = conv_descs(p, layout);
        const auto hint = conv_forward_pd(d);
        dnnl::convolution_backward_data::desc desc(algorithm::convolution_direct, d.src, d.weights, d.dst, d.strides,
                                                   d.padding_l, d.padding_r);
        dnnl::convolution_backward_data::primitive_desc pd(desc, cpu_engine(), hint);
        std::unordered_map<int, memory> args{
            {DNNL_ARG_DIFF_DST, input_memory(pd.diff_dst_desc(), d.user_dst, output_grad)},
            {DNNL_ARG_WEIGHTS, input_memory(pd.weights_desc(), filter_desc(p), filter)},
            {DNNL_ARG_DIFF_SRC, memory(pd.diff_src_desc(), cpu_engine())}};
        std::vector<Output> outputs{{args[DNNL_ARG_DIFF_SRC], d.user_src}};
        return std::make_unique<PrimitiveOp>(dnnl::convolution_backward_data(pd), std::move(args), std::move(outputs),
                                             pd, with_layout_note("", layout));
    });
}

std::unique_ptr<OnednnOp> onednn_conv_backward_weights(const ConvProblem &p, const float *output_grad, const float *input,
                                                       OnednnLayout layout) {
    return guarded("convolution backward weights", [&]() -> std::unique_ptr<OnednnOp> {
        // The bias gradient where the layer has a bias, as the trainer takes it.
        ConvDescs d = conv_descs(p, layout);
        const auto hint = conv_forward_pd(d);
        dnnl::convolution_backward_weights::desc desc(algorithm::convolution_direct, d.src, d.weights, d.bias, d.dst,
                                                      d.strides, d.padding_l, d.padding_r);
        dnnl::convolution_backward_weights::primitive_desc pd(desc, cpu_engine(), hint);
        std::unordered_map<int, memory> args{
            {DNNL_ARG_DIFF_DST, input_memory(pd.diff_dst_desc(), d.user_dst, output_grad)},
            {DNNL_ARG_SRC, input_memory(pd.src_desc(), d.user_src, input)},
            {DNNL_ARG_DIFF_WEIGHTS, memory(pd.diff_weights_desc(), cpu_engine())}};
        std::vector<Output> outputs{{args[DNNL_ARG_DIFF_WEIGHTS], filter_desc(p)}};
        if (p.bias) {
            args.emplace(DNNL_ARG_DIFF_BIAS, memory(d.bias, cpu_engine()));
            outputs.push_back({args[DNNL_ARG_DIFF_BIAS], d.bias});
        }
        return std::make_unique<PrimitiveOp>(dnnl::convolution_backward_weights(pd), std::move(args), std::move(outputs),
                                             pd, with_layout_note("", layout));
    });
}

namespace {

std::vector<float> scaled(const float *x, size_t count, float scale) {
    std::vector<float> v(x, x + count);
    if (scale != 1) {
        for (float &e : v) e *= scale;
    }
    return v;
}

dnnl::eltwise_forward::primitive_desc eltwise_forward_pd(const EltwiseForm &form, const memory::desc &data) {
    dnnl::eltwise_forward::desc desc(prop_kind::forward_training, form.g, data, form.alpha, form.beta);
    return {desc, cpu_engine()};
}

memory::desc tensor_desc(const std::vector<int> &shape) {
    return activation_desc(shape.at(0), shape.at(1), shape.at(2), shape.at(3));
}

}  // namespace

std::unique_ptr<OnednnOp> onednn_eltwise_forward(const Activation &activation, const std::vector<int> &shape,
                                                 const float *x) {
    const std::optional<EltwiseForm> form = eltwise_form(activation);
    if (!form) return nullptr;
    return guarded("eltwise forward", [&]() -> std::unique_ptr<OnednnOp> {
        const memory::desc data = tensor_desc(shape);
        const auto pd = eltwise_forward_pd(*form, data);
        // The timed primitive gets x already rescaled; the rescaling of y happens when it is read.
        const std::vector<float> input = scaled(x, element_count(data), form->scale);
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, input_memory(data, data, input.data())},
                                             {DNNL_ARG_DST, memory(data, cpu_engine())}};
        std::vector<Output> outputs{{args[DNNL_ARG_DST], data, 1 / form->scale}};
        return std::make_unique<PrimitiveOp>(dnnl::eltwise_forward(pd), std::move(args), std::move(outputs), pd,
                                             form->text);
    });
}

// The algorithm that reads f' from g's output, for the g of the activations with
// can_differentiate_from_output.
std::optional<algorithm> use_dst_for_backward(algorithm g) {
    switch (g) {
    case algorithm::eltwise_relu: return algorithm::eltwise_relu_use_dst_for_bwd;
    case algorithm::eltwise_elu: return algorithm::eltwise_elu_use_dst_for_bwd;
    case algorithm::eltwise_tanh: return algorithm::eltwise_tanh_use_dst_for_bwd;
    case algorithm::eltwise_logistic: return algorithm::eltwise_logistic_use_dst_for_bwd;
    default: return std::nullopt;
    }
}

std::unique_ptr<OnednnOp> onednn_eltwise_backward(const Activation &activation, const std::vector<int> &shape,
                                                  const float *x, const float *dy, const float *y) {
    std::optional<EltwiseForm> form = eltwise_form(activation);
    if (!form) return nullptr;
    std::string text = form->text;
    if (y) {
        const std::optional<algorithm> from_dst = use_dst_for_backward(form->g);
        if (!from_dst) throw Error("oneDNN eltwise backward: " + form->text + " has no derivative from its output");
        form->g = *from_dst;
        text += ", backward from its output";
    }
    return guarded("eltwise backward", [&]() -> std::unique_ptr<OnednnOp> {
        const memory::desc data = tensor_desc(shape);
        const auto hint = eltwise_forward_pd(*form, data);
        dnnl::eltwise_backward::desc desc(form->g, data, data, form->alpha, form->beta);
        dnnl::eltwise_backward::primitive_desc pd(desc, cpu_engine(), hint);
        // g's input is scale x, and its output scale y (f = g(scale x) / scale).
        const std::vector<float> saved = scaled(y ? y : x, element_count(data), form->scale);
        std::unordered_map<int, memory> args{{y ? DNNL_ARG_DST : DNNL_ARG_SRC, input_memory(data, data, saved.data())},
                                             {DNNL_ARG_DIFF_DST, input_memory(data, data, dy)},
                                             {DNNL_ARG_DIFF_SRC, memory(data, cpu_engine())}};
        std::vector<Output> outputs{{args[DNNL_ARG_DIFF_SRC], data}};
        return std::make_unique<PrimitiveOp>(dnnl::eltwise_backward(pd), std::move(args), std::move(outputs), pd, text);
    });
}

std::unique_ptr<OnednnOp> onednn_pool_forward(const PoolProblem &p, const float *input) {
    return guarded("pooling forward", [&]() -> std::unique_ptr<OnednnOp> {
        const PoolDescs d = pool_descs(p);
        const auto pd = pool_forward_pd(d);
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, input_memory(d.src, d.src, input)},
                                             {DNNL_ARG_DST, memory(d.dst, cpu_engine())}};
        std::string computes;
        if (p.kind == LayerKind::max_pool) {
            args[DNNL_ARG_WORKSPACE] = memory(pd.workspace_desc(), cpu_engine());
            computes = "also writes the argmax workspace its backward reads";
        }
        std::vector<Output> outputs{{args[DNNL_ARG_DST], d.dst}};
        return std::make_unique<PrimitiveOp>(dnnl::pooling_forward(pd), std::move(args), std::move(outputs), pd,
                                             computes);
    });
}

std::unique_ptr<OnednnOp> onednn_pool_backward(const PoolProblem &p, const float *input, const float *output_grad) {
    return guarded("pooling backward", [&]() -> std::unique_ptr<OnednnOp> {
        const PoolDescs d = pool_descs(p);
        const auto hint = pool_forward_pd(d);
        dnnl::pooling_backward::desc desc(d.kind, d.src, d.dst, d.strides, d.kernel, d.padding_l, d.padding_r);
        dnnl::pooling_backward::primitive_desc pd(desc, cpu_engine(), hint);
        std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, input_memory(d.dst, d.dst, output_grad)},
                                             {DNNL_ARG_DIFF_SRC, memory(d.src, cpu_engine())}};
        std::string computes;
        if (p.kind == LayerKind::max_pool) {
            memory workspace(hint.workspace_desc(), cpu_engine());
            memory src = input_memory(d.src, d.src, input), dst(d.dst, cpu_engine());
            dnnl::pooling_forward(hint).execute(cpu_stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, workspace}});
            cpu_stream().wait();
            args[DNNL_ARG_WORKSPACE] = workspace;
            computes = "reads the forward's argmax workspace (hnn recomputes the argmax from the input)";
        }
        std::vector<Output> outputs{{args[DNNL_ARG_DIFF_SRC], d.src}};
        return std::make_unique<PrimitiveOp>(dnnl::pooling_backward(pd), std::move(args), std::move(outputs), pd,
                                             computes);
    });
}

}  // namespace hnn
