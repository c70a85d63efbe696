// Data-parallel arithmetic without MPI: shards cover a batch exactly, the fused sum scales each
// rank's gradients by its share, and ranks that read different things are told apart.
// (tests/test_mpi.cpp runs the real thing under mpirun.)

#include "data_parallel.h"

#include "test_util.h"

namespace hnn {
namespace {

TEST_CASE("data parallel: shards are contiguous, cover the batch and differ by one image at most", "[mpi]") {
    for (int batch : {1, 2, 7, 51, 100, 1000}) {
        for (int ranks : {1, 2, 3, 4, 8, 13}) {
            INFO("batch " << batch << ", ranks " << ranks);
            int next = 0, smallest = batch, largest = 0;
            for (int r = 0; r < ranks; r++) {
                const Shard s = shard_of(batch, r, ranks);
                REQUIRE(s.first == next);
                next += s.count;
                smallest = std::min(smallest, s.count);
                largest = std::max(largest, s.count);
            }
            CHECK(next == batch);
            CHECK(largest - smallest <= 1);
        }
    }
    // batch * rank overflows 32 bits here.
    const Shard last = shard_of(2000000000, 3, 4);
    CHECK(last.first == 1500000000);
    CHECK(last.count == 500000000);
}

// A group of one whose sum doubles every value: what a second rank holding the same would add.
class TwinGroup : public ProcessGroup {
public:
    int rank() const override { return 0; }
    int size() const override { return 2; }
    int ranks_on_this_machine() const override { return 2; }
    void sum(float *values, size_t count) override {
        for (size_t i = 0; i < count; i++) values[i] *= 2;
        calls++;
    }
    void sum(double *values, size_t count) override {
        for (size_t i = 0; i < count; i++) values[i] *= 2;
    }
    std::string broadcast(const std::string &text) override { return text; }
    void barrier() override {}
    void sleeping_barrier() override {}
    [[noreturn]] void abort(int) override { throw Error("abort"); }
    std::string library() const override { return "test"; }
    int calls = 0;
};

TEST_CASE("data parallel: one fused sum per step turns shard means into the batch mean", "[mpi]") {
    Tensor w1({3}), g1({3}), w2({2, 2}), g2({2, 2});
    for (size_t i = 0; i < 3; i++) g1.host()[i] = 1.0f + i;
    for (size_t i = 0; i < 4; i++) g2.host()[i] = -2.0f;
    g1.host_changed();
    g2.host_changed();
    TwinGroup group;
    GradientSum sum(group, {{"a", &w1, &g1}, {"b", &w2, &g2}});
    CHECK(sum.bytes_per_call() == (3 + 4 + 2) * sizeof(float));
    // Two ranks of 10 images each in a batch of 20, both with these mean gradients: the batch's mean is the same.
    const BatchTotals t = sum.reduce(10, 20, 23.0, 7);
    CHECK(group.calls == 1);
    CHECK(sum.calls() == 1);
    for (size_t i = 0; i < 3; i++) CHECK(g1.host()[i] == Approx(1.0f + i));
    for (size_t i = 0; i < 4; i++) CHECK(g2.host()[i] == Approx(-2.0f));
    CHECK(t.loss_sum == Approx(46.0));
    CHECK(t.correct == 14);
    // A rank with no images contributes zeros, whatever its stale gradients hold.
    sum.reduce(0, 20, 0.0, 0);
    for (size_t i = 0; i < 3; i++) CHECK(g1.host()[i] == 0.0f);
}

TEST_CASE("data parallel: fingerprints name what differs from rank 0", "[mpi]") {
    const RunFingerprint rank0 = {{"the training set", "290 images, crc32 1/2"}, {"the weights", "abc"}};
    CHECK(fingerprint_difference(rank0, rank0).empty());
    CHECK(fingerprint_from_text(fingerprint_to_text(rank0)) == rank0);
    const RunFingerprint mine = {{"the training set", "280 images, crc32 3/4"}, {"the weights", "abc"}};
    CHECK(fingerprint_difference(mine, rank0) ==
          "the training set is 280 images, crc32 3/4 here but 290 images, crc32 1/2 on rank 0");
    CHECK(checksum("hnn", 3) == checksum("hnn", 3));
    CHECK(checksum("hnn", 3) != checksum("hnm", 3));
}

TEST_CASE("data parallel: a single process's failure keeps its own type and message", "[mpi]") {
    ProcessGroup &single = process_group();  // no launcher here: a group of one
    REQUIRE(single.size() == 1);
    CHECK_THROWS_WITH(on_every_rank(single, [] { throw Error("no data in /x"); }), "no data in /x");
    CHECK_NOTHROW(on_every_rank(single, [] {}));
}

}  // namespace
}  // namespace hnn
