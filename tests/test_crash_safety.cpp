// `hnn train` killed with SIGKILL at many moments, half of them while a checkpoint is being written:
// afterwards the checkpoint on disk always loads, evaluates, and a resumed run continues from it.

#include "checkpoint_file.h"
#include "cli_util.h"
#include "synthetic_mnist.h"
#include "temp_dir.h"
#include "training_log.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <random>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace hnn {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using test::TempDir;

pid_t spawn_hnn(const std::vector<std::string> &args) {
    std::vector<char *> argv;
    std::string exe = HNN_EXECUTABLE;
    argv.push_back(exe.data());
    std::vector<std::string> copies = args;
    for (std::string &a : copies) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(nullptr);  // or the child's freopen would flush a copy of our buffered output
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::freopen("/dev/null", "w", stdout);
        std::freopen("/dev/null", "w", stderr);
        execv(exe.c_str(), argv.data());
        _exit(127);
    }
    return pid;
}

bool temporary_checkpoint_exists(const TempDir &t) {
    for (const auto &entry : fs::directory_iterator(t.path)) {
        if (entry.path().filename().string().rfind("c.ckpt.tmp.", 0) == 0) return true;
    }
    return false;
}

TEST_CASE("crash safety: SIGKILL at any moment, even mid-checkpoint, leaves a checkpoint that loads and resumes",
          "[cli][train][faults]") {
    test::SyntheticMnist data(40, 20);
    const TempDir &t = data.dir;
    const std::string checkpoint = t / "c.ckpt";
    // Epochs of two steps, so that a checkpoint (about 450 KB with Adam's state) is written every few
    // tens of milliseconds and the kills land in every phase of the loop.
    const std::vector<std::string> common = {"train", "--model", "celu7", "--width", "32", "--dataset", "mnist", "--data",
                                             t.path.string(), "--batch", "20", "--threads", "1", "--device", "cpu",
                                             "--no-progress", "--log", t / "log.csv", "--epochs", "100000"};
    std::mt19937 rng(12345);
    int kills = 0, mid_write = 0, resumed = 0;
    const int rounds = 24;
    for (int round = 0; round < rounds; round++) {
        std::vector<std::string> args = common;
        const bool resume = fs::exists(checkpoint);
        if (resume) {
            args.push_back("--resume");
            resumed++;
        } else {
            args.push_back("--checkpoint");
        }
        args.push_back(checkpoint);
        const pid_t pid = spawn_hnn(args);
        // Even rounds: once a checkpoint exists, kill as soon as the next one's temporary file appears,
        // plus up to a millisecond (inside the write). Odd rounds: at a random moment within the first
        // 1.5 s (start-up, data loading, training, evaluation or writing).
        const bool aim_at_write = round % 2 == 0;
        const auto deadline = Clock::now() + std::chrono::milliseconds(aim_at_write ? 20000 : rng() % 1500);
        bool saw_write = false;
        while (Clock::now() < deadline) {
            if (aim_at_write && fs::exists(checkpoint) && temporary_checkpoint_exists(t)) {
                saw_write = true;
                std::this_thread::sleep_for(std::chrono::microseconds(rng() % 1000));
                break;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(aim_at_write ? 50 : 1000));
        }
        int status = 0;
        REQUIRE(waitpid(pid, &status, WNOHANG) == 0);  // still running: it never stops by itself
        REQUIRE(kill(pid, SIGKILL) == 0);
        REQUIRE(waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFSIGNALED(status));
        kills++;
        if (saw_write && temporary_checkpoint_exists(t)) mid_write++;

        if (!fs::exists(checkpoint)) continue;  // killed before the first checkpoint
        INFO("round " << round);
        const Checkpoint c = read_checkpoint(checkpoint);  // whole, CRC-checked
        REQUIRE(c.epoch >= 1);
        const test::CliRun eval = test::run_hnn("eval --device cpu --checkpoint " + checkpoint + " --data " + t.path.string());
        REQUIRE(eval.exit_code == 0);
    }
    INFO(kills << " kills, " << mid_write << " while a checkpoint's temporary file existed, " << resumed << " resumed runs");
    CHECK(mid_write >= rounds / 4);
    CHECK(resumed >= rounds / 2);

    // A last resumed run to completion: one more epoch, a log of consecutive epochs, and no temporary
    // files left by the killed writers (the next successful write removes them).
    REQUIRE(fs::exists(checkpoint));
    const int epochs = read_checkpoint(checkpoint).epoch;
    const test::CliRun last = test::run_hnn("train --resume " + checkpoint + " --log " + (t / "log.csv") +
                                                " --device cpu --no-progress --epochs " + std::to_string(epochs + 1),
                                            true);
    INFO(last.out);
    REQUIRE(last.exit_code == 0);
    REQUIRE(read_checkpoint(checkpoint).epoch == epochs + 1);
    const std::vector<EpochRecord> log = read_training_log(t / "log.csv");
    REQUIRE(static_cast<int>(log.size()) == epochs + 1);
    for (size_t i = 0; i < log.size(); i++) CHECK(log[i].epoch == static_cast<int>(i) + 1);
    CHECK_FALSE(temporary_checkpoint_exists(t));
}

}  // namespace
}  // namespace hnn
