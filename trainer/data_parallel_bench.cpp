#include "data_parallel_bench.h"

#include "data_parallel.h"
#include "optimizer.h"
#include "training_run.h"

#include "hnn/device.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <sched.h>
#include <cstdio>
#include <ostream>
#include <random>
#include <thread>

namespace hnn {
namespace {

using clock_type = std::chrono::steady_clock;

double ms_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// Every rank's value, on every rank (a sum of vectors in which each rank fills its own slot).
std::vector<double> gather(ProcessGroup &group, double value) {
    std::vector<double> all(group.size(), 0.0);
    all[group.rank()] = value;
    group.sum(all.data(), all.size());
    return all;
}

// Runs `f` free to use every core of the machine, as `hnn train` without mpirun is, although mpirun
// may have bound this rank to fewer; then restores the binding. The kernels' worker threads are
// restarted on both sides, since threads keep the affinity they were made with.
void on_every_core(const std::function<void()> &f) {
    cpu_set_t bound, every;
    sched_getaffinity(0, sizeof bound, &bound);
    CPU_ZERO(&every);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned c = 0; c < cores && c < CPU_SETSIZE; c++) CPU_SET(c, &every);
    sched_setaffinity(0, sizeof every, &every);
    restart_cpu_worker_threads();
    f();
    restart_cpu_worker_threads();
    sched_setaffinity(0, sizeof bound, &bound);
}

}  // namespace

DataParallelTiming time_data_parallel(ProcessGroup &group, const ModelSpec &model, const Shape3 &input, int classes,
                                      int batch, const Timing &timing, uint64_t seed, int threads) {
    DataParallelTiming t;
    t.ranks = group.size();
    t.batch = batch;
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

    // One rank alone, as `hnn train` without mpirun would run on rank 0's machine.
    t.single_threads = threads ? threads : cores;
    if (group.rank() == 0) {
        on_every_core([&] {
            set_cpu_threads(t.single_threads);
            t.single = time_train_step(model, input, classes, batch, timing, seed);
        });
    }
    group.sleeping_barrier();  // a polling wait would take a core from rank 0 on a shared machine

    // Every rank on its shard, as `mpirun -np N hnn train` runs.
    t.available_cores = available_cores();
    t.threads_per_rank = threads ? threads : default_rank_threads(group);
    set_cpu_threads(t.threads_per_rank);
    const Shard shard = shard_of(batch, group.rank(), group.size());
    Network network(model, input, classes);
    network.initialize(InitSpec{}, seed);
    Optimizer optimizer(OptimizerConfig{}, network.parameters());
    GradientSum gradient_sum(group, network.parameters());
    t.gradient_bytes = gradient_sum.bytes_per_call();
    std::mt19937 rng(static_cast<uint32_t>(seed) + static_cast<uint32_t>(group.rank()));
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    Tensor images({input.channels, input.width, input.height, std::max(1, shard.count)});
    std::generate(images.host(), images.host() + images.size(), [&] { return pixel(rng); });
    images.host_changed();
    std::vector<int32_t> labels(images.dim(3));
    for (int32_t &label : labels) label = static_cast<int32_t>(rng() % classes);

    std::vector<double> step, compute, allreduce, update;
    for (int i = 0; i < timing.warmup + timing.repeats; i++) {
        RandomKey key{true, static_cast<uint32_t>(seed), i};
        key.batch_offset = shard.first;
        group.barrier();
        const auto t0 = clock_type::now();
        double loss_sum = 0;
        long correct = 0;
        if (shard.count > 0) {
            const LossResult r = network.forward(images, labels, key);
            network.backward(images, key);
            loss_sum = static_cast<double>(r.loss) * shard.count;
            correct = r.correct;
        }
        const auto t1 = clock_type::now();
        group.barrier();  // the allreduce below then times communication, not the slowest rank
        const auto t2 = clock_type::now();
        gradient_sum.reduce(shard.count, batch, loss_sum, correct);
        const auto t3 = clock_type::now();
        optimizer.step(TrainOptions{}.lr);
        const auto t4 = clock_type::now();
        const std::vector<double> computes = gather(group, ms_between(t0, t1));
        if (i < timing.warmup) continue;
        compute.push_back(*std::max_element(computes.begin(), computes.end()));
        allreduce.push_back(ms_between(t2, t3));
        update.push_back(ms_between(t3, t4));
        step.push_back(ms_between(t0, t4));
    }
    t.step_ms = median(step);
    t.compute_ms = median(compute);
    t.allreduce_ms = median(allreduce);
    t.optimizer_ms = median(update);
    t.images_per_s = batch / (t.step_ms / 1000);
    // Rank 0's view is the one reported: every rank's step ends with the same allreduce.
    group.barrier();
    return t;
}

nlohmann::json data_parallel_json(const DataParallelTiming &t) {
    return {{"ranks", t.ranks},
            {"batch", t.batch},
            {"gradient_bytes", t.gradient_bytes},
            {"cores_per_rank", t.available_cores},
            {"one_rank",
             {{"threads", t.single_threads},
              {"step_ms", t.single.step_ms},
              {"images_per_s", t.single.images_per_s}}},
            {"all_ranks",
             {{"threads_per_rank", t.threads_per_rank},
              {"step_ms", t.step_ms},
              {"compute_ms", t.compute_ms},
              {"allreduce_ms", t.allreduce_ms},
              {"optimizer_ms", t.optimizer_ms},
              {"images_per_s", t.images_per_s}}},
            {"speedup", t.images_per_s / t.single.images_per_s},
            {"allreduce_share", t.allreduce_ms / t.step_ms}};
}

void print_data_parallel(std::ostream &out, const DataParallelTiming &t) {
    char line[256];
    std::snprintf(line, sizeof line, "%-10s %8s %10s %11s %13s %13s %10s\n", "ranks", "threads", "step ms", "compute ms",
                  "allreduce ms", "optimizer ms", "images/s");
    out << line;
    std::snprintf(line, sizeof line, "%-10d %8d %10.2f %11.2f %13s %13.2f %10.0f\n", 1, t.single_threads, t.single.step_ms,
                  t.single.forward_ms + t.single.backward_ms, "-", t.single.optimizer_ms, t.single.images_per_s);
    out << line;
    std::snprintf(line, sizeof line, "%-10d %8d %10.2f %11.2f %13.3f %13.2f %10.0f\n", t.ranks, t.threads_per_rank,
                  t.step_ms, t.compute_ms, t.allreduce_ms, t.optimizer_ms, t.images_per_s);
    out << line;
    std::snprintf(line, sizeof line,
                  "speedup %.2fx with %d ranks; the allreduce of %.2f MB of gradients takes %.1f%% of a step "
                  "(%.2f GB/s)\n",
                  t.images_per_s / t.single.images_per_s, t.ranks, t.gradient_bytes / 1e6, 100 * t.allreduce_ms / t.step_ms,
                  t.allreduce_ms > 0 ? t.gradient_bytes / (t.allreduce_ms * 1e6) : 0.0);
    out << line;
}

}  // namespace hnn
