#include "data_parallel.h"

#include "hnn/device.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

namespace hnn {

Shard shard_of(int batch, int rank, int ranks) {
    // 64-bit products: batch * rank overflows an int for batches near 2^31 / ranks.
    const auto bound = [&](int r) { return static_cast<int>(static_cast<long long>(batch) * r / ranks); };
    return {bound(rank), bound(rank + 1) - bound(rank)};
}

int core_share(const ProcessGroup &group) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return std::max(1, cores / group.ranks_on_this_machine());
}

int default_rank_threads(const ProcessGroup &group) {
    return std::min(core_share(group), available_cores());
}

GradientSum::GradientSum(ProcessGroup &group, std::vector<Parameter> parameters)
    : group_(group), parameters_(std::move(parameters)) {
    size_t total = 2;  // the loss sum and the correct count ride along
    for (const Parameter &p : parameters_) total += p.grad->size();
    buffer_.resize(total);
}

BatchTotals GradientSum::reduce(int shard_images, int batch_images, double shard_loss_sum, long shard_correct) {
    const float share = static_cast<float>(shard_images) / static_cast<float>(batch_images);
    size_t at = 0;
    for (Parameter &p : parameters_) {
        const size_t n = p.grad->size();
        if (shard_images == 0) {
            std::fill(buffer_.begin() + at, buffer_.begin() + at + n, 0.0f);
        } else {
            const float *g = p.grad->host();
            for (size_t i = 0; i < n; i++) buffer_[at + i] = g[i] * share;
        }
        at += n;
    }
    // Exact in float up to 2^24: a batch's correct count, and its loss sum to float precision.
    buffer_[at] = static_cast<float>(shard_loss_sum);
    buffer_[at + 1] = static_cast<float>(shard_correct);

    const auto start = std::chrono::steady_clock::now();
    group_.sum(buffer_.data(), buffer_.size());
    allreduce_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    calls_++;

    at = 0;
    for (Parameter &p : parameters_) {
        const size_t n = p.grad->size();
        std::copy(buffer_.begin() + at, buffer_.begin() + at + n, p.grad->host());
        p.grad->host_changed();
        at += n;
    }
    return {buffer_[at], static_cast<long>(buffer_[at + 1])};
}

std::string checksum(const void *data, size_t bytes) {
    const uLong crc = crc32_z(crc32_z(0L, Z_NULL, 0), static_cast<const Bytef *>(data), bytes);
    char text[16];
    std::snprintf(text, sizeof text, "%08lx", static_cast<unsigned long>(crc));
    return text;
}

std::string fingerprint_to_text(const RunFingerprint &f) {
    return nlohmann::json(f).dump();
}

RunFingerprint fingerprint_from_text(const std::string &text) {
    return nlohmann::json::parse(text).get<RunFingerprint>();
}

std::string fingerprint_difference(const RunFingerprint &mine, const RunFingerprint &rank0) {
    std::string differences;
    for (size_t i = 0; i < mine.size(); i++) {
        const bool same = i < rank0.size() && rank0[i].first == mine[i].first && rank0[i].second == mine[i].second;
        if (same) continue;
        if (!differences.empty()) differences += "; ";
        const std::string theirs = i < rank0.size() ? rank0[i].second : "(nothing)";
        differences += mine[i].first + " is " + mine[i].second + " here but " + theirs + " on rank 0";
    }
    return differences;
}

void on_every_rank(ProcessGroup &group, const std::function<void()> &phase) {
    std::optional<std::string> failure;
    try {
        phase();
    } catch (const Error &e) {
        if (group.size() == 1) throw;
        failure = e.what();
    }
    if (group.size() == 1) return;
    double failed = failure ? 1 : 0;
    group.sum(&failed, 1);
    if (failed == 0) return;
    if (!failure) throw GroupError("", false);
    if (failed == group.size()) throw GroupError(*failure, group.rank() == 0);
    throw GroupError("rank " + std::to_string(group.rank()) + " of " + std::to_string(group.size()) + ": " + *failure,
                     true);
}

}  // namespace hnn
