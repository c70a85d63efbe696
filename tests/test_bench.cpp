// `hnn bench` through the real executable on tiny shapes: the JSON holds the machine's limits, every
// kernel of every layer timed beside oneDNN and the training step; hnn's results agree with oneDNN's
// on the same inputs; the table names its columns; bad arguments fail clearly. Timings are never
// compared with thresholds: they depend on the machine.

#include "cli_util.h"

#include "hnn/device.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

namespace hnn {
namespace {

using nlohmann::json;
using test::run_hnn;

const char *const tiny_celu7 = "bench --model celu7 --width 8 --batch 4 --dataset mnist --repeats 2 --warmup 1 --json";

json run_json(const std::string &args) {
    test::CliRun r = run_hnn(args, false);
    INFO("hnn " << args << "\n" << r.out);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
}

std::set<std::string> names_covering(const json &ops, int layer) {
    std::set<std::string> names;
    for (const json &op : ops) {
        for (const json &l : op.at("layers")) {
            if (l.get<int>() == layer) names.insert(op.at("name").get<std::string>());
        }
    }
    return names;
}

// Every op oneDNN has must have been checked against it, within the op's tolerance.
void require_agreement(const json &result) {
    for (const json &op : result.at("operations")) {
        INFO(op.dump());
        if (op.at("onednn_ms").is_null()) continue;
        REQUIRE(op.at("checked").get<bool>());
        REQUIRE(op.at("agrees").get<bool>());
        REQUIRE(op.at("onednn_max_abs").get<double>() > 0);  // not zeros compared with zeros
        const double tolerance = op.at("group") == "conv" ? 1e-4 : 1e-5;
        REQUIRE(op.at("max_rel_error").get<double>() <= tolerance);
    }
}

struct TempFile {
    std::filesystem::path path;
    TempFile(const std::string &name, const std::string &text) {
        path = std::filesystem::temp_directory_path() / (std::to_string(std::random_device{}()) + "_" + name);
        std::ofstream(path) << text;
    }
    ~TempFile() {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
};

TEST_CASE("bench: --json holds the machine's limits, each layer's ops beside oneDNN and the training step", "[bench]") {
    const json r = run_json(tiny_celu7);
    REQUIRE(r.at("train_images_per_s").get<double>() > 0);
    REQUIRE(r.at("train_step").at("step_ms").get<double>() > 0);
    const json &machine = r.at("machine");
    REQUIRE(machine.at("fma_peak_gflops").get<double>() > 0);
    REQUIRE(machine.at("copy_bandwidth_gbs").get<double>() > 0);
    REQUIRE(machine.at("threads").get<int>() >= 1);
    // The variant the kernels ran, which the conv algorithm choice depends on.
    REQUIRE(machine.at("kernel_isa").get<std::string>() == cpu_isa_name(cpu_kernel_isa()));

    const json &ops = r.at("operations");
    REQUIRE(ops.is_array());
    REQUIRE_FALSE(ops.empty());
    for (const json &op : ops) {
        INFO(op.dump());
        REQUIRE(op.at("name").is_string());
        REQUIRE(op.at("shape").is_string());
        REQUIRE(op.at("hnn_ms").get<double>() > 0);
        // celu7 has nothing oneDNN lacks: celu runs as elu on x/alpha.
        REQUIRE(op.at("onednn_ms").get<double>() > 0);
        REQUIRE(op.at("ratio").get<double>() == Approx(op.at("onednn_ms").get<double>() / op.at("hnn_ms").get<double>()));
        REQUIRE(op.at("percent_of_limit").get<double>() > 0);
    }

    // celu7 on 28x28: seven convs with four pools between them.
    const json &layers = r.at("model").at("layers");
    int convs = 0, pools = 0;
    for (size_t i = 0; i < layers.size(); i++) {
        const std::string type = layers[i].at("type");
        const std::set<std::string> names = names_covering(ops, static_cast<int>(i));
        INFO("layer " << i << " " << type);
        if (type == "conv") {
            convs++;
            for (const char *name : {"conv_forward", "conv_backward_data", "conv_backward_weights", "activation_forward",
                                     "activation_backward"}) {
                REQUIRE(names.count(name) == 1);
            }
        } else if (type == "avg_pool") {
            pools++;
            REQUIRE(names == std::set<std::string>{"avg_pool_forward", "avg_pool_backward"});
        }
    }
    REQUIRE(convs == 7);
    REQUIRE(pools == 4);
}

TEST_CASE("bench: hnn's kernels and oneDNN agree on the same inputs", "[bench]") {
    require_agreement(run_json(tiny_celu7));
}

TEST_CASE("bench: allconv on cifar10 with --only covers elu and global pooling", "[bench]") {
    const json r = run_json("bench --model allconv --width 4 --batch 2 --dataset cifar10 --repeats 1 --warmup 0 "
                            "--only pool,act --json");
    REQUIRE(r.at("input") == json::array({3, 32, 32}));
    std::set<std::string> names;
    for (const json &op : r.at("operations")) {
        REQUIRE(op.at("group") != "conv");
        names.insert(op.at("name").get<std::string>());
        if (op.at("group") == "act") REQUIRE(op.at("activation").at("name") == "elu");  // allconv's default
    }
    REQUIRE(names.count("global_avg_pool_forward") == 1);
    REQUIRE(names.count("global_avg_pool_backward") == 1);
    REQUIRE(names.count("avg_pool_forward") == 1);
    REQUIRE(r.at("train_images_per_s").get<double>() > 0);
    require_agreement(r);
}

TEST_CASE("bench: strided, asymmetric and valid padding, max pooling and biases agree with oneDNN", "[bench]") {
    // 28x28: an even kernel pads 1 left, 2 right; 13 -> 6 leaves a column unread; 6 -> 3 pads 0 left, 1 right.
    TempFile model("bench_model.json", R"({"layers": [
        {"type": "conv", "out_channels": 12, "kernel": 4, "padding": "same", "bias": true},
        {"type": "max_pool", "kernel": 3, "stride": 2},
        {"type": "conv", "out_channels": 12, "kernel": 3, "stride": 2, "padding": "valid"},
        {"type": "conv", "out_channels": 12, "kernel": 3, "stride": 2, "padding": "same"},
        {"type": "conv", "out_channels": 10, "kernel": 1, "activation": "none"},
        {"type": "global_avg_pool"}]})");
    for (const char *layout : {"nhwc", "any"}) {
        INFO("--onednn-layout " << layout);
        const json r = run_json("bench --model-file " + model.path.string() + " --activation softplus --param softplus.beta=2 " +
                                "--batch 3 --repeats 1 --warmup 0 --json --onednn-layout " + layout);
        REQUIRE(r.at("onednn").at("activation_layout") == layout);
        require_agreement(r);
        std::set<std::string> names;
        for (const json &op : r.at("operations")) names.insert(op.at("name").get<std::string>());
        REQUIRE(names.count("max_pool_backward") == 1);
    }
}

TEST_CASE("bench: an activation oneDNN lacks is timed for hnn alone and its conv checked bare", "[bench]") {
    const json r = run_json("bench --model celu7 --width 4 --batch 2 --activation softsign --repeats 1 --warmup 0 --json");
    for (const json &op : r.at("operations")) {
        INFO(op.dump());
        if (op.at("name") == "activation_forward" || op.at("name") == "activation_backward") {
            REQUIRE(op.at("onednn_ms").is_null());
            REQUIRE(op.at("ratio").is_null());
            REQUIRE_FALSE(op.at("checked").get<bool>());
        }
        if (op.at("name") == "conv_forward") {
            REQUIRE(op.at("onednn_computes").get<std::string>().find("no softsign") != std::string::npos);
        }
    }
    require_agreement(r);
}

TEST_CASE("bench: the table names its columns, the ratio's direction and the training step", "[bench]") {
    test::CliRun r = run_hnn("bench --model celu7 --width 4 --batch 2 --repeats 1 --warmup 0 --only pool");
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    for (const char *text : {"operation", "shape", "hnn ms", "oneDNN ms", "ratio", "GFLOP/s or GB/s", "% limit",
                             "oneDNN ms / hnn ms (> 1: hnn is faster)", "FMA peak", "copy bandwidth", "avg_pool fwd",
                             "training step", "images/s"}) {
        REQUIRE(r.out.find(text) != std::string::npos);
    }
    REQUIRE(r.out.find("conv fwd") == std::string::npos);  // --only pool

    // The rows the pointwise kernels compute are marked, and the mark explained.
    test::CliRun convs = run_hnn("bench --model celu7 --width 4 --batch 2 --repeats 1 --warmup 0 --only conv");
    INFO(convs.out);
    REQUIRE(convs.exit_code == 0);
    REQUIRE(convs.out.find("conv bwd-weights[p]") != std::string::npos);
    REQUIRE(convs.out.find("[p] hnn: a matrix product over positions") != std::string::npos);
    REQUIRE(convs.out.find("k5 s1") != std::string::npos);
}

TEST_CASE("bench: --conv-algorithm winograd runs the 3x3 stride-1 convs as Winograd, checked against oneDNN", "[bench]") {
    // 1x1 stride-1 convs, and the 2x2 conv on 1x1 images (one of its taps meets them), run the
    // pointwise kernels whatever the algorithm.
    auto expected = [](const json &op, bool winograd) {
        const std::string shape = op.at("shape").get<std::string>();
        if (winograd && shape.find(" k3 s1") != std::string::npos) return "winograd";
        if (shape.find(" k1 s1") != std::string::npos || shape.find(" 1x1 ") != std::string::npos) return "pointwise";
        return "direct";
    };
    const json r = run_json(std::string(tiny_celu7) + " --only conv --conv-algorithm winograd");
    CHECK(r.at("conv_algorithm") == "winograd");
    int winograd = 0, pointwise = 0;
    for (const json &op : r.at("operations")) {
        INFO(op.dump());
        CHECK(op.at("algorithm") == expected(op, true));
        winograd += op.at("algorithm") == "winograd";
        pointwise += op.at("algorithm") == "pointwise";
    }
    CHECK(winograd == 6);   // celu7's two 3x3 layers, three kernels each
    CHECK(pointwise == 12);  // its 1x1 layers on 14x14 and 3x3, the 2x2 on 1x1 and the 1x1 to 10 classes
    require_agreement(r);

    // auto at width 8: too few channels for Winograd.
    const json automatic = run_json(std::string(tiny_celu7) + " --only conv");
    for (const json &op : automatic.at("operations")) {
        INFO(op.dump());
        CHECK(op.at("algorithm") == expected(op, false));
    }
}

TEST_CASE("bench: a GPU's direct schedules run the CPU's direct kernels there, and the header says so", "[bench]") {
    for (const char *algorithm : {"direct-staged", "direct-large-tile"}) {
        const json r = run_json(std::string(tiny_celu7) + " --only conv --conv-algorithm " + algorithm);
        CHECK(r.at("conv_algorithm") == algorithm);
        for (const json &op : r.at("operations")) {
            INFO(op.dump());
            CHECK((op.at("algorithm") == "direct" || op.at("algorithm") == "pointwise"));
        }
        require_agreement(r);
    }
    test::CliRun table = run_hnn("bench --model celu7 --width 4 --batch 2 --repeats 1 --warmup 0 --only pool "
                                 "--conv-algorithm direct-staged");
    INFO(table.out);
    REQUIRE(table.exit_code == 0);
    CHECK_THAT(table.out, Catch::Contains("3x3 convs direct-staged (a GPU schedule: the CPU runs its direct kernels)"));
}

TEST_CASE("bench: bad arguments fail with a message naming the problem", "[bench]") {
    const std::pair<const char *, const char *> cases[] = {
        {"bench --model resnet", "unknown model 'resnet'"},
        {"bench --batch 0", "--batch must be at least 1"},
        {"bench --repeats 0", "--repeats must be at least 1"},
        {"bench --warmup -1", "--warmup must not be negative"},
        {"bench --dataset imagenet", "unknown dataset 'imagenet'"},
        {"bench --only gemm", "--only"},
        {"bench --onednn-layout nchw", "--onednn-layout"},
        {"bench --activation gelu", "unknown activation 'gelu'"},
        {"bench --conv-algorithm fft", "--conv-algorithm"},
    };
    for (const auto &[args, message] : cases) {
        test::CliRun r = run_hnn(args, true);
        INFO(args << "\n" << r.out);
        CHECK(r.exit_code != 0);
        CHECK(r.out.find(message) != std::string::npos);
    }
}

}  // namespace
}  // namespace hnn
