#pragma once
// Data-parallel training's arithmetic, apart from MPI itself (process_group.h): which images of a
// batch each rank takes, and the one fused sum per step that turns each rank's gradients into the
// whole batch's.

#include "network.h"
#include "process_group.h"

#include <functional>
#include <string>
#include <vector>

namespace hnn {

// A rank's part of a batch of `batch` images: images [first, first + count), contiguous, the
// ranks' counts differing by at most one (a rank may get none of a batch smaller than the group).
struct Shard {
    int first = 0, count = 0;
};
Shard shard_of(int batch, int rank, int ranks);

// A rank's share of its machine's cores (all of them for a single process), and the worker threads
// a rank takes without --threads: that share, or fewer when its launcher bound it to fewer cores.
int core_share(const ProcessGroup &group);
int default_rank_threads(const ProcessGroup &group);

// One step's totals over the whole batch.
struct BatchTotals {
    double loss_sum = 0;  // the sum over images of each one's loss
    long correct = 0;
};

// Sums gradients over the ranks. Every gradient of the network, the shard's loss sum and its count
// of correct answers go into one buffer and one allreduce per step, not one call per tensor.
class GradientSum {
public:
    GradientSum(ProcessGroup &group, std::vector<Parameter> parameters);

    // Each rank's gradients are means over its shard's `shard_images`; scaled by shard/batch
    // before the sum, they become the mean over the whole batch, as one process computes it. A rank
    // with an empty shard passes 0 and contributes zeros. Every rank returns the same totals.
    BatchTotals reduce(int shard_images, int batch_images, double shard_loss_sum, long shard_correct);

    // Seconds spent in the allreduce itself (waiting for the slowest rank included), and how many
    // calls: the run's communication cost.
    double allreduce_seconds() const { return allreduce_seconds_; }
    long calls() const { return calls_; }
    size_t bytes_per_call() const { return buffer_.size() * sizeof(float); }

private:
    ProcessGroup &group_;
    std::vector<Parameter> parameters_;
    std::vector<float> buffer_;
    double allreduce_seconds_ = 0;
    long calls_ = 0;
};

// Everything the ranks of a run must agree on before its first step, rank 0's values being the
// reference: a rank that read other data, another checkpoint, or another model file would train
// something else silently. Each entry: {what it is, its value or checksum}.
using RunFingerprint = std::vector<std::pair<std::string, std::string>>;

// "" when `mine` matches rank 0's, else which entries differ, naming both values.
std::string fingerprint_difference(const RunFingerprint &mine, const RunFingerprint &rank0);
std::string fingerprint_to_text(const RunFingerprint &f);
RunFingerprint fingerprint_from_text(const std::string &text);

// crc32 of bytes, in hex (zlib's).
std::string checksum(const void *data, size_t bytes);

// Runs `phase` on every rank and compares outcomes: when it threw on any rank, every rank throws a
// GroupError, so the group exits together and each failure is printed once (by its own rank,
// naming the rank, or by rank 0 alone when every rank failed).
void on_every_rank(ProcessGroup &group, const std::function<void()> &phase);

}  // namespace hnn
