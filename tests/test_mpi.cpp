// Data-parallel training under mpirun: two ranks with half a batch each train the run one process
// trains, resume each other's checkpoints, and fail together (never hang) when one rank fails,
// disagrees or dies. Every mpirun runs under `timeout`, so a hang fails the test instead of CI.

#include "checkpoint_file.h"
#include "cli_util.h"
#include "synthetic_mnist.h"
#include "training_log.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>

extern char **environ;

namespace hnn {
namespace {

using test::run_command;
using test::SyntheticMnist;
using test::TempDir;

// Open MPI refuses root without these (CI runs as root); the sanitizer settings let LeakSanitizer
// skip Open MPI's own allocations kept past MPI_Finalize (tests/lsan-suppressions.supp says why) and see
// everything else. --oversubscribe: a machine with fewer cores than ranks still runs the tests.
std::string mpi_environment() {
    return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mca_base_component_disable_dlclose=1 "
           "LSAN_OPTIONS=suppressions=" HNN_SOURCE_DIR "/tests/lsan-suppressions.supp:fast_unwind_on_malloc=0:print_suppressions=0 ";
}

const std::string hnn_path = HNN_EXECUTABLE;

// `mpirun -np RANKS COMMAND`, stdout and stderr together.
test::CliRun mpirun_command(int ranks, const std::string &command, int timeout_s) {
    return run_command(mpi_environment() + "timeout -k 10 " + std::to_string(timeout_s) + " " MPIEXEC
                       " --oversubscribe -np " + std::to_string(ranks) + " " + command + " 2>&1");
}

// `mpirun -np RANKS hnn ARGS`, or MPMD when `args` holds " : -np 1 hnn ..." itself.
test::CliRun mpirun(int ranks, const std::string &args, int timeout_s = 240) {
    return mpirun_command(ranks, hnn_path + " " + args, timeout_s);
}

// A model with every kind of layer whose numbers depend on the image's place in the batch (rrelu,
// dropout) and a learnable activation: the shards must draw what one process draws.
std::string write_model(const TempDir &dir) {
    const std::string path = dir / "model.json";
    std::ofstream(path) << R"({"name": "mpi-test", "layers": [
        {"type": "conv", "out_channels": 8, "kernel": 3, "activation": "rrelu"},
        {"type": "dropout", "rate": 0.2},
        {"type": "conv", "out_channels": 8, "kernel": 3, "stride": 2, "activation": "prelu"},
        {"type": "max_pool", "kernel": 2},
        {"type": "conv", "out_channels": 10, "kernel": 3, "activation": "celu"},
        {"type": "global_avg_pool"}
    ]})";
    return path;
}

// 290 images in batches of 51: shards of 25 and 26, and a last batch of 35 (17 and 18).
std::string train_args(const std::string &data_dir, const std::string &model, int train_limit = 290,
                       const std::string &lr = "0.01") {
    return "train --data " + data_dir + " --model-file " + model + " --batch 51 --train-limit " +
           std::to_string(train_limit) + " --lr " + lr + " --no-progress --seed 3";
}
std::string train_args(const SyntheticMnist &data, const std::string &model) {
    return train_args(data.dir.path.string(), model);
}

std::map<std::string, std::vector<float>> tensors(const std::string &checkpoint) {
    std::map<std::string, std::vector<float>> t;
    for (const CheckpointTensor &c : read_checkpoint(checkpoint).tensors) t[c.name] = c.data;
    return t;
}

// Two ranks sum their shards' gradients, each already divided by its shard's size and weighted by
// shard/batch; one process sums the whole batch at once. In float32 the two orders of summation
// differ by a few units in the last place of each gradient element (relative 1e-7 to 1e-6 for the
// sums of about 10^4 products here). SGD with momentum carries such differences into the weights
// without growing them: measured 9e-8 at most after 18 steps. (Adam does not: it divides each
// gradient by its own running magnitude, so an element whose gradient is near zero moves by a
// sizeable fraction of the learning rate in a direction the last bits decide; a change in the order
// in which backward-weights sums rows moved one such weight by 4e-4.) The bounds leave a factor of
// about 100.
constexpr double loss_tolerance = 1e-5;    // relative, per logged loss
constexpr double weight_tolerance = 1e-5;  // absolute, weights of order 0.1 to 1

void require_same_losses(const EpochRecord &a, const EpochRecord &b) {
    INFO("epoch " << a.epoch);
    REQUIRE(a.epoch == b.epoch);
    CHECK(a.train_loss == Approx(b.train_loss).epsilon(loss_tolerance));
    CHECK(a.test_loss == Approx(b.test_loss).epsilon(loss_tolerance));
    CHECK(std::fabs(a.train_acc - b.train_acc) <= 1.0 / 290 + 1e-9);  // one image may flip
    CHECK(std::fabs(a.test_acc - b.test_acc) <= 1.0 / 100 + 1e-9);
}

void require_same_weights(const std::string &a, const std::string &b) {
    const auto ta = tensors(a), tb = tensors(b);
    REQUIRE(ta.size() == tb.size());
    double worst = 0;
    std::string where;
    for (const auto &[name, values] : ta) {
        REQUIRE(tb.count(name));
        REQUIRE(tb.at(name).size() == values.size());
        for (size_t i = 0; i < values.size(); i++) {
            const double d = std::fabs(double(values[i]) - tb.at(name)[i]);
            if (d > worst) worst = d, where = name + "[" + std::to_string(i) + "]";
        }
    }
    INFO("largest difference " << worst << " at " << where);
    CHECK(worst <= weight_tolerance);
}

TEST_CASE("mpi: 2 ranks x half batch train what 1 rank x full batch trains, and resume each other", "[mpi]") {
    SyntheticMnist data;
    TempDir dir("hnn-mpi");
    const std::string model = write_model(dir);
    const std::string args = train_args(data.dir.path.string(), model, 290, "0.05") + " --optimizer sgd --momentum 0.9";

    const test::CliRun one = test::run_hnn(args + " --epochs 3 --log " + (dir / "one.csv") + " --checkpoint " +
                                           (dir / "one.ckpt"), true);
    INFO(one.out);
    REQUIRE(one.exit_code == 0);
    const test::CliRun two = mpirun(2, args + " --epochs 3 --log " + (dir / "two.csv") + " --checkpoint " + (dir / "two.ckpt"));
    INFO(two.out);
    REQUIRE(two.exit_code == 0);
    CHECK(two.out.find("data-parallel over 2 ranks") != std::string::npos);
    CHECK(two.out.find("25-26 images each") != std::string::npos);
    CHECK(two.out.find("allreduce") != std::string::npos);
    // Rank 0 alone prints: one header and one line per epoch, not two.
    size_t epoch_lines = 0;
    for (size_t at = two.out.find("epoch "); at != std::string::npos; at = two.out.find("epoch ", at + 1)) epoch_lines++;
    CHECK(epoch_lines == 3);

    const std::vector<EpochRecord> a = read_training_log(dir / "one.csv"), b = read_training_log(dir / "two.csv");
    REQUIRE(a.size() == 3);
    REQUIRE(b.size() == 3);
    for (int e = 0; e < 3; e++) require_same_losses(a[e], b[e]);
    require_same_weights(dir / "one.ckpt", dir / "two.ckpt");

    SECTION("every rank resumes from rank 0's checkpoint, and one process from two ranks'") {
        const test::CliRun first = mpirun(2, args + " --epochs 2 --log " + (dir / "r.csv") + " --checkpoint " + (dir / "r.ckpt"));
        INFO(first.out);
        REQUIRE(first.exit_code == 0);
        std::filesystem::copy_file(dir / "r.ckpt", dir / "single.ckpt");
        const test::CliRun resumed = mpirun(2, "train --resume " + (dir / "r.ckpt") + " --epochs 3 --no-progress --data " +
                                                   data.dir.path.string() + " --log " + (dir / "r.csv"));
        INFO(resumed.out);
        REQUIRE(resumed.exit_code == 0);
        const std::vector<EpochRecord> r = read_training_log(dir / "r.csv");
        REQUIRE(r.size() == 3);
        require_same_losses(a[2], r[2]);
        require_same_weights(dir / "one.ckpt", dir / "r.ckpt");

        const test::CliRun single = test::run_hnn("train --resume " + (dir / "single.ckpt") + " --epochs 3 --no-progress", true);
        INFO(single.out);
        REQUIRE(single.exit_code == 0);
        require_same_weights(dir / "one.ckpt", dir / "single.ckpt");
    }
}

TEST_CASE("mpi: a rank that cannot start, or reads other data, stops every rank with its reason", "[mpi][faults]") {
    SyntheticMnist data;
    TempDir dir("hnn-mpi");
    const std::string model = write_model(dir);
    const std::string args = train_args(data, model) + " --epochs 1";

    SECTION("rank 1 lacks the data") {
        const std::string elsewhere = train_args(dir / "nowhere", model) + " --epochs 1";
        const test::CliRun r = mpirun(1, args + " : -np 1 " + hnn_path + " " + elsewhere, 120);
        INFO(r.out);
        CHECK(r.exit_code != 0);
        CHECK(r.out.find("rank 1 of 2") != std::string::npos);
        CHECK(r.out.find(dir / "nowhere") != std::string::npos);
        CHECK(r.out.find("epoch 1/") == std::string::npos);
    }
    SECTION("rank 1 reads fewer images") {
        const std::string fewer = train_args(data.dir.path.string(), model, 280) + " --epochs 1";
        const test::CliRun r = mpirun(1, args + " : -np 1 " + hnn_path + " " + fewer, 120);
        INFO(r.out);
        CHECK(r.exit_code != 0);
        CHECK(r.out.find("rank 1 of 2: this rank's run differs from rank 0's") != std::string::npos);
        CHECK(r.out.find("the training set is 280 images") != std::string::npos);
    }
    SECTION("every rank fails the same way: the error is printed once") {
        const test::CliRun r = mpirun(2, train_args(data.dir.path.string(), dir / "missing.json") + " --epochs 1", 120);
        INFO(r.out);
        CHECK(r.exit_code != 0);
        size_t count = 0;
        for (size_t at = r.out.find("missing.json"); at != std::string::npos; at = r.out.find("missing.json", at + 1)) count++;
        CHECK(count == 1);
    }
}

TEST_CASE("mpi: a diverged run stops every rank, reported once, at the same step", "[mpi][faults]") {
    SyntheticMnist data;
    TempDir dir("hnn-mpi");
    const test::CliRun r =
        mpirun(2, train_args(data.dir.path.string(), write_model(dir), 290, "1e30") + " --epochs 2 --optimizer sgd", 120);
    INFO(r.out);
    CHECK(r.exit_code != 0);
    size_t count = 0;
    for (size_t at = r.out.find("training diverged"); at != std::string::npos; at = r.out.find("training diverged", at + 1)) count++;
    CHECK(count == 1);
    CHECK(r.out.find("MPI_ABORT") == std::string::npos);  // an orderly stop, not an abort
}

// The pid of the child of `parent` whose environment says it is MPI rank `rank`, or 0.
pid_t find_rank(pid_t parent, int rank) {
    for (const auto &entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const size_t close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream fields(line.substr(close + 2));
        char state;
        pid_t ppid = 0;
        fields >> state >> ppid;
        if (ppid != parent) continue;
        std::ifstream env(entry.path() / "environ");
        const std::string text((std::istreambuf_iterator<char>(env)), {});
        if (text.find("OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0') != std::string::npos) {
            return static_cast<pid_t>(std::stol(name));
        }
    }
    return 0;
}

// mpirun in the background, started directly (not through a shell that forks) so that its pid is
// known and its ranks are its children; its output goes to a file the test reads while it runs.
class BackgroundMpirun {
public:
    BackgroundMpirun(const std::string &args, const std::string &output_file) : out_(output_file) {
        const std::string command = mpi_environment() + "exec " MPIEXEC " --oversubscribe -np 2 " + hnn_path + " " + args +
                                    " > " + out_ + " 2>&1";
        const char *argv[] = {"sh", "-c", command.c_str(), nullptr};
        REQUIRE(posix_spawnp(&pid_, "sh", nullptr, nullptr, const_cast<char **>(argv), environ) == 0);
    }
    ~BackgroundMpirun() {
        if (running_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }

    std::string output() const {
        std::ifstream in(out_);
        return std::string((std::istreambuf_iterator<char>(in)), {});
    }
    // Waits until the output holds `text`, at most two minutes.
    bool wait_for(const std::string &text) const {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (output().find(text) == std::string::npos) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return true;
    }
    // Waits for mpirun to end, at most `seconds`; its exit status, or nothing if it still runs.
    std::optional<int> wait_end(int seconds) {
        int status = 0;
        for (int i = 0; i < seconds * 10; i++) {
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                running_ = false;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return std::nullopt;
    }
    pid_t pid() const { return pid_; }

private:
    std::string out_;
    pid_t pid_ = 0;
    bool running_ = true;
};

TEST_CASE("mpi: a rank that dies makes the others exit with an error, not hang", "[mpi][faults]") {
    SyntheticMnist data;
    TempDir dir("hnn-mpi");
    BackgroundMpirun run(train_args(data, write_model(dir)) + " --epochs 200", dir / "out.txt");
    // After rank 0's first epoch line both ranks are deep in training.
    REQUIRE(run.wait_for("epoch 1/"));
    const pid_t rank1 = find_rank(run.pid(), 1);
    INFO(run.output());
    REQUIRE(rank1 > 0);
    REQUIRE(kill(rank1, SIGKILL) == 0);
    const std::optional<int> status = run.wait_end(60);
    INFO(run.output());
    REQUIRE(status.has_value());  // else every other rank waits forever
    CHECK(*status != 0);
    CHECK(find_rank(run.pid(), 0) == 0);  // rank 0 is gone too
}

TEST_CASE("mpi: an error on rank 0 alone (its checkpoint folder vanishes) aborts every rank instead of leaving them waiting",
          "[mpi][faults]") {
    SyntheticMnist data;
    TempDir dir("hnn-mpi");
    std::filesystem::create_directory(dir / "saves");
    BackgroundMpirun run(train_args(data, write_model(dir)) + " --epochs 200 --checkpoint " + (dir / "saves/run.ckpt"),
                         dir / "out.txt");
    REQUIRE(run.wait_for("epoch 1/"));
    // Only rank 0 writes checkpoints: its next one fails, and rank 1 knows nothing of it.
    std::filesystem::remove_all(dir / "saves");
    std::ofstream(dir / "saves") << "a file where the folder was\n";
    const std::optional<int> status = run.wait_end(60);
    INFO(run.output());
    REQUIRE(status.has_value());
    CHECK(*status != 0);
    CHECK(run.output().find("hnn: rank 0 of 2: error:") != std::string::npos);
    CHECK(run.output().find(dir / "saves/run.ckpt") != std::string::npos);
}

TEST_CASE("mpi: bench --mpi times one rank against two in the same run", "[mpi][bench]") {
    const test::CliRun r = mpirun(2, "bench --mpi --width 16 --batch 32 --repeats 3 --warmup 1 --json", 240);
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    const size_t begin = r.out.find('{');
    REQUIRE(begin != std::string::npos);
    const nlohmann::json j = nlohmann::json::parse(r.out.substr(begin, r.out.rfind('}') - begin + 1));
    CHECK(j.at("ranks") == 2);
    CHECK(j.at("batch") == 32);
    CHECK(j.at("one_rank").at("images_per_s").get<double>() > 0);
    CHECK(j.at("all_ranks").at("images_per_s").get<double>() > 0);
    CHECK(j.at("all_ranks").at("allreduce_ms").get<double>() > 0);
    CHECK(j.at("all_ranks").at("compute_ms").get<double>() > 0);
    CHECK(j.at("gradient_bytes").get<double>() > 0);
    CHECK(j.at("speedup").get<double>() ==
          Approx(j["all_ranks"]["images_per_s"].get<double>() / j["one_rank"]["images_per_s"].get<double>()));
}

TEST_CASE("mpi: an hnn built without MPI says so when a launcher starts it", "[mpi]") {
    // The same executable without libhnn_mpi.so beside it is what a build without MPI installs.
    TempDir dir("hnn-no-mpi");
    std::filesystem::copy_file(hnn_path, dir / "hnn");
    const test::CliRun r = run_command("OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 " + (dir / "hnn") +
                                       " train --epochs 1 2>&1");
    INFO(r.out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("this hnn was built without MPI") != std::string::npos);
    CHECK(r.out.find("libopenmpi-dev") != std::string::npos);
    // Without a launcher the same binary trains as one process: it needs no MPI library to start.
    const test::CliRun ldd = run_command("ldd " + hnn_path + " 2>&1");
    CHECK(ldd.out.find("libmpi") == std::string::npos);
}

}  // namespace
}  // namespace hnn
