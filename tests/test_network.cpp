// The trainer's network end to end: every parameter's gradient against central differences of the
// whole network's loss, dilated backprop against a direct float64 implementation, presets' shapes,
// model files' validation, and the optimizer driver against the textbook update.

#include "divergence_guard.h"
#include "network.h"
#include "optimizer.h"
#include "reference_activations.h"
#include "reference_conv.h"
#include "test_util.h"

#include "hnn/error.h"

#include <fstream>
#include <limits>

namespace hnn {
namespace {

using nlohmann::json;

Tensor random_images(const Shape3 &s, int n) {
    return test::random_tensor({s.channels, s.width, s.height, n}, 0.0f, 1.0f);
}

std::vector<int32_t> random_labels(int n, int classes) {
    std::uniform_int_distribution<int> u(0, classes - 1);
    std::vector<int32_t> labels(n);
    for (int32_t &l : labels) l = u(test::rng());
    return labels;
}

// Central differences of the network's float32 loss, element by element, against the gradients of
// one backward pass. h = 1e-2 keeps float32 rounding of a loss near 2 (about 1e-7) far below the
// gradients checked; smooth activations keep the O(h^2) error small.
// The key is a training one: dropout draws a mask, the same one in every pass with this key.
void check_gradients_by_finite_differences(Network &net, Tensor &images, const std::vector<int32_t> &labels) {
    const RandomKey key{true, 5, 3};
    net.forward(images, labels, key);
    net.backward(images, key);
    std::vector<Parameter> params = net.parameters();
    REQUIRE(!params.empty());
    const float h = 1e-2f;
    for (Parameter &p : params) {
        const std::vector<float> analytic(p.grad->host(), p.grad->host() + p.grad->size());
        // Every element of small tensors, an even spread of large ones.
        const size_t stride = std::max<size_t>(1, p.value->size() / 40);
        size_t misses = 0;
        std::ostringstream report;
        for (size_t i = 0; i < p.value->size(); i += stride) {
            float *w = p.value->host();
            const float saved = w[i];
            w[i] = saved + h;
            p.value->host_changed();
            const double plus = net.forward(images, labels, key).loss;
            p.value->host()[i] = saved - h;
            p.value->host_changed();
            const double minus = net.forward(images, labels, key).loss;
            p.value->host()[i] = saved;
            p.value->host_changed();
            const double numeric = (plus - minus) / (2.0 * h);
            if (!(std::fabs(numeric - analytic[i]) <= 3e-2 * std::fabs(numeric) + 3e-4)) {
                if (misses++ < 5) report << "  [" << i << "] backward " << analytic[i] << " finite differences " << numeric << "\n";
            }
        }
        INFO(p.name << " " << p.value->shape_string() << ": " << misses << " elements disagree\n" << report.str());
        CHECK(misses == 0);
    }
}

ModelSpec every_layer_kind_model() {
    const json model = json::parse(R"({"name": "every-layer", "layers": [
        {"type": "conv", "out_channels": 6, "kernel": 3, "bias": true, "activation": "celu"},
        {"type": "conv", "out_channels": 6, "kernel": 2, "stride": 2, "activation": "prelu"},
        {"type": "max_pool", "kernel": 2, "stride": 1},
        {"type": "activation", "name": "tanh"},
        {"type": "conv", "out_channels": 8, "kernel": 3, "padding": 1, "bias": true, "activation": "swish"},
        {"type": "dropout", "rate": 0.3},
        {"type": "avg_pool", "kernel": 2},
        {"type": "conv", "out_channels": 7, "kernel": 1, "activation": "softplus"},
        {"type": "global_avg_pool"}
    ]})");
    return model_from_json(model, "test model", make_activation("celu", {}), {"celu.alpha=2", "swish.beta=1.5"});
}

TEST_CASE("network: every parameter's gradient matches finite differences of the whole loss", "[network]") {
    // Its own draws, whatever ran before in this process: a difference of h = 1e-2 can cross a max
    // pool's or prelu's kink, which some draws put within reach (two did in a whole-binary run).
    test::rng().seed(Catch::rngSeed());
    const Shape3 input{3, 9, 9};
    Network net(every_layer_kind_model(), input, 7);
    net.initialize(parse_init("glorot"), 7);
    // Biases, slopes and beta away from their initial values, so that each gradient path is exercised.
    for (Parameter &p : net.parameters()) {
        if (p.name.find("filter") != std::string::npos) continue;
        float *v = p.value->host();
        for (size_t i = 0; i < p.value->size(); i++) v[i] += 0.1f * static_cast<float>(i % 5) - 0.2f;
        p.value->host_changed();
    }
    Tensor images = random_images(input, 3);
    check_gradients_by_finite_differences(net, images, random_labels(3, 7));
}

// Evaluation writes no pre-activations: the same loss and outputs, and no backward from it.
TEST_CASE("network: an evaluation forward matches the training forward and refuses a backward", "[network]") {
    const Shape3 input{3, 9, 9};
    Network net(every_layer_kind_model(), input, 7);
    net.initialize(parse_init("glorot"), 11);
    Tensor images = random_images(input, 4);
    const std::vector<int32_t> labels = random_labels(4, 7);
    const LossResult trained = net.forward(images, labels, RandomKey{});
    std::vector<std::vector<float>> outputs;
    for (const Layer &l : net.layers()) outputs.emplace_back(l.output.host(), l.output.host() + l.output.size());
    // The pre-activations of the training pass, overwritten if the evaluation wrote them.
    for (const Layer &l : net.layers()) {
        if (l.pre_activation.defined()) const_cast<Tensor &>(l.pre_activation).fill(-7.0f);
    }
    const LossResult evaluated = net.forward(images, labels, RandomKey{}, /*for_backward=*/false);
    CHECK(evaluated.loss == trained.loss);
    CHECK(evaluated.correct == trained.correct);
    bool kept_some = false;
    for (size_t i = 0; i < net.layers().size(); i++) {
        const Layer &l = net.layers()[i];
        INFO("layer " << i);
        CHECK(std::equal(outputs[i].begin(), outputs[i].end(), l.output.host()));
        if (!l.pre_activation.defined()) continue;
        kept_some = true;
        CHECK(std::all_of(l.pre_activation.host(), l.pre_activation.host() + l.pre_activation.size(),
                          [](float v) { return v == -7.0f; }));
    }
    CHECK(kept_some);  // prelu, swish and softplus convs keep theirs for training
    REQUIRE_THROWS_WITH(net.backward(images, RandomKey{}), Catch::Contains("backward after a forward that kept nothing"));
    net.forward(images, labels, RandomKey{});
    net.backward(images, RandomKey{});
}

// Images [first, first + count) of a batch, as a data-parallel rank holds its shard.
Tensor batch_slice(Tensor &images, int first, int count) {
    Tensor shard({images.dim(0), images.dim(1), images.dim(2), count});
    const size_t per_image = images.size() / images.dim(3);
    std::copy(images.host() + first * per_image, images.host() + (first + count) * per_image, shard.host());
    shard.host_changed();
    return shard;
}

std::vector<std::vector<float>> gradients(Network &net) {
    std::vector<std::vector<float>> g;
    for (Parameter &p : net.parameters()) g.emplace_back(p.grad->host(), p.grad->host() + p.grad->size());
    return g;
}

// Data-parallel training rests on this: a batch's gradient is the size-weighted mean of its shards'
// gradients, random layers included, when each shard passes its first image's index as the key's
// batch_offset (then rrelu and dropout draw what a single process draws for those images).
TEST_CASE("network: a batch's gradients are the size-weighted mean of its shards' (rrelu, dropout)", "[network][mpi]") {
    const json model = json::parse(R"({"name": "random-layers", "layers": [
        {"type": "conv", "out_channels": 6, "kernel": 3, "activation": "rrelu"},
        {"type": "dropout", "rate": 0.3},
        {"type": "conv", "out_channels": 6, "kernel": 3, "stride": 2, "activation": "prelu"},
        {"type": "activation", "name": "rrelu"},
        {"type": "conv", "out_channels": 5, "kernel": 1},
        {"type": "global_avg_pool"}
    ]})");
    const Shape3 input{2, 9, 9};
    const ModelSpec spec = model_from_json(model, "test model", make_activation("relu", {}), {});
    Network whole(spec, input, 5), shard(spec, input, 5);
    whole.initialize(parse_init("glorot"), 3);
    shard.initialize(parse_init("glorot"), 3);
    Tensor images = random_images(input, 5);
    const std::vector<int32_t> labels = random_labels(5, 5);
    const RandomKey key{true, 9, 4};
    const double whole_loss = whole.forward(images, labels, key).loss;
    whole.backward(images, key);
    const std::vector<std::vector<float>> expected = gradients(whole);

    // Shards of 2 and 3 images: their gradients weighted 2/5 and 3/5.
    std::vector<std::vector<float>> combined = expected;
    for (auto &g : combined) std::fill(g.begin(), g.end(), 0.0f);
    double combined_loss = 0;
    for (auto [first, count] : {std::pair{0, 2}, std::pair{2, 3}}) {
        Tensor part = batch_slice(images, first, count);
        RandomKey k = key;
        k.batch_offset = first;
        const std::vector<int32_t> part_labels(labels.begin() + first, labels.begin() + first + count);
        combined_loss += shard.forward(part, part_labels, k).loss * count / 5.0;
        shard.backward(part, k);
        const std::vector<std::vector<float>> g = gradients(shard);
        for (size_t p = 0; p < g.size(); p++) {
            for (size_t i = 0; i < g[p].size(); i++) combined[p][i] += g[p][i] * count / 5.0f;
        }
    }
    CHECK(combined_loss == Approx(whole_loss).epsilon(1e-5));
    const std::vector<Parameter> params = whole.parameters();
    for (size_t p = 0; p < expected.size(); p++) {
        size_t misses = 0;
        for (size_t i = 0; i < expected[p].size(); i++) {
            misses += !(std::fabs(combined[p][i] - expected[p][i]) <= 1e-4 * std::fabs(expected[p][i]) + 1e-6);
        }
        INFO(params[p].name << ": " << misses << " of " << expected[p].size() << " elements differ");
        CHECK(misses == 0);
    }

    // Without the offset the second shard draws the first images' numbers, and the gradients differ.
    Tensor part = batch_slice(images, 2, 3);
    shard.forward(part, std::vector<int32_t>(labels.begin() + 2, labels.end()), key);
    shard.backward(part, key);
    const std::vector<std::vector<float>> unkeyed = gradients(shard);
    RandomKey keyed = key;
    keyed.batch_offset = 2;
    shard.forward(part, std::vector<int32_t>(labels.begin() + 2, labels.end()), keyed);
    shard.backward(part, keyed);
    CHECK(gradients(shard)[0] != unkeyed[0]);
}

TEST_CASE("network: celu7 gradients match finite differences (fused activation derivatives)", "[network]") {
    const Shape3 input{1, 28, 28};
    PresetOptions o;
    o.width = 3;
    o.activation = make_activation("celu", {"celu.alpha=2"});
    o.bias = true;
    Network net(preset_model("celu7", o, input), input, 10);
    net.initialize(parse_init("he"), 3);
    Tensor images = random_images(input, 2);
    check_gradients_by_finite_differences(net, images, random_labels(2, 10));
}

TEST_CASE("network: a pool above a conv takes its activation derivative, with the gradients of separate layers",
          "[network]") {
    // Each conv's activation in the conv (its derivative applied in the pool's backward: max and
    // average pools with tiled windows run the fused kernels, the 3x3 stride-2 max pool two calls),
    // against the same network with the activations as layers of their own (activation_backward,
    // then the pool's plain backward). Derivatives read from the output (elu, relu, tanh) and from
    // the kept pre-activation (softplus). The same parameters in the same order get the same initial
    // values, and the gradients agree to rounding.
    auto model = [](bool separate) {
        std::string layers;
        auto conv = [&](const std::string &fields, const std::string &activation) {
            layers += R"({"type": "conv", )" + fields + R"(, "activation": ")" + (separate ? "none" : activation) + "\"},";
            if (separate) layers += R"({"type": "activation", "name": ")" + activation + "\"},";
        };
        conv(R"("out_channels": 4, "kernel": 3, "padding": 1, "bias": true)", "elu");
        layers += R"({"type": "max_pool", "kernel": 2, "stride": 2},)";
        conv(R"("out_channels": 5, "kernel": 3, "padding": 1)", "softplus");
        layers += R"({"type": "max_pool", "kernel": 3, "stride": 2},)";
        conv(R"("out_channels": 6, "kernel": 1, "bias": true)", "relu");
        layers += R"({"type": "avg_pool", "kernel": 2},)";
        conv(R"("out_channels": 6, "kernel": 1)", "tanh");
        layers += R"({"type": "avg_pool", "kernel": 1},{"type": "global_avg_pool"})";
        return model_from_json(json::parse(R"({"name": "pools", "layers": [)" + layers + "]}"), "test model",
                               make_activation("relu", {}), {});
    };
    const Shape3 input{3, 12, 12};
    Network fused(model(false), input, 6), separate(model(true), input, 6);
    fused.initialize(parse_init("he"), 5);
    separate.initialize(parse_init("he"), 5);
    Tensor images = random_images(input, 3);
    const std::vector<int32_t> labels = random_labels(3, 6);
    const RandomKey key{true, 9, 4};
    for (Network *net : {&fused, &separate}) {
        net->forward(images, labels, key);
        net->backward(images, key);
    }
    std::vector<Parameter> a = fused.parameters(), b = separate.parameters();
    REQUIRE(a.size() == b.size());
    for (size_t k = 0; k < a.size(); k++) {
        REQUIRE(std::equal(a[k].value->host(), a[k].value->host() + a[k].value->size(), b[k].value->host()));
        test::require_close(*a[k].grad, [&](size_t i) { return b[k].grad->host()[i]; }, 1e-5, 1e-7, a[k].name);
    }
}

// --- dilated backprop, written out directly in float64 for celu7 on 28x28 ---

std::vector<float> to_float(const std::vector<double> &v) {
    return std::vector<float>(v.begin(), v.end());
}

std::vector<double> avg_pool2_backward(const std::vector<double> &dout, int c, int ow, int oh, int iw, int ih, int n) {
    std::vector<double> din(size_t(c) * iw * ih * n, 0.0);
    for (int b = 0; b < n; b++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                for (int ky = 0; ky < 2; ky++)
                    for (int kx = 0; kx < 2; kx++)
                        for (int ch = 0; ch < c; ch++)
                            din[reference::at4(ch, 2 * x + kx, 2 * y + ky, b, c, iw, ih)] +=
                                dout[reference::at4(ch, x, y, b, c, ow, oh)] / 4.0;
    return din;
}

std::vector<double> upsample_nearest(const std::vector<double> &small, int c, int sw, int sh, int w, int h, int n) {
    std::vector<double> out(size_t(c) * w * h * n);
    for (int b = 0; b < n; b++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++)
                    out[reference::at4(ch, x, y, b, c, w, h)] = small[reference::at4(ch, x * sw / w, y * sh / h, b, c, sw, sh)];
    return out;
}

TEST_CASE("network: dilated backprop matches a direct implementation on celu7", "[network][dilated]") {
    const Shape3 input{1, 28, 28};
    const int n = 2, width = 4;
    PresetOptions o;
    o.width = width;
    o.activation = make_activation("celu", {"celu.alpha=2"});
    Network net(preset_model("celu7", o, input), input, 10);
    net.initialize(parse_init("he"), 11);
    Tensor images = random_images(input, n);
    const std::vector<int32_t> labels = random_labels(n, 10);
    const DilatedBackprop dilated = parse_dilated_backprop("0.5:0.5");
    const int epoch = 2;  // scale 0.5 / (1 + 0.5 * 2) = 0.25
    net.forward(images, labels, RandomKey{});
    // The loss kernel's dL/dlogits, before backward touches anything.
    const Tensor &logits_grad = net.layers().back().output_grad;
    const std::vector<float> dlogits(logits_grad.host(), logits_grad.host() + logits_grad.size());
    net.backward(images, RandomKey{}, dilated, epoch);

    // The convs of the network, in order, with the input each one reads.
    std::vector<const Layer *> convs;
    std::vector<const Tensor *> conv_inputs;
    for (size_t i = 0; i < net.layers().size(); i++) {
        if (net.layers()[i].spec.kind != LayerKind::conv) continue;
        convs.push_back(&net.layers()[i]);
        conv_inputs.push_back(i == 0 ? &images : &net.layers()[i - 1].output);
    }
    const int count = static_cast<int>(convs.size());
    REQUIRE(count == 7);
    const float scale = 0.25f;
    reference::ActivationParams celu;
    celu.alpha = 2;

    std::vector<std::vector<double>> raw(count);  // gradient at conv k's output from the path above
    raw[count - 1].assign(dlogits.begin(), dlogits.end());
    for (int k = count - 1; k >= 0; k--) {
        const Layer &l = *convs[k];
        std::vector<double> g = raw[k];
        // Conv k (0-based) >= 1 with a conv k+2 takes the upsampled gradient at conv k+2's input, which is
        // the gradient at conv k+1's output.
        if (k >= 1 && k + 2 < count) {
            const Layer &next = *convs[k + 1];
            std::vector<double> up = upsample_nearest(raw[k + 1], next.out.channels, next.out.width, next.out.height,
                                                      l.out.width, l.out.height, n);
            for (size_t i = 0; i < g.size(); i++) g[i] += scale * up[i];
        }
        // celu's forward keeps only its output y (alpha > 0): f' is 1 where y > 0, else e^(x/alpha) = y/alpha + 1.
        REQUIRE_FALSE(l.pre_activation.defined());
        const float *y = l.output.host();
        for (size_t i = 0; i < g.size(); i++) g[i] *= y[i] > 0 ? 1.0 : double(y[i]) / celu.alpha + 1.0;
        const std::vector<float> dpre = to_float(g);
        const reference::ConvShape s{l.in.channels, l.in.width, l.in.height, n, l.out.channels, l.spec.kernel, l.spec.kernel,
                                     l.geometry.stride, l.geometry.pad_x, l.geometry.pad_y, l.out.width, l.out.height};
        const std::vector<double> dw = reference::conv_backward_weights(s, dpre.data(), conv_inputs[k]->host());
        test::require_close(l.filter_grad, [&](size_t i) { return dw[i]; }, 1e-3, 1e-6, "conv " + std::to_string(k + 1) + " filter gradient");
        if (k == 0) break;
        std::vector<double> din = reference::conv_backward_data(s, dpre.data(), l.filter.host());
        const Layer &below = *convs[k - 1];
        if (below.out.width != l.in.width) {  // an average pool between the two convs
            din = avg_pool2_backward(din, l.in.channels, l.in.width, l.in.height, below.out.width, below.out.height, n);
        }
        raw[k - 1] = din;
    }
}

TEST_CASE("network: dilated backprop with rate 0 changes nothing, and its scale decays with the epoch", "[network][dilated]") {
    CHECK_FALSE(parse_dilated_backprop("0").enabled());
    const DilatedBackprop d = parse_dilated_backprop("1:0.1");
    CHECK(d.scale(0) == Approx(1.0));
    CHECK(d.scale(10) == Approx(0.5));
    REQUIRE_THROWS_WITH(parse_dilated_backprop("x"), Catch::Contains("--dilated-backprop"));
    REQUIRE_THROWS_WITH(parse_dilated_backprop("1:-1"), Catch::Contains("decay"));
}

// --- presets and model files ---

TEST_CASE("network: presets have the reference experiments' shapes", "[network][model]") {
    PresetOptions o;
    o.activation = make_activation("celu", {});
    SECTION("celu7 on 28x28x1: four pools, 7x7 -> 3x3, ends in 1x1x10") {
        const ModelSpec m = preset_model("celu7", o, {1, 28, 28});
        const std::vector<Shape3> s = layer_output_shapes(m, {1, 28, 28}, 10);
        int pools = 0;
        for (const LayerSpec &l : m.layers) pools += l.kind == LayerKind::avg_pool;
        CHECK(pools == 4);
        CHECK(s[0].channels == 200);
        CHECK(s[0].width == 28);
        CHECK(s.back().channels == 10);
    }
    SECTION("celu7 on 32x32x3: five pools") {
        const ModelSpec m = preset_model("celu7", o, {3, 32, 32});
        int pools = 0;
        for (const LayerSpec &l : m.layers) pools += l.kind == LayerKind::avg_pool;
        CHECK(pools == 5);
        CHECK_NOTHROW(layer_output_shapes(m, {3, 32, 32}, 10));
    }
    SECTION("allconv W=96: 96, 96, 192 channels, 8x8 before the global mean") {
        const ModelSpec m = preset_model("allconv", o, {3, 32, 32});
        const std::vector<Shape3> s = layer_output_shapes(m, {3, 32, 32}, 10);
        CHECK(s[0].channels == 96);
        CHECK(s[2].channels == 192);
        CHECK(s[s.size() - 2].width == 8);
        CHECK(m.layers.back().kind == LayerKind::global_avg_pool);
    }
    SECTION("allcnn-c with dropout: 0.2 on the input, 0.5 after each stride-2 conv") {
        o.dropout = true;
        const ModelSpec m = preset_model("allcnn-c", o, {3, 32, 32});
        REQUIRE(m.layers[0].kind == LayerKind::dropout);
        CHECK(m.layers[0].rate == 0.2f);
        CHECK(m.layers[4].kind == LayerKind::dropout);
        CHECK(m.layers[3].stride == 2);
        CHECK(m.layers[8].kind == LayerKind::dropout);
        CHECK(m.layers[7].stride == 2);
    }
    SECTION("allcnn-c: stride-2 convs halve 32 -> 16 -> 8, the valid conv makes 6x6") {
        const ModelSpec m = preset_model("allcnn-c", o, {3, 32, 32});
        const std::vector<Shape3> s = layer_output_shapes(m, {3, 32, 32}, 10);
        CHECK(s[2].width == 16);
        CHECK(s[5].width == 8);
        CHECK(s[6].width == 6);
    }
    SECTION("--no-final-activation removes only the last conv's activation") {
        o.final_activation = false;
        const ModelSpec m = preset_model("celu7", o, {1, 28, 28});
        CHECK(m.layers.back().activation.kind == ActivationKind::identity);
        CHECK(m.layers.front().activation.kind == ActivationKind::celu);
    }
    REQUIRE_THROWS_WITH(preset_model("resnet", o, {1, 28, 28}), Catch::Contains("unknown model 'resnet'"));
}

TEST_CASE("network: model files round-trip and bad ones name the layer and field", "[network][model]") {
    const ModelSpec m = every_layer_kind_model();
    const ModelSpec back = model_from_json(model_to_json(m), "round trip", make_activation("relu", {}));
    REQUIRE(back.layers.size() == m.layers.size());
    CHECK(model_to_json(back) == model_to_json(m));
    CHECK(back.layers[0].activation.alpha == 2.0f);  // celu.alpha=2 from the params
    CHECK(back.layers[4].activation.beta == 1.5f);

    const Activation relu = make_activation("relu", {});
    auto bad = [&](const char *text) { return model_from_json(json::parse(text), "m.json", relu); };
    REQUIRE_THROWS_WITH(bad(R"({"layers": [{"type": "conv", "kernel": 3}]})"),
                        Catch::Contains("m.json: layer 0") && Catch::Contains("out_channels"));
    REQUIRE_THROWS_WITH(bad(R"({"layers": [{"type": "conv", "out_channels": 4, "kernel": 0}]})"),
                        Catch::Contains("layer 0") && Catch::Contains("'kernel'"));
    REQUIRE_THROWS_WITH(bad(R"({"layers": [{"type": "global_avg_pool"}, {"type": "dense"}]})"),
                        Catch::Contains("layer 1") && Catch::Contains("unknown layer type 'dense'"));
    REQUIRE_THROWS_WITH(bad(R"({"layers": [{"type": "avg_pool", "kernal": 2}]})"),
                        Catch::Contains("unknown field 'kernal'"));
    REQUIRE_THROWS_WITH(bad(R"({"layers": [{"type": "conv", "out_channels": 4, "kernel": 3, "activation": "gelu"}]})"),
                        Catch::Contains("layer 0") && Catch::Contains("unknown activation 'gelu'"));
    REQUIRE_THROWS_WITH(bad(R"({"layers": []})"), Catch::Contains("empty"));
    REQUIRE_THROWS_WITH(load_model_file("/nonexistent/model.json", relu, {}), Catch::Contains("/nonexistent/model.json"));

    // Shapes: a kernel that does not fit, and a network that does not end in one logit per class.
    const ModelSpec too_big = bad(R"({"layers": [{"type": "conv", "out_channels": 10, "kernel": 9, "padding": "valid"}]})");
    REQUIRE_THROWS_WITH(layer_output_shapes(too_big, {1, 5, 5}, 10), Catch::Contains("layer 0 (conv)"));
    const ModelSpec no_logits = bad(R"({"layers": [{"type": "conv", "out_channels": 4, "kernel": 3}]})");
    REQUIRE_THROWS_WITH(layer_output_shapes(no_logits, {1, 5, 5}, 10), Catch::Contains("must end in 1x1x10"));
}

TEST_CASE("network: a batch of the wrong shape is refused with both shapes named", "[network]") {
    PresetOptions o;
    o.width = 2;
    o.activation = make_activation("relu", {});
    Network net(preset_model("celu7", o, {1, 28, 28}), {1, 28, 28}, 10);
    Tensor wrong({3, 32, 32, 2});
    REQUIRE_THROWS_WITH(net.forward(wrong, {0, 1}, RandomKey{}), Catch::Contains("(c=3, x=32, y=32, n=2)") && Catch::Contains("28x28x1"));
}

TEST_CASE("divergence guard: a non-finite gradient, weight or output is found and named", "[network][faults]") {
    const Shape3 input{3, 9, 9};
    Network net(every_layer_kind_model(), input, 7);
    net.initialize(parse_init("glorot"), 7);
    Tensor images = random_images(input, 3);
    net.forward(images, random_labels(3, 7), RandomKey{});
    net.backward(images, RandomKey{});
    REQUIRE(nonfinite_gradient(net).empty());
    REQUIRE(nonfinite_forward(net).empty());
    // Gradients: the topmost layer holding one is named (where the backward pass produced it).
    std::vector<Parameter> params = net.parameters();
    auto poison = [](Tensor &t, size_t element, float value) {
        t.host()[element] = value;
        t.host_changed();
    };
    poison(*params.front().grad, 1, std::numeric_limits<float>::quiet_NaN());
    poison(*params.back().grad, 0, std::numeric_limits<float>::infinity());
    const std::string top = params.back().name.substr(5, params.back().name.find('.') - 5);  // "layerN.x" -> N
    CHECK_THAT(nonfinite_gradient(net), Catch::Contains("gradient of layer " + top + " (") && Catch::Contains("inf"));
    // Weights come first in the forward search, in forward order.
    poison(*params.front().value, 2, -std::numeric_limits<float>::infinity());
    const std::string first = params.front().name.substr(5, params.front().name.find('.') - 5);
    CHECK_THAT(nonfinite_parameter(net), Catch::Contains("filter of layer " + first + " (conv) holds -inf (element 2"));
    CHECK(nonfinite_forward(net) == nonfinite_parameter(net));
}

TEST_CASE("network: initializations have the stated spread", "[network]") {
    PresetOptions o;
    o.width = 64;
    o.activation = make_activation("relu", {});
    Network net(preset_model("celu7", o, {1, 28, 28}), {1, 28, 28}, 10);
    auto spread = [&](const std::string &init) {
        net.initialize(parse_init(init), 5);
        const Tensor &w = net.layers()[1].filter;  // 3x3, 64 -> 64: fan_in 576
        double sum2 = 0;
        for (size_t i = 0; i < w.size(); i++) sum2 += double(w.host()[i]) * w.host()[i];
        return std::sqrt(sum2 / w.size());
    };
    CHECK(spread("he") == Approx(std::sqrt(2.0 / 576)).epsilon(0.03));
    CHECK(spread("normal:0.05") == Approx(0.05).epsilon(0.03));
    CHECK(spread("glorot") == Approx(std::sqrt(6.0 / 1152) / std::sqrt(3.0)).epsilon(0.03));
    REQUIRE_THROWS_WITH(parse_init("normal:-1"), Catch::Contains("positive"));
    REQUIRE_THROWS_WITH(parse_init("xavier"), Catch::Contains("--init 'xavier'"));
}

// --- the optimizer driver ---

TEST_CASE("optimizer: AMSGrad over three steps follows the textbook update for every parameter", "[optimizer]") {
    Tensor a = test::random_tensor({5}), b = test::random_tensor({2, 3});
    Tensor ga({5}), gb({2, 3});
    Optimizer opt({OptimizerKind::amsgrad, 0, false, 0.9f, 0.99f, 1e-8f, 0.01f, false},
                  {{"a", &a, &ga}, {"b", &b, &gb}});
    struct Ref {
        std::vector<double> w, m, v, vmax;
    };
    std::vector<Ref> ref;
    for (Tensor *t : {&a, &b}) ref.push_back({std::vector<double>(t->host(), t->host() + t->size()),
                                              std::vector<double>(t->size()), std::vector<double>(t->size()),
                                              std::vector<double>(t->size())});
    const double lr = 0.05, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.01;
    for (int step = 1; step <= 3; step++) {
        Tensor *grads[] = {&ga, &gb};
        for (int p = 0; p < 2; p++) {
            Tensor fresh = test::random_tensor(grads[p]->shape());
            std::copy(fresh.host(), fresh.host() + fresh.size(), grads[p]->host());
            grads[p]->host_changed();
            Ref &r = ref[p];
            for (size_t i = 0; i < r.w.size(); i++) {
                const double g = grads[p]->host()[i] + wd * r.w[i];
                r.m[i] = b1 * r.m[i] + (1 - b1) * g;
                r.v[i] = b2 * r.v[i] + (1 - b2) * g * g;
                r.vmax[i] = std::max(r.vmax[i], r.v[i]);
                const double m_hat = r.m[i] / (1 - std::pow(b1, step));
                const double v_hat = r.vmax[i] / (1 - std::pow(b2, step));
                r.w[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
            }
        }
        opt.step(static_cast<float>(lr));
    }
    CHECK(opt.steps() == 3);
    test::require_close(a, [&](size_t i) { return ref[0].w[i]; }, 1e-5, 1e-6, "a after 3 AMSGrad steps");
    test::require_close(b, [&](size_t i) { return ref[1].w[i]; }, 1e-5, 1e-6, "b after 3 AMSGrad steps");
    std::vector<std::string> names;
    for (const StateTensor &s : opt.state()) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"amsgrad.m.a", "amsgrad.v.a", "amsgrad.v_max.a", "amsgrad.m.b", "amsgrad.v.b",
                                            "amsgrad.v_max.b"});
}

TEST_CASE("optimizer: learning-rate schedules", "[optimizer]") {
    CHECK(parse_lr_schedule("constant").lr_at(0.1f, 7, 10) == Approx(0.1));
    CHECK(parse_lr_schedule("step:2:0.5").lr_at(0.1f, 5, 10) == Approx(0.1 * 0.25));
    CHECK(parse_lr_schedule("cosine").lr_at(0.1f, 0, 10) == Approx(0.1));
    CHECK(parse_lr_schedule("cosine").lr_at(0.1f, 5, 10) == Approx(0.05));
    REQUIRE_THROWS_WITH(parse_lr_schedule("step:0:0.5"), Catch::Contains("--lr-schedule 'step:0:0.5'"));
    REQUIRE_THROWS_WITH(parse_optimizer("rmsprop"), Catch::Contains("rmsprop"));
}

}  // namespace
}  // namespace hnn
