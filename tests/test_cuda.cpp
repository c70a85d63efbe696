// The CUDA kernels against the CPU kernels on the same inputs, one test case per kernel family.
// ctest labels these `cuda`; where no CUDA device answers each case exits with code 77, which
// ctest reports as skipped (not passed).

#include "hnn/activation_ops.h"
#include "hnn/conv2d_ops.h"
#include "hnn/loss_ops.h"
#include "hnn/optimizer_ops.h"
#include "hnn/pooling_ops.h"
#include "test_util.h"

#include <cstdio>
#include <cstdlib>

using namespace hnn;
using hnn::test::random_tensor;
using hnn::test::require_close;

namespace {

void require_gpu_or_skip() {
    if (!cuda_available()) {
        std::printf("skipped: no CUDA device answers on this machine\n");
        std::fflush(stdout);
        std::_Exit(77);
    }
}

// A device copy of a CPU tensor (the data moves to the GPU on first kernel use).
Tensor on_gpu(const Tensor &t) {
    Tensor g(t.shape(), Device::cuda);
    std::copy(t.host(), t.host() + t.size(), g.host());
    g.host_changed();
    return g;
}

void require_same_values(const Tensor &gpu, const Tensor &cpu, const char *what, double tol = 1e-4) {
    require_close(gpu, [&](size_t i) { return double(cpu.host()[i]); }, tol, tol, what);
}

}  // namespace

TEST_CASE("activations match the CPU kernels", "[cuda]") {
    require_gpu_or_skip();
    for (ActivationKind k : all_activations()) {
        Activation a;
        a.kind = k;
        const std::vector<int> shape = {37, 9, 5, 3};
        Tensor x = random_tensor(shape, -6, 6), dy = random_tensor(shape);
        Tensor slope = random_tensor({37}, 0, 0.5f);
        Tensor y(shape), dx(shape);
        RandomKey key{true, 5u, 2};
        activation_forward(a, x, y, key, &slope);
        activation_backward(a, x, dy, dx, key, &slope);
        Tensor gx = on_gpu(x), gdy = on_gpu(dy), gs = on_gpu(slope), gy(shape, Device::cuda), gdx(shape, Device::cuda);
        activation_forward(a, gx, gy, key, &gs);
        activation_backward(a, gx, gdy, gdx, key, &gs);
        INFO(activation_name(k));
        require_same_values(gy, y, "forward");
        require_same_values(gdx, dx, "backward");
    }
}

TEST_CASE("convolution forward, backward-data and backward-weights match the CPU kernels", "[cuda]") {
    require_gpu_or_skip();
    Conv2dGeometry g = conv2d_geometry(13, 11, 3, 3, 2, parse_padding("same"));
    Tensor input = random_tensor({19, 13, 11, 3}), filter = random_tensor({40, 3, 3, 19}), bias = random_tensor({40});
    const std::vector<int> out_shape = {40, g.out_width, g.out_height, 3};
    Activation elu;
    elu.kind = ActivationKind::elu;
    Tensor out(out_shape), pre(out_shape), dout = random_tensor(out_shape), din({19, 13, 11, 3}), dw({40, 3, 3, 19}), db({40});
    conv2d_forward(input, filter, &bias, g, elu, out, pre);
    conv2d_backward_data(dout, filter, g, din, &elu, &input);
    conv2d_backward_weights(dout, input, g, dw, &db);
    Tensor gi = on_gpu(input), gf = on_gpu(filter), gb = on_gpu(bias), gdout = on_gpu(dout);
    Tensor gout(out_shape, Device::cuda), gpre(out_shape, Device::cuda), gdin({19, 13, 11, 3}, Device::cuda);
    Tensor gdw({40, 3, 3, 19}, Device::cuda), gdb({40}, Device::cuda);
    conv2d_forward(gi, gf, &gb, g, elu, gout, gpre);
    conv2d_backward_data(gdout, gf, g, gdin, &elu, &gi);
    conv2d_backward_weights(gdout, gi, g, gdw, &gdb);
    require_same_values(gout, out, "forward output");
    require_same_values(gpre, pre, "forward pre-activation");
    require_same_values(gdin, din, "backward-data");
    require_same_values(gdw, dw, "backward-weights");
    require_same_values(gdb, db, "bias gradient");
}

TEST_CASE("pooling matches the CPU kernels", "[cuda]") {
    require_gpu_or_skip();
    Tensor in = random_tensor({21, 7, 7, 2}), dout = random_tensor({21, 3, 3, 2}), gdout_pool = random_tensor({21, 2});
    Tensor avg({21, 3, 3, 2}), mx({21, 3, 3, 2}), davg({21, 7, 7, 2}), dmx({21, 7, 7, 2}), glob({21, 2}), dglob({21, 7, 7, 2});
    avg_pool_forward(in, 2, 2, avg);
    avg_pool_backward(dout, 2, 2, davg);
    max_pool_forward(in, 2, 2, mx);
    max_pool_backward(in, dout, 2, 2, dmx);
    global_avg_pool_forward(in, glob);
    global_avg_pool_backward(gdout_pool, dglob);
    Tensor gin = on_gpu(in), gdout = on_gpu(dout), gg = on_gpu(gdout_pool);
    Tensor gavg({21, 3, 3, 2}, Device::cuda), gmx({21, 3, 3, 2}, Device::cuda), gdavg({21, 7, 7, 2}, Device::cuda);
    Tensor gdmx({21, 7, 7, 2}, Device::cuda), gglob({21, 2}, Device::cuda), gdglob({21, 7, 7, 2}, Device::cuda);
    avg_pool_forward(gin, 2, 2, gavg);
    avg_pool_backward(gdout, 2, 2, gdavg);
    max_pool_forward(gin, 2, 2, gmx);
    max_pool_backward(gin, gdout, 2, 2, gdmx);
    global_avg_pool_forward(gin, gglob);
    global_avg_pool_backward(gg, gdglob);
    require_same_values(gavg, avg, "avg forward");
    require_same_values(gdavg, davg, "avg backward");
    require_same_values(gmx, mx, "max forward");
    require_same_values(gdmx, dmx, "max backward");
    require_same_values(gglob, glob, "global forward");
    require_same_values(gdglob, dglob, "global backward");
}

TEST_CASE("softmax cross-entropy matches the CPU kernel", "[cuda]") {
    require_gpu_or_skip();
    Tensor logits = random_tensor({10, 50}, -4, 4), grad({10, 50});
    std::vector<int32_t> labels(50);
    for (int i = 0; i < 50; i++) labels[i] = i % 10;
    LossResult cpu = softmax_cross_entropy(logits, labels, grad);
    Tensor gl = on_gpu(logits), gg({10, 50}, Device::cuda);
    LossResult gpu = softmax_cross_entropy(gl, labels, gg);
    REQUIRE(gpu.loss == Approx(cpu.loss).epsilon(1e-5));
    REQUIRE(gpu.correct == cpu.correct);
    require_same_values(gg, grad, "logits gradient");
}

TEST_CASE("optimizer updates match the CPU kernels", "[cuda]") {
    require_gpu_or_skip();
    Tensor p = random_tensor({1000}), g = random_tensor({1000}), m({1000}), v({1000}), vm({1000});
    Tensor gp = on_gpu(p), gg = on_gpu(g), gm({1000}, Device::cuda), gv({1000}, Device::cuda), gvm({1000}, Device::cuda);
    AdamOptions o;
    o.amsgrad = true;
    for (int t = 1; t <= 3; t++) {
        adam_update(p, g, m, v, vm, o, t);
        adam_update(gp, gg, gm, gv, gvm, o, t);
    }
    require_same_values(gp, p, "adam parameters", 1e-5);
    Tensor vel({1000}), gvel({1000}, Device::cuda);
    SgdOptions s;
    s.momentum = 0.9f;
    s.nesterov = true;
    sgd_update(p, g, vel, s);
    sgd_update(gp, gg, gvel, s);
    require_same_values(gp, p, "sgd parameters", 1e-5);
}
