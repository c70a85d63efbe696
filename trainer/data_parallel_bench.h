#pragma once
// `mpirun -np N hnn bench --mpi`: the training step of one rank alone against N ranks training
// data-parallel, in the same run, and what the gradient allreduce costs per step.

#include "kernel_bench.h"
#include "model.h"
#include "process_group.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>

namespace hnn {

struct DataParallelTiming {
    int ranks = 1, batch = 0;
    size_t gradient_bytes = 0;  // the fused buffer summed every step
    // Rank 0 alone on the whole batch, with every core of its machine whatever mpirun bound it to
    // (the other ranks wait, asleep).
    int single_threads = 0;
    TrainStepTiming single;
    // Every rank on its shard. compute: forward and backward, the slowest rank's; allreduce: the sum
    // itself, timed after a barrier so that it is communication only; step: a whole step as rank 0
    // sees it. Medians over the repeats.
    int threads_per_rank = 0;
    int available_cores = 0;  // rank 0's, as mpirun bound it
    double step_ms = 0, compute_ms = 0, allreduce_ms = 0, optimizer_ms = 0, images_per_s = 0;
};

// Collective: every rank of `group` must call it with the same arguments. `threads`: 0 for every
// core alone and the machine's cores shared among its ranks, else that many threads in both phases.
DataParallelTiming time_data_parallel(ProcessGroup &group, const ModelSpec &model, const Shape3 &input, int classes,
                                      int batch, const Timing &timing, uint64_t seed, int threads);

nlohmann::json data_parallel_json(const DataParallelTiming &t);
void print_data_parallel(std::ostream &out, const DataParallelTiming &t);

}  // namespace hnn
