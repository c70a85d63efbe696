// Training on the GPU device against the same training on the CPU: a network's steps (every layer
// kind, the fused derivative path, Adam) through the library, and a whole `hnn train --device` run
// through the executable. Built into hnn_cuda_tests and hnn_opencl_tests with test_gpu.cpp.
//
// Tolerances: the device's kernels sum in another order and use their own exp/log, so a step's
// loss differs from the CPU's by float32 rounding (seen on PoCL: 1e-6 relative over 20 steps). The
// bounds below (1e-4 for a few steps of the library, 1e-3 for a 2-epoch run, and 2 images of 100
// for accuracies, where a rounding can flip an argmax) leave room for a GPU's faster math while
// still catching a wrong kernel, which moves the loss in the first or second decimal.

#include "cli_util.h"
#include "gpu_test_util.h"
#include "network.h"
#include "optimizer.h"
#include "synthetic_mnist.h"
#include "test_util.h"
#include "training_log.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace hnn;
using namespace hnn::test;

namespace {

// Every layer kind the device path must keep on the device, a conv above a conv (the lower one's
// activation derivative fused into the upper one's backward-data pass), a learnable prelu, and
// convs 2 and 3 of the same width (dilated backprop from conv 4 to conv 2 applies). Not swish: its
// beta is read on the host as a kernel scalar.
ModelSpec every_layer_model() {
    const nlohmann::json model = nlohmann::json::parse(R"({"layers": [
        {"type": "dropout", "rate": 0.2},
        {"type": "conv", "out_channels": 12, "kernel": 3, "bias": true, "activation": "prelu"},
        {"type": "max_pool", "kernel": 2},
        {"type": "conv", "out_channels": 12, "kernel": 3, "activation": "elu"},
        {"type": "conv", "out_channels": 12, "kernel": 3, "stride": 2, "activation": "celu"},
        {"type": "avg_pool", "kernel": 2},
        {"type": "activation", "name": "rrelu"},
        {"type": "conv", "out_channels": 10, "kernel": 1, "activation": "none"},
        {"type": "global_avg_pool"}
    ]})");
    Activation relu;
    relu.kind = ActivationKind::relu;
    return model_from_json(model, "test model", relu);
}

// No tensor the kernels use waits on the host to be uploaded again (a host write after its first
// upload), and what the step wrote last (parameters by the optimizer, gradients by the backward
// pass) exists only on the device: it was never copied back. (A tensor no kernel touched, such as
// the output gradient of a layer whose derivative the layer above fused, has no device side.)
void require_on_device(Network &network) {
    for (size_t i = 0; i < network.layers().size(); i++) {
        const Layer &l = network.layers()[i];
        for (const Tensor *t : {&l.output, &l.output_grad, &l.pre_activation, &l.pre_activation_grad}) {
            INFO("layer " << i << " tensor " << t->shape_string());
            if (t->defined() && t->buffer().raw_buffer()->device != 0) REQUIRE_FALSE(t->buffer().host_dirty());
        }
    }
    for (Parameter &p : network.parameters()) {
        INFO(p.name);
        REQUIRE(p.value->device() == gpu);
        REQUIRE(p.value->buffer().device_dirty());
        REQUIRE(p.grad->buffer().device_dirty());
        REQUIRE_FALSE(p.value->buffer().host_dirty());
    }
}

}  // namespace

TEST_CASE("training steps on the device match the CPU's and keep the network on the device", "[gpu][train]") {
    require_gpu_or_skip();
    // auto (on the device, each conv pass takes the kernel its first call timed fastest; the
    // CPU takes the direct sum at these sizes), and the Winograd kernels on both sides.
    const ConvAlgorithm algorithm = GENERATE(ConvAlgorithm::automatic, ConvAlgorithm::winograd4x4);
    ConvAlgorithmScope scope(algorithm);
    INFO("--conv-algorithm " << (algorithm == ConvAlgorithm::automatic ? "auto" : "winograd4x4"));
    const ModelSpec model = every_layer_model();
    const Shape3 input{3, 16, 16};
    const int batch = 8, steps = 4;
    Network cpu_net(model, input, 10), gpu_net(model, input, 10, gpu);
    cpu_net.initialize({}, 7);
    gpu_net.initialize({}, 7);
    OptimizerConfig adam;
    adam.weight_decay = 1e-3f;
    Optimizer cpu_opt(adam, cpu_net.parameters()), gpu_opt(adam, gpu_net.parameters());

    for (int step = 0; step < steps; step++) {
        Tensor images = random_tensor({input.channels, input.width, input.height, batch});
        Tensor gpu_images = on_gpu(images);
        std::vector<int32_t> labels;
        for (int i = 0; i < batch; i++) labels.push_back((step * 3 + i * 7) % 10);
        const RandomKey key{true, 11u, step};
        const LossResult want = cpu_net.forward(images, labels, key);
        const LossResult got = gpu_net.forward(gpu_images, labels, key);
        // The first steps fuse derivatives into backward-data; the last ones take the unfused path
        // with dilated backprop's upsampled gradients.
        const DilatedBackprop dilated = step < 2 ? DilatedBackprop{} : DilatedBackprop{0.5f, 0.1f};
        cpu_net.backward(images, key, dilated, step);
        gpu_net.backward(gpu_images, key, dilated, step);
        cpu_opt.step(0.01f);
        gpu_opt.step(0.01f);
        INFO("step " << step << ": loss " << got.loss << " on the device, " << want.loss << " on the CPU");
        REQUIRE(std::fabs(got.loss - want.loss) <= 1e-4 * std::fabs(want.loss));
        REQUIRE(got.correct == want.correct);
        require_on_device(gpu_net);
    }
    std::vector<Parameter> want = cpu_net.parameters(), got = gpu_net.parameters();
    REQUIRE(want.size() == got.size());
    for (size_t i = 0; i < want.size(); i++) {
        const Tensor &w = *want[i].value;
        require_close(*got[i].value, [&](size_t k) { return double(w.host()[k]); }, 1e-3, 1e-4, got[i].name);
    }
}

TEST_CASE("hnn train --device runs on the device and follows the CPU run's loss trajectory", "[gpu][train][cli]") {
    require_gpu_or_skip();
    SyntheticMnist data(200, 100);
    const TempDir &t = data.dir;
    // Small enough for PoCL, and one that learns the synthetic classes within two epochs.
    std::ofstream(t / "model.json") << R"({"layers": [
        {"type": "conv", "out_channels": 8, "kernel": 5, "activation": "celu"},
        {"type": "conv", "out_channels": 8, "kernel": 3, "activation": "celu"},
        {"type": "max_pool", "kernel": 2},
        {"type": "conv", "out_channels": 16, "kernel": 3, "stride": 2, "activation": "elu"},
        {"type": "avg_pool", "kernel": 2},
        {"type": "conv", "out_channels": 10, "kernel": 1, "activation": "none"},
        {"type": "global_avg_pool"}
    ]})";
    const std::string args = "train --model-file " + (t / "model.json") + " --dataset mnist --data " + t.path.string() +
                             " --batch 20 --epochs 2 --lr 0.01 --threads 2 --no-progress";
    const CliRun cpu_run = run_hnn(args + " --device cpu --log " + (t / "cpu.csv"), true);
    INFO(cpu_run.out);
    REQUIRE(cpu_run.exit_code == 0);
    const CliRun gpu_run = run_hnn(args + " --device " + device_name(gpu) + " --log " + (t / "gpu.csv") +
                                       " --checkpoint " + (t / "gpu.ckpt"),
                                   true);
    INFO(gpu_run.out);
    REQUIRE(gpu_run.exit_code == 0);
    REQUIRE_THAT(gpu_run.out, Catch::Contains(std::string("on ") + device_name(gpu)));

    const std::vector<EpochRecord> want = read_training_log(t / "cpu.csv"), got = read_training_log(t / "gpu.csv");
    REQUIRE(want.size() == 2);
    REQUIRE(got.size() == 2);
    for (size_t e = 0; e < want.size(); e++) {
        INFO("epoch " << e + 1);
        REQUIRE(std::fabs(got[e].train_loss - want[e].train_loss) <= 1e-3 * want[e].train_loss);
        REQUIRE(std::fabs(got[e].test_loss - want[e].test_loss) <= 1e-3 * want[e].test_loss);
        REQUIRE(std::fabs(got[e].train_acc - want[e].train_acc) <= 0.01);  // 2 of 200 images
        REQUIRE(std::fabs(got[e].test_acc - want[e].test_acc) <= 0.02);    // 2 of 100
    }
    // The runs learned (by far more than they may differ), so the comparison above is not between
    // two runs that both stood still.
    REQUIRE(want[1].train_loss < 0.97 * want[0].train_loss);

    // The device run's checkpoint, evaluated on the CPU, gives the loss the device logged.
    const CliRun eval = run_hnn("eval --device cpu --checkpoint " + (t / "gpu.ckpt") + " --data " + t.path.string());
    INFO(eval.out);
    REQUIRE(eval.exit_code == 0);
    const size_t at = eval.out.find("test_loss ");
    REQUIRE(at != std::string::npos);
    const double evaluated = std::stod(eval.out.substr(at + 10));
    REQUIRE(std::fabs(evaluated - got.back().test_loss) <= 1e-3 * got.back().test_loss + 1e-4);
}

TEST_CASE("hnn bench --device times the device's kernels and training step, checked against oneDNN", "[gpu][bench][cli]") {
    require_gpu_or_skip();
    const CliRun run = run_hnn(std::string("bench --device ") + device_name(gpu) +
                                   " --model allconv --width 4 --batch 2 --dataset cifar10 --repeats 2 --warmup 1 "
                                   "--threads 2 --json",
                               false);
    INFO(run.out);
    REQUIRE(run.exit_code == 0);
    const nlohmann::json j = nlohmann::json::parse(run.out);
    REQUIRE(j["device"] == device_name(gpu));
    REQUIRE(j["machine"].is_null());  // the CPU's limits are not the device's
    REQUIRE(j["operations"].size() > 10);
    for (const nlohmann::json &op : j["operations"]) {
        INFO(op.dump());
        REQUIRE(op["hnn_ms"].get<double>() > 0);
        REQUIRE(op["onednn_ms"].is_null());  // oneDNN runs on the CPU: not a timing beside a GPU
        if (op["group"] == "conv" || op["name"] == "activation_forward") {
            REQUIRE(op["checked"] == true);
            REQUIRE(op["agrees"] == true);
            REQUIRE(op["onednn_max_abs"].get<double>() > 0);
        }
        // Under auto the device timed each conv's kernels, and the fastest ran: three direct
        // schedules, and at 3x3 stride 1 both Winograd ones.
        const bool timed = op["group"] == "conv";
        REQUIRE(op["auto_timed_ms"].is_null() == !timed);
        if (timed) {
            const bool winograd = op["shape"].get<std::string>().find("k3 s1") != std::string::npos;
            REQUIRE(op["auto_timed_ms"].size() == (winograd ? 5u : 3u));
            std::string fastest;
            double fastest_ms = INFINITY;
            for (const auto &[method, ms] : op["auto_timed_ms"].items()) {
                REQUIRE(ms.get<double>() > 0);
                if (ms.get<double>() < fastest_ms) {
                    fastest = method;
                    fastest_ms = ms.get<double>();
                }
            }
            REQUIRE(op["algorithm"] == fastest);
        }
    }
    REQUIRE(j["train_step"]["images_per_s"].get<double>() > 0);

    // A result that disagrees would fail the command; a device that is not there fails it at once.
    if (gpu == Device::cuda) return;
    const CliRun missing = run_hnn("bench --device cuda --model allconv --width 4 --batch 2 --repeats 1", true);
    if (!cuda_available()) {
        REQUIRE(missing.exit_code != 0);
        REQUIRE_THAT(missing.out, Catch::Contains("--device cuda"));
    }
}
