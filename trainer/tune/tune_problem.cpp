#include "tune_problem.h"

#include "hnn/error.h"

#include <algorithm>
#include <map>
#include <random>
#include <sstream>

namespace hnn::tune {
namespace {

bool has_activation(const std::string &kernel) {
    return pass_of(kernel) != KernelPass::backward_weights;
}

bool ends_with(const std::string &s, const std::string &suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int parse_int_field(const std::string &kernel, const std::string &key, const std::string &value, int minimum) {
    size_t used = 0;
    long v = 0;
    try {
        v = std::stol(value, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used == 0 || used != value.size() || v < minimum || v > (1 << 20)) {
        throw Error(kernel + " --shape: field '" + key + "' must be an integer of at least " + std::to_string(minimum) +
                    ", got '" + value + "'");
    }
    return static_cast<int>(v);
}

Halide::Buffer<float> random_buffer(std::vector<int> sizes, std::mt19937_64 &rng) {
    Halide::Buffer<float> b(sizes);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    // Dense: a plain loop (for_each_value's walk steps its pointer past the end, which UBSan reports).
    for (float *v = b.data(), *end = b.data() + b.number_of_elements(); v != end; v++) *v = u(rng);
    return b;
}

}  // namespace

const std::vector<std::string> &tunable_kernels() {
    static const std::vector<std::string> kernels{"conv2d_forward",
                                                  "conv2d_backward_data",
                                                  "conv2d_backward_weights",
                                                  "conv2d_winograd_forward",
                                                  "conv2d_winograd_backward_data",
                                                  "conv2d_winograd_backward_weights",
                                                  "conv2d_winograd4x4_forward",
                                                  "conv2d_winograd4x4_backward_data",
                                                  "conv2d_winograd4x4_backward_weights",
                                                  "pointwise_conv2d_forward",
                                                  "pointwise_conv2d_backward_data",
                                                  "pointwise_conv2d_backward_weights"};
    return kernels;
}

KernelPass pass_of(const std::string &kernel) {
    if (ends_with(kernel, "_backward_weights")) return KernelPass::backward_weights;
    if (ends_with(kernel, "_backward_data")) return KernelPass::backward_data;
    return KernelPass::forward;
}

bool is_winograd(const std::string &kernel) { return kernel.rfind("conv2d_winograd", 0) == 0; }

bool is_pointwise(const std::string &kernel) { return kernel.rfind("pointwise_conv2d", 0) == 0; }

KernelGenerator kernel_generator(const std::string &kernel) {
    const std::string f4x4 = "conv2d_winograd4x4_";
    if (kernel.rfind(f4x4, 0) == 0) return {"conv2d_winograd_" + kernel.substr(f4x4.size()), {{"tile_outputs", "4"}}};
    return {kernel, {}};
}

bool is_tunable(const std::string &kernel) {
    const auto &k = tunable_kernels();
    return std::find(k.begin(), k.end(), kernel) != k.end();
}

TuneProblem parse_problem(const std::string &kernel, const std::string &spec) {
    if (!is_tunable(kernel)) {
        std::string known;
        for (const std::string &k : tunable_kernels()) known += (known.empty() ? "" : ", ") + k;
        throw Error("unknown or untunable kernel '" + kernel + "' (tunable: " + known + ")");
    }
    std::map<std::string, std::string> fields;
    std::stringstream entries(spec);
    std::string entry;
    while (std::getline(entries, entry, ',')) {
        const size_t eq = entry.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw Error(kernel + " --shape: '" + entry + "' is not FIELD=VALUE (in '" + spec + "')");
        }
        const std::string key = entry.substr(0, eq);
        static const std::vector<std::string> known{"ci", "co", "w", "h", "n", "k", "stride", "pad",
                                                    "pad_x", "pad_y", "ow", "oh", "act"};
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            throw Error(kernel + " --shape: unknown field '" + key +
                        "' (fields: ci, co, w, h, n, k, stride, pad, pad_x, pad_y, ow, oh, act)");
        }
        if (fields.count(key)) throw Error(kernel + " --shape: field '" + key + "' given twice");
        fields[key] = entry.substr(eq + 1);
    }
    auto int_field = [&](const std::string &key, int minimum, int fallback, bool required) {
        auto it = fields.find(key);
        if (it == fields.end()) {
            if (required) throw Error(kernel + " --shape: missing field '" + key + "' (in '" + spec + "')");
            return fallback;
        }
        return parse_int_field(kernel, key, it->second, minimum);
    };
    TuneProblem p;
    p.kernel = kernel;
    ConvShape &c = p.conv;
    c.ci = int_field("ci", 1, 0, true);
    c.co = int_field("co", 1, 0, true);
    c.w = int_field("w", 1, 0, true);
    c.h = int_field("h", 1, 0, true);
    c.n = int_field("n", 1, 0, true);
    c.k = int_field("k", 1, 0, true);
    c.stride = int_field("stride", 1, 1, false);
    if (fields.count("pad") && (fields.count("pad_x") || fields.count("pad_y"))) {
        throw Error(kernel + " --shape: field 'pad' sets both pad_x and pad_y; give either pad or pad_x/pad_y");
    }
    const int pad = int_field("pad", 0, 0, false);
    c.pad_x = int_field("pad_x", 0, pad, false);
    c.pad_y = int_field("pad_y", 0, pad, false);
    if (c.pad_x >= c.k || c.pad_y >= c.k) throw Error(kernel + " --shape: field 'pad' must be below k");
    const int ow = (c.w + 2 * c.pad_x - c.k) / c.stride + 1, oh = (c.h + 2 * c.pad_y - c.k) / c.stride + 1;
    c.ow = int_field("ow", 1, ow, false);
    c.oh = int_field("oh", 1, oh, false);
    if (c.ow < 1 || c.oh < 1) throw Error(kernel + " --shape: field 'k' is larger than the padded input");
    if (is_winograd(kernel) && (c.k != 3 || c.stride != 1)) {
        throw Error(kernel + " --shape: fields 'k' and 'stride': this kernel computes 3x3 stride-1 convolutions only");
    }
    const bool pointwise_shape = c.k == 1 && c.stride == 1 && c.pad_x == 0 && c.pad_y == 0;
    if (is_pointwise(kernel) && !pointwise_shape) {
        throw Error(kernel + " --shape: fields 'k', 'stride' and 'pad': this kernel computes 1x1 stride-1 "
                             "convolutions without padding only");
    }
    if ((c.ow - 1) * c.stride + c.k - c.pad_x > c.w + c.k || (c.oh - 1) * c.stride + c.k - c.pad_y > c.h + c.k) {
        throw Error(kernel + " --shape: field 'ow'/'oh' reads past the input by more than a kernel");
    }
    if (fields.count("act")) {
        if (!has_activation(kernel)) throw Error(kernel + " --shape: field 'act': this kernel has no activation");
        try {
            c.act = parse_activation_kind(fields["act"]);
        } catch (const Error &e) {
            throw Error(kernel + " --shape: field 'act': " + e.what());
        }
    }
    // rrelu's random slopes are keyed by each element's (c, x, y, n), which the pointwise kernels'
    // matrices renumber: the runtime runs the direct kernels there, and only there (conv2d_ops.cpp).
    if (is_pointwise(kernel) && c.act == ActivationKind::rrelu) {
        throw Error(kernel + " --shape: field 'act': rrelu runs the direct kernel (conv2d_" +
                    kernel.substr(std::string("pointwise_conv2d_").size()) + ")");
    }
    if (kernel.rfind("conv2d_", 0) == 0 && pointwise_shape && c.act != ActivationKind::rrelu) {
        throw Error(kernel + " --shape: a 1x1 stride-1 convolution without padding runs pointwise_" + kernel +
                    " (the direct kernel only with rrelu); tune that kernel");
    }
    return p;
}

std::string TuneProblem::spec() const {
    const ConvShape &c = conv;
    std::ostringstream s;
    s << "ci=" << c.ci << ",co=" << c.co << ",w=" << c.w << ",h=" << c.h << ",n=" << c.n << ",k=" << c.k
      << ",stride=" << c.stride;
    if (c.pad_x == c.pad_y) {
        s << ",pad=" << c.pad_x;
    } else {
        s << ",pad_x=" << c.pad_x << ",pad_y=" << c.pad_y;
    }
    s << ",ow=" << c.ow << ",oh=" << c.oh;
    if (has_activation(kernel)) s << ",act=" << activation_name(c.act);
    return s.str();
}

std::string TuneProblem::label() const {
    const ConvShape &c = conv;
    std::ostringstream s;
    s << "N=" << c.n << " " << c.w << "x" << c.h << " " << c.ci << "->" << c.co << " k" << c.k << " s" << c.stride;
    if (has_activation(kernel) && c.act != ActivationKind::identity) s << " " << activation_name(c.act);
    return s.str();
}

double TuneProblem::flops() const {
    const ConvShape &c = conv;
    return 2.0 * c.n * c.ow * c.oh * c.co * c.ci * c.k * c.k;
}

std::string TuneProblem::estimates() const {
    const ConvShape &c = conv;
    std::ostringstream s;
    s << "ci:" << c.ci << ",co:" << c.co << ",w:" << c.w << ",h:" << c.h << ",n:" << c.n << ",k:" << c.k
      << ",stride:" << c.stride << ",pad_x:" << c.pad_x << ",pad_y:" << c.pad_y << ",ow:" << c.ow << ",oh:" << c.oh
      << ",act:" << static_cast<int>(c.act);
    return s.str();
}

KernelArgs make_kernel_args(const TuneProblem &p, uint64_t seed, int threads) {
    std::mt19937_64 rng(seed);
    const ConvShape &c = p.conv;
    KernelArgs a;
    a.ints["stride"] = c.stride;
    a.ints["pad_x"] = c.pad_x;
    a.ints["pad_y"] = c.pad_y;
    a.ints["activation_kind"] = static_cast<int>(c.act);
    a.ints["output_width"] = c.ow;  // the Winograd forward's
    // The pointwise kernels take matrices over positions, as the runtime views the activations
    // (conv2d_ops.cpp); the others (c, x, y, n) tensors and (co, kx, ky, ci) filters. Their
    // backward-weights split the positions, the others the images, among `threads`.
    const bool pointwise = is_pointwise(p.kernel);
    const int positions = c.w * c.h * c.n;
    const std::vector<int> in = pointwise ? std::vector<int>{c.ci, positions} : std::vector<int>{c.ci, c.w, c.h, c.n};
    const std::vector<int> out = pointwise ? std::vector<int>{c.co, positions} : std::vector<int>{c.co, c.ow, c.oh, c.n};
    const std::vector<int> filter = pointwise ? std::vector<int>{c.co, c.ci} : std::vector<int>{c.co, c.k, c.k, c.ci};
    const KernelPass pass = pass_of(p.kernel);
    if (pass == KernelPass::forward) {
        a.buffers["input"] = random_buffer(in, rng);
        a.buffers["filter"] = random_buffer(filter, rng);
        a.buffers["bias"] = random_buffer({c.co}, rng);
        a.buffers["channel_slope"] = random_buffer({c.co}, rng);
        a.buffers["output.0"] = Halide::Buffer<float>(out);
        a.buffers["output.1"] = Halide::Buffer<float>(out);
    } else if (pass == KernelPass::backward_data) {
        a.buffers["output_grad"] = random_buffer(out, rng);
        a.buffers["filter"] = random_buffer(filter, rng);
        a.buffers["input_saved"] = random_buffer(in, rng);
        // As training reads the derivative (from the output where the kind allows it at its default
        // alpha): the timed epilogue is the one that runs.
        a.ints["derivative_from_output"] = has_derivative_from_output(c.act);
        a.buffers["channel_slope"] = random_buffer({c.ci}, rng);
        a.buffers["input_grad"] = Halide::Buffer<float>(in);
    } else {
        a.buffers["output_grad"] = random_buffer(out, rng);
        a.buffers["input"] = random_buffer(in, rng);
        a.ints["partitions"] = std::max(1, std::min(threads, pointwise ? positions : c.n));
        a.buffers["filter_grad"] = Halide::Buffer<float>(filter);
        a.buffers["bias_grad"] = Halide::Buffer<float>(std::vector<int>{c.co});
    }
    return a;
}

std::vector<std::string> output_names(const std::string &kernel) {
    switch (pass_of(kernel)) {
    case KernelPass::forward: return {"output.0", "output.1"};
    case KernelPass::backward_data: return {"input_grad"};
    case KernelPass::backward_weights: break;
    }
    return {"filter_grad", "bias_grad"};
}

std::string compiled_kinds(const TuneProblem &p) {
    return has_activation(p.kernel) ? std::to_string(static_cast<int>(p.conv.act)) : "";
}

}  // namespace hnn::tune
