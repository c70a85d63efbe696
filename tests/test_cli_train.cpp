// `hnn train`, `hnn eval` and `hnn plot` through the real executable: determinism, resume equals an
// uninterrupted run, checkpoints evaluated, a short real-data run that learns, and bad input failing
// with the file named.

#include "cli_util.h"
#include "hnn/device.h"
#include "synthetic_mnist.h"
#include "temp_dir.h"
#include "training_log.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

namespace hnn {
namespace {

namespace fs = std::filesystem;
using test::run_hnn;

using test::TempDir;
using SyntheticData = test::SyntheticMnist;

std::string train_args(const SyntheticData &d, int epochs) {
    return "train --model celu7 --width 4 --dataset mnist --data " + d.dir.path.string() +
           " --batch 20 --threads 2 --device cpu --no-progress --epochs " + std::to_string(epochs);
}

// The log's loss and accuracy columns (timings differ from run to run).
std::vector<std::string> metric_rows(const std::string &csv) {
    std::vector<std::string> rows;
    for (const EpochRecord &r : read_training_log(csv)) {
        char line[200];
        std::snprintf(line, sizeof line, "%d %.6f %.6f %.6f %.6f", r.epoch, r.train_loss, r.train_acc, r.test_loss, r.test_acc);
        rows.push_back(line);
    }
    return rows;
}

TEST_CASE("hnn train: the same seed gives the same trajectory, and a resumed run the same log", "[cli][train]") {
    SyntheticData data;
    const TempDir &t = data.dir;
    test::CliRun a = run_hnn(train_args(data, 3) + " --log " + (t / "a.csv") + " --checkpoint " + (t / "a.ckpt"), true);
    INFO(a.out);
    REQUIRE(a.exit_code == 0);
    CHECK(a.out.find("epoch 3/3") != std::string::npos);
    test::CliRun again = run_hnn(train_args(data, 3) + " --log " + (t / "again.csv"), true);
    REQUIRE(again.exit_code == 0);
    CHECK(metric_rows(t / "again.csv") == metric_rows(t / "a.csv"));

    // Interrupted after two epochs, resumed to three.
    REQUIRE(run_hnn(train_args(data, 2) + " --log " + (t / "b.csv") + " --checkpoint " + (t / "b.ckpt")).exit_code == 0);
    test::CliRun resumed = run_hnn("train --resume " + (t / "b.ckpt") + " --epochs 3 --no-progress --threads 2 --log " + (t / "b.csv"), true);
    INFO(resumed.out);
    REQUIRE(resumed.exit_code == 0);
    CHECK(metric_rows(t / "b.csv") == metric_rows(t / "a.csv"));

    // Both final checkpoints evaluate alike, in the documented format.
    test::CliRun eval_a = run_hnn("eval --checkpoint " + (t / "a.ckpt") + " --data " + t.path.string());
    test::CliRun eval_b = run_hnn("eval --checkpoint " + (t / "b.ckpt") + " --data " + t.path.string());
    REQUIRE(eval_a.exit_code == 0);
    CHECK(eval_a.out == eval_b.out);
    CHECK(eval_a.out.find("test_acc 0.") != std::string::npos);
    const double logged_acc = read_training_log(t / "a.csv").back().test_acc;
    CHECK(eval_a.out.find("test_acc " + std::to_string(logged_acc).substr(0, 6)) != std::string::npos);

    // A checkpoint that already holds every epoch asked for says so.
    test::CliRun done = run_hnn("train --resume " + (t / "a.ckpt") + " --no-progress", true);
    CHECK(done.exit_code != 0);
    CHECK(done.out.find("already holds 3 epochs") != std::string::npos);
}

TEST_CASE("hnn train: direct and Winograd 3x3 convolutions train alike", "[cli][train][winograd]") {
    // celu7's 3x3 layers (width 4: below where auto takes Winograd, so the choice is the flag's).
    // The two round differently, so the trajectories agree closely, not bit for bit.
    SyntheticData data;
    const TempDir &t = data.dir;
    for (const char *algorithm : {"direct", "winograd", "winograd4x4"}) {
        test::CliRun r = run_hnn(train_args(data, 2) + " --conv-algorithm " + algorithm + " --log " +
                                     (t / (std::string(algorithm) + ".csv")),
                                 true);
        INFO(r.out);
        REQUIRE(r.exit_code == 0);
    }
    const auto direct = read_training_log(t / "direct.csv");
    REQUIRE(direct.size() == 2);
    for (const char *algorithm : {"winograd", "winograd4x4"}) {
        const auto winograd = read_training_log(t / (std::string(algorithm) + ".csv"));
        REQUIRE(winograd.size() == 2);
        for (size_t e = 0; e < direct.size(); e++) {
            INFO(algorithm << ", epoch " << e + 1);
            CHECK(winograd[e].train_loss == Approx(direct[e].train_loss).epsilon(1e-3));
            CHECK(winograd[e].test_loss == Approx(direct[e].test_loss).epsilon(1e-3));
        }
    }
}

TEST_CASE("hnn train: every optimizer, dilated backprop, a model file and --plot run and learn", "[cli][train]") {
    SyntheticData data;
    const TempDir &t = data.dir;
    {
        std::ofstream model(t / "model.json");
        model << R"({"layers": [{"type": "conv", "out_channels": 8, "kernel": 5, "stride": 2},
                                {"type": "max_pool", "kernel": 2},
                                {"type": "activation", "name": "tanh"},
                                {"type": "conv", "out_channels": 10, "kernel": 7, "padding": "valid", "activation": "none"},
                                {"type": "global_avg_pool"}]})";
    }
    const std::string base = "train --dataset mnist --data " + t.path.string() + " --batch 10 --threads 2 --no-progress --epochs 5 ";
    for (const std::string &extra : std::vector<std::string>{"--model celu7 --width 8 --optimizer sgd --lr 0.02 --momentum 0.9 --nesterov",
                                    "--model celu7 --width 8 --optimizer amsgrad --beta2 0.9 --dilated-backprop 0.0001:10",
                                    "--model-file " + (t / "model.json") + " --activation relu --weight-decay 1e-4 --lr-schedule cosine",
                                    "--model celu7 --width 8 --activation prelu --normalize standardize --init glorot"}) {
        INFO(extra);
        test::CliRun r = run_hnn(base + extra + " --log " + (t / "run.csv") + " --plot " + (t / "run.png"), true);
        INFO(r.out);
        REQUIRE(r.exit_code == 0);
        const std::vector<EpochRecord> log = read_training_log(t / "run.csv");
        REQUIRE(log.size() == 5);
        CHECK(log.back().train_loss < log.front().train_loss);
        CHECK(log.back().test_acc > 0.3);  // 10 classes: chance is 0.1
        CHECK(fs::file_size(t / "run.png") > 1000);
    }
    test::CliRun plot = run_hnn("plot " + (t / "run.csv") + " --out " + (t / "again.png"), true);
    INFO(plot.out);
    CHECK(plot.exit_code == 0);
    CHECK(fs::file_size(t / "again.png") > 1000);
}

// CIFAR-10's binary format: records of a label byte and 3072 bytes, planes R, G, B of 32x32.
void write_cifar_batch(const std::string &path, int records, uint32_t seed) {
    std::mt19937 rng(seed);
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < records; i++) {
        out.put(static_cast<char>(rng() % 10));
        for (int j = 0; j < 3072; j++) out.put(static_cast<char>(rng() % 256));
    }
}

TEST_CASE("hnn train: allconv and allcnn-c with dropout run on CIFAR-10 files, and eval reads them", "[cli][train]") {
    TempDir t;
    for (int b = 1; b <= 5; b++) write_cifar_batch(t / ("data_batch_" + std::to_string(b) + ".bin"), 8, b);
    write_cifar_batch(t / "test_batch.bin", 10, 9);
    for (const std::string model : {"allconv --width 4", "allcnn-c --width 4 --dropout"}) {
        test::CliRun r = run_hnn("train --model " + model + " --dataset cifar10 --data " + t.path.string() +
                                     " --normalize standardize --batch 8 --epochs 1 --no-progress --checkpoint " + (t / "c.ckpt"),
                                 true);
        INFO(model << "\n" << r.out);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("40 training and 10 test images") != std::string::npos);
        test::CliRun e = run_hnn("eval --checkpoint " + (t / "c.ckpt") + " --data " + t.path.string(), true);
        INFO(e.out);
        CHECK(e.exit_code == 0);
        CHECK(e.out.find("test_loss ") != std::string::npos);
    }
    // The same checkpoint on data of another shape is refused, naming the checkpoint.
    test::CliRun wrong = run_hnn("eval --checkpoint " + (t / "c.ckpt") + " --dataset fashion-mnist", true);
    CHECK(wrong.exit_code != 0);
    CHECK(wrong.out.find("c.ckpt") != std::string::npos);
}

TEST_CASE("hnn train: a short Fashion-MNIST run learns", "[cli][train][real-data]") {
    TempDir t;
    // 300 steps of batch 20 on the real files (installed by the Debian package dataset-fashion-mnist).
    test::CliRun r = run_hnn("train --model celu7 --width 16 --dataset fashion-mnist --train-limit 6000 --test-limit 1000 "
                             "--batch 20 --epochs 1 --no-progress --log " + (t / "fashion.csv"), true);
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    const EpochRecord e = read_training_log(t / "fashion.csv").at(0);
    // Chance is a loss of ln 10 = 2.30 and an accuracy of 0.1.
    CHECK(e.train_loss < 1.5);
    CHECK(e.test_loss < 1.1);
    CHECK(e.test_acc > 0.6);
}

TEST_CASE("hnn train and eval: bad input fails with the file or field named", "[cli][train]") {
    SyntheticData data;
    const TempDir &t = data.dir;
    auto fails_with = [](const std::string &args, const std::string &needle) {
        test::CliRun r = run_hnn(args, true);
        INFO(args << "\n" << r.out);
        CHECK(r.exit_code != 0);
        CHECK(r.out.find(needle) != std::string::npos);
    };
    const std::string on_data = "train --dataset mnist --data " + t.path.string() + " --no-progress --epochs 1 ";
    fails_with("train --dataset mnist --data /nonexistent/mnist --no-progress", "/nonexistent/mnist");
    fails_with(on_data + "--model resnet", "unknown model 'resnet'");
    fails_with(on_data + "--activation gelu", "unknown activation 'gelu'");
    fails_with(on_data + "--param celu.alpha=abc", "celu.alpha=abc");
    fails_with("train --dataset cifar100 --no-progress", "cifar100");
    fails_with(on_data + "--lr-schedule step:x", "--lr-schedule");
    fails_with(train_args(data, 1) + " --optimizer rmsprop", "rmsprop");
    fails_with(train_args(data, 1) + " --batch 0", "--batch");
    fails_with(train_args(data, 1) + " --model-file " + (t / "missing.json"), "missing.json");
    fails_with(on_data + "--device vulkan", "unknown device 'vulkan'");
    fails_with(on_data + "--conv-algorithm fft", "--conv-algorithm");
    fails_with("eval --checkpoint " + (t / "missing.ckpt") + " --device vulkan", "unknown device 'vulkan'");
    // Without a GPU, --device cuda fails before the data is read (the data directory does not exist).
    if (!cuda_available()) {
        fails_with("train --device cuda --data " + (t / "nowhere") + " --no-progress", "no CUDA device answers");
    }

    // A truncated image file.
    {
        const std::string path = t / "train-images-idx3-ubyte";
        const auto size = fs::file_size(path);
        fs::resize_file(path, size / 2);
    }
    fails_with(train_args(data, 1), "train-images-idx3-ubyte");

    // A corrupt checkpoint, for resume and eval alike; the file is left as it was.
    {
        std::ofstream bad(t / "bad.ckpt", std::ios::binary);
        bad << "not a checkpoint at all";
    }
    fails_with("train --resume " + (t / "bad.ckpt") + " --no-progress", "bad.ckpt");
    fails_with("eval --checkpoint " + (t / "bad.ckpt"), "bad.ckpt");
    CHECK(fs::file_size(t / "bad.ckpt") == std::string("not a checkpoint at all").size());
    fails_with("plot " + (t / "missing.csv") + " --out " + (t / "x.png"), "missing.csv");
}

TEST_CASE("hnn train: unwritable outputs fail at once or cleanly, leaving no partial files", "[cli][train][faults]") {
    SyntheticData data;
    const TempDir &t = data.dir;
    const std::set<std::string> inputs = t.entries();
    auto fails_with = [&](const std::string &args, const std::string &needle, const std::string &prefix = "") {
        test::CliRun r = run_hnn(train_args(data, 1) + " " + args, true, prefix);
        INFO(args << "\n" << r.out);
        CHECK(r.exit_code == 1);
        CHECK(r.out.find(needle) != std::string::npos);
        return r;
    };
    // Missing folders and folders given as files fail before any training (no epoch line).
    for (const std::string flag : {"--checkpoint", "--log", "--plot"}) {
        test::CliRun r = fails_with(flag + " " + (t / "missing/out.x"), flag + " " + (t / "missing/out.x"));
        CHECK(r.out.find("epoch 1/1") == std::string::npos);
        CHECK(r.out.find("No such file or directory") != std::string::npos);
    }
    fails_with("--checkpoint " + t.path.string(), "is a folder");
    fails_with("--log " + (t / "train-images-idx3-ubyte/x.csv"), "Not a directory");
    // Read-only places. Root (as in CI) is not bound by file permissions, but sysfs refuses new files
    // to everyone; another user gets a folder and a file without write permission.
    if (geteuid() == 0) {
        fails_with("--checkpoint /sys/hnn.ckpt", "cannot create files in /sys");
    } else {
        fs::create_directory(t / "read-only");
        fs::permissions(t / "read-only", fs::perms::owner_read | fs::perms::owner_exec);
        fails_with("--checkpoint " + (t / "read-only/c.ckpt"), "cannot create files in");
        fs::permissions(t / "read-only", fs::perms::owner_all);
        fs::remove(t / "read-only");
        std::ofstream(t / "locked.csv") << "";
        fs::permissions(t / "locked.csv", fs::perms::owner_read);
        fails_with("--log " + (t / "locked.csv"), "locked.csv");
        fs::remove(t / "locked.csv");
    }
    CHECK(t.entries() == inputs);

    // A full disk, simulated by a file-size limit (ulimit -f, in KiB): the checkpoint (about 16 KiB at
    // this width) cannot be written, while the log fits; the failed checkpoint leaves no temporary file.
    fails_with("--checkpoint " + (t / "c.ckpt") + " --log " + (t / "log.csv"), "File too large", "ulimit -f 8;");
    CHECK_FALSE(fs::exists(t / "c.ckpt"));
    // A plot cut short (gnuplot itself reports success) is not left behind either.
    fails_with("--plot " + (t / "p.png"), "p.png", "ulimit -f 8;");
    CHECK_FALSE(fs::exists(t / "p.png"));
    // The log's configuration line does not fit in 1 KiB: neither log file stays.
    fails_with("--log " + (t / "tiny.csv"), "File too large", "ulimit -f 1;");
    std::set<std::string> expected = inputs;
    expected.insert({"log.csv", "log.jsonl", "p.csv", "p.jsonl"});
    CHECK(t.entries() == expected);  // complete logs of the runs that got that far, and nothing else
}

TEST_CASE("hnn train: a diverging run stops naming the step and layer, and its last checkpoint stays good", "[cli][train][faults]") {
    SyntheticData data;
    const TempDir &t = data.dir;
    // One good epoch, then a learning rate of 2e6: the weights explode within a few steps.
    test::CliRun r = run_hnn(train_args(data, 3) + " --lr-schedule step:1:1e9 --checkpoint " + (t / "c.ckpt") +
                                 " --log " + (t / "log.csv"),
                             true);
    INFO(r.out);
    REQUIRE(r.exit_code == 1);
    CHECK(r.out.find("training diverged at epoch 2, step ") != std::string::npos);
    CHECK(r.out.find("of layer ") != std::string::npos);
    CHECK(r.out.find("still holds epoch 1") != std::string::npos);
    const std::vector<EpochRecord> log = read_training_log(t / "log.csv");
    REQUIRE(log.size() == 1);
    // The checkpoint is epoch 1's: it evaluates to the logged test loss, and the run resumes from it.
    test::CliRun e = run_hnn("eval --device cpu --checkpoint " + (t / "c.ckpt") + " --data " + t.path.string(), true);
    INFO(e.out);
    REQUIRE(e.exit_code == 0);
    const size_t at = e.out.find("test_loss ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(e.out.substr(at + 10)) == Approx(log[0].test_loss).margin(1e-4));  // printed to 4 decimals
}

}  // namespace
}  // namespace hnn
