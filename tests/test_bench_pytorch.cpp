// `hnn bench --pytorch`: the network hnn hands to scripts/torch_train_step.py (every conv's padding
// per side, every layer's shape, the parameter count), what the bench makes of the script's answer
// (through a stand-in interpreter that answers fixed numbers, so that the plumbing is checked where
// PyTorch is not installed), the failures it reports, and, where PyTorch is installed, the real
// script building and timing the same networks (skipped, exit 77, elsewhere).

#include "cli_util.h"
#include "pytorch_step.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hnn {
namespace {

using nlohmann::json;
using test::run_hnn;

json pad(int left, int right, int top, int bottom) {
    return json{{"left", left}, {"right", right}, {"top", top}, {"bottom", bottom}};
}

TEST_CASE("bench --pytorch: the network spells out each conv's padding per side and each layer's shape", "[bench]") {
    PresetOptions p;
    p.width = 8;
    const ModelSpec celu7 = preset_model("celu7", p, {1, 28, 28});
    const json n = pytorch_network_json(celu7, {1, 28, 28}, 10, 4);
    REQUIRE(n.at("input") == json::array({1, 28, 28}));
    REQUIRE(n.at("batch") == 4);
    REQUIRE(n.at("classes") == 10);
    // 5x5: 1 x 8 x 25; 3x3 twice: 8 x 8 x 9; 1x1 twice and the last 8 -> 10; 2x2: 8 x 8 x 4.
    REQUIRE(n.at("parameters") == 200 + 2 * 576 + 2 * 64 + 80 + 256);
    const json &layers = n.at("layers");
    REQUIRE(layers.size() == celu7.layers.size());
    REQUIRE(layers[0].at("pad") == pad(2, 2, 2, 2));
    REQUIRE(layers[0].at("output_shape") == json::array({8, 28, 28}));
    REQUIRE(layers[2].at("type") == "avg_pool");
    REQUIRE_FALSE(layers[2].contains("pad"));
    REQUIRE(layers[2].at("output_shape") == json::array({8, 14, 14}));
    // The 2x2 'same' conv on 1x1 images: TensorFlow pads its one column and row at the bottom/right.
    const json &even = layers[layers.size() - 2];
    REQUIRE(even.at("kernel") == 2);
    REQUIRE(even.at("pad") == pad(0, 1, 0, 1));
    REQUIRE(even.at("output_shape") == json::array({8, 1, 1}));
    REQUIRE(layers.back().at("output_shape") == json::array({10, 1, 1}));

    // Strided and explicit padding: 'same' 4x4 on 28 pads 1 left and 2 right; 'valid' pads nothing;
    // "2x1" pads 2 columns and 1 row on each side.
    ModelSpec m;
    m.name = "strided";
    LayerSpec conv;
    conv.out_channels = 6;
    conv.kernel = 4;
    m.layers.push_back(conv);
    LayerSpec pool;
    pool.kind = LayerKind::max_pool;
    pool.kernel = 3;
    pool.stride = 2;
    m.layers.push_back(pool);
    conv.kernel = 3;
    conv.stride = 2;
    conv.padding = parse_padding("valid");
    m.layers.push_back(conv);
    conv.stride = 1;
    conv.padding = parse_padding("2x1");
    conv.out_channels = 10;
    conv.bias = true;
    m.layers.push_back(conv);
    LayerSpec global;
    global.kind = LayerKind::global_avg_pool;
    m.layers.push_back(global);
    const json s = pytorch_network_json(m, {1, 28, 28}, 10, 2);
    REQUIRE(s.at("layers")[0].at("pad") == pad(1, 2, 1, 2));
    REQUIRE(s.at("layers")[1].at("output_shape") == json::array({6, 13, 13}));
    REQUIRE(s.at("layers")[2].at("pad") == pad(0, 0, 0, 0));
    REQUIRE(s.at("layers")[2].at("output_shape") == json::array({6, 6, 6}));
    REQUIRE(s.at("layers")[3].at("pad") == pad(2, 2, 1, 1));
    REQUIRE(s.at("layers")[3].at("output_shape") == json::array({10, 8, 6}));
    REQUIRE(s.at("parameters") == 16 * 6 + 9 * 6 * 6 + 9 * 6 * 10 + 10);
}

// A stand-in for the interpreter: answers the torch import probe, keeps the network file it is
// handed and prints `answer` (or exits with `exit_code`).
class FakePython {
public:
    FakePython(const std::string &answer, int exit_code = 0) {
        std::ofstream(dir / "answer.json") << answer;
        std::ofstream script(path());
        script << "#!/bin/sh\n"
               << "if [ \"$1\" = -c ]; then exit 0; fi\n"
               << "echo \"$@\" > '" << dir / "args" << "'\n"
               << "while [ $# -gt 0 ]; do if [ \"$1\" = --network ]; then cp \"$2\" '" << dir / "network.json"
               << "'; fi; shift; done\n"
               << "cat '" << dir / "answer.json" << "'\n"
               << "exit " << exit_code << "\n";
        script.close();
        std::filesystem::permissions(path(), std::filesystem::perms::owner_all);
    }
    std::string path() const { return dir / "python"; }
    std::string file(const std::string &name) const {
        std::ifstream in(dir / name);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

    test::TempDir dir{"hnn-fake-python"};
};

const char *const tiny_bench = "bench --model celu7 --width 4 --batch 2 --repeats 1 --warmup 0 --only pool --pytorch";

TEST_CASE("bench --pytorch: PyTorch's step and hnn's speedup over it join the table and the JSON", "[bench]") {
    FakePython python(R"({"torch": "9.9", "device": "cpu", "threads": 2,
                          "modes": {"fp32": {"step_ms": 40.0, "images_per_s": 50.0}}})");
    test::CliRun r = run_hnn(std::string(tiny_bench) + " --threads 2 --json --python " + python.path());
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    const json j = json::parse(r.out);
    const double hnn = j.at("train_images_per_s").get<double>();
    REQUIRE(j.at("pytorch").at("torch") == "9.9");
    REQUIRE(j.at("pytorch").at("modes").at("fp32").at("images_per_s") == 50.0);
    REQUIRE(j.at("pytorch").at("train_speedup").at("fp32").get<double>() == Approx(hnn / 50.0));
    REQUIRE(j.at("train_speedup_vs_pytorch").get<double>() == Approx(hnn / 50.0));
    REQUIRE(j.at("pytorch").at("script").get<std::string>().find("scripts/torch_train_step.py") != std::string::npos);
    // A copy of the script elsewhere (a binary carried to a GPU machine) is named with --torch-script.
    {
        test::TempDir elsewhere("hnn-torch-script");
        const std::string copy = elsewhere / "step.py";
        std::ofstream(copy) << "# stand-in\n";
        const json moved = json::parse(
            run_hnn(std::string(tiny_bench) + " --json --python " + python.path() + " --torch-script " + copy).out);
        REQUIRE(moved.at("pytorch").at("script") == copy);
        REQUIRE(python.file("args").rfind(copy + " --network", 0) == 0);
    }

    // What the script was asked: the bench's threads, warm-up, repeats, Adam as hnn's own step runs
    // it (learning rate 0, the trainer's betas and eps, written to float precision) and the CPU,
    // with the network hnn described.
    const std::string args = python.file("args");
    INFO(args);
    for (const char *arg : {"--device cpu", "--threads 2", "--warmup 0", "--repeats 1", "--lr 0 ", "--beta1 0.899999976",
                            "--beta2 0.999000013", "--eps 9.99999994e-09", "--json"}) {
        REQUIRE(args.find(arg) != std::string::npos);
    }
    const json network = json::parse(python.file("network.json"));
    REQUIRE(network.at("batch") == 2);
    REQUIRE(network.at("layers").size() == j.at("model").at("layers").size());

    // Without --pytorch the keys are there, null.
    const json plain = json::parse(run_hnn("bench --model celu7 --width 4 --batch 2 --repeats 1 --warmup 0 --only pool --json").out);
    REQUIRE(plain.at("pytorch").is_null());
    REQUIRE(plain.at("train_speedup_vs_pytorch").is_null());

    // The table says it in a line under hnn's step, one per mode (a GPU's tf32 too).
    FakePython gpu(R"({"torch": "9.9", "device": "cuda", "threads": 2, "modes": {
                        "fp32": {"step_ms": 40.0, "images_per_s": 50.0}, "tf32": {"step_ms": 20.0, "images_per_s": 100.0}}})");
    test::CliRun table = run_hnn(std::string(tiny_bench) + " --python " + gpu.path(), true);
    INFO(table.out);
    REQUIRE(table.exit_code == 0);
    REQUIRE(table.out.find("PyTorch 9.9 fp32 on cuda, the same step (2 threads): 40 ms, 50.0 images/s; hnn/PyTorch images/s") !=
            std::string::npos);
    REQUIRE(table.out.find("PyTorch 9.9 tf32 on cuda, the same step (2 threads): 20 ms, 100.0 images/s") != std::string::npos);
}

TEST_CASE("bench --pytorch: a missing interpreter or a bad answer fails naming the command", "[bench]") {
    SECTION("no such interpreter: said before the bench starts") {
        test::CliRun r = run_hnn(std::string(tiny_bench) + " --python /nonexistent/python3", true);
        INFO(r.out);
        CHECK(r.exit_code != 0);
        CHECK(r.out.find("'/nonexistent/python3 -c import torch' exited with status 127") != std::string::npos);
        CHECK(r.out.find("apt-get install python3-torch") != std::string::npos);
        CHECK(r.out.find("training step") == std::string::npos);
    }
    SECTION("no such script: said before the bench starts, and where the script goes") {
        FakePython python("{}");
        test::CliRun r = run_hnn(std::string(tiny_bench) + " --python " + python.path() +
                                     " --torch-script /nonexistent/torch_train_step.py",
                                 true);
        INFO(r.out);
        CHECK(r.exit_code != 0);
        CHECK(r.out.find("cannot read the script /nonexistent/torch_train_step.py: No such file or directory "
                         "(name its copy with --torch-script PATH)") != std::string::npos);
        CHECK(r.out.find("training step") == std::string::npos);
        CHECK(python.file("args").empty());
    }
    struct Case {
        const char *answer;
        int exit_code;
        const char *message;
    };
    const Case cases[] = {
        {"{}", 3, "exited with status 3"},
        {"Traceback (most recent call last):", 0, "is not JSON: 'Traceback"},
        {R"({"modes": {}})", 0, "expected an object with 'modes' holding 'fp32'"},
        {R"({"modes": {"fp32": {"step_ms": -1, "images_per_s": 5}}})", 0, "mode fp32: expected a positive number 'step_ms'"},
        {R"({"modes": {"fp32": {"step_ms": 1}}})", 0, "mode fp32: expected a positive number 'images_per_s'"},
    };
    for (const Case &c : cases) {
        FakePython python(c.answer, c.exit_code);
        test::CliRun r = run_hnn(std::string(tiny_bench) + " --python " + python.path(), true);
        INFO(r.out);
        CHECK(r.exit_code != 0);
        CHECK(r.out.find(c.message) != std::string::npos);
        CHECK(r.out.find("scripts/torch_train_step.py --network") != std::string::npos);
    }
    test::CliRun mpi = run_hnn("bench --pytorch --mpi", true);
    CHECK(mpi.exit_code != 0);
    CHECK(mpi.out.find("--pytorch compares one process's training step; it takes no --mpi") != std::string::npos);
}

TEST_CASE("bench --pytorch: the real script builds the same networks and times their step", "[bench][pytorch]") {
    if (test::run_command(default_python() + " -c 'import torch' 2>/dev/null").exit_code != 0) {
        std::printf("skipped: %s cannot import torch (Debian: python3-torch)\n", default_python().c_str());
        std::fflush(stdout);
        std::_Exit(77);
    }
    // Every layer kind and activation parameter the script translates; it checks each layer's
    // shape and the parameter count against hnn's before timing.
    test::TempDir dir;
    std::ofstream(dir / "model.json") << R"({"layers": [
        {"type": "conv", "out_channels": 6, "kernel": 4, "stride": 2, "padding": "same", "activation": "prelu"},
        {"type": "conv", "out_channels": 6, "kernel": 3, "padding": "2x1", "bias": true, "activation": "none"},
        {"type": "activation", "name": "swish"},
        {"type": "max_pool", "kernel": 3, "stride": 2},
        {"type": "conv", "out_channels": 8, "kernel": 3, "stride": 2, "padding": "valid",
         "activation": {"name": "softplus", "beta": 2, "threshold": 10}},
        {"type": "dropout", "rate": 0.3},
        {"type": "conv", "out_channels": 10, "kernel": 1, "activation": {"name": "leaky_relu", "negative_slope": 0.2}},
        {"type": "global_avg_pool"}]})";
    const std::vector<std::string> models{"--model celu7 --width 4",
                                          "--model allconv --width 4 --dataset cifar10 --activation rrelu",
                                          "--model-file " + dir / "model.json" + " --dataset cifar10"};
    for (const std::string &model : models) {
        test::CliRun r = run_hnn("bench " + model + " --batch 2 --repeats 2 --warmup 1 --only pool --pytorch --json", true);
        INFO(model << "\n" << r.out);
        REQUIRE(r.exit_code == 0);
        const json j = json::parse(r.out.substr(r.out.find("{\n")));  // past any warning on stderr
        REQUIRE(j.at("pytorch").at("modes").at("fp32").at("images_per_s").get<double>() > 0);
        REQUIRE(j.at("train_speedup_vs_pytorch").get<double>() > 0);
    }
}

}  // namespace
}  // namespace hnn
