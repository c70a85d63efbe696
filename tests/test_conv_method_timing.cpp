// How auto chooses a GPU convolution's method by timing (runtime/src/conv_method_timing.h), on a
// clock the test advances by what each fake launch "costs", so that the choice is certain.

#include "conv_method_timing.h"
#include "hnn/error.h"

#include <catch2/catch.hpp>

#include <map>
#include <string>

using namespace hnn;

namespace {

// A key no convolution of the other tests has: each test case takes its own batch.
ConvTimingKey key_with_batch(int batch) {
    return {ConvPass::forward, Device::opencl, 5, 7, 3, 3, 1, 1, 1, 9, 9, 9, 9, batch};
}

struct FakeDevice {
    std::map<ConvMethod, double> seconds;  // a launch's cost; absent: the launch throws
    std::map<ConvMethod, int> launches;
    double clock = 0;

    void launch(ConvMethod m) {
        launches[m]++;
        auto it = seconds.find(m);
        if (it == seconds.end()) throw Error("fake kernel failed");
        clock += it->second;
    }
};

ConvMethod time_on(FakeDevice &d, const ConvTimingKey &key) {
    return time_conv_methods(
        key, {ConvMethod::direct, ConvMethod::winograd_2x2, ConvMethod::winograd_4x4},
        [&](ConvMethod m) { d.launch(m); }, [&] { return d.clock; });
}

}  // namespace

TEST_CASE("auto's timing keeps the fastest method, launching each once untimed first", "[conv][timing]") {
    const size_t timed_before = conv_shapes_timed();
    FakeDevice d;
    d.seconds = {{ConvMethod::direct, 3e-3}, {ConvMethod::winograd_2x2, 1e-3}, {ConvMethod::winograd_4x4, 2e-3}};
    const ConvTimingKey key = key_with_batch(101);
    REQUIRE_FALSE(timed_conv_method(key));
    REQUIRE(time_on(d, key) == ConvMethod::winograd_2x2);
    for (auto [m, count] : d.launches) REQUIRE(count == 1 + kTimedConvRuns);
    REQUIRE(timed_conv_method(key) == ConvMethod::winograd_2x2);
    REQUIRE(conv_shapes_timed() == timed_before + 1);
    // What conv_method reports for that shape on that device under auto.
    const Conv2dGeometry g = conv2d_geometry(9, 9, 3, 3, 1, parse_padding("same"));
    REQUIRE(conv_method(ConvPass::forward, Device::opencl, 5, 7, 3, 3, g, 9, 9, 101) == ConvMethod::winograd_2x2);
    REQUIRE(conv_method(ConvPass::backward_data, Device::opencl, 5, 7, 3, 3, g, 9, 9, 101) == ConvMethod::direct);
    // Each method's seconds a launch, as hnn bench reports them.
    const auto seconds = conv_method_seconds(ConvPass::forward, Device::opencl, 5, 7, 3, 3, g, 9, 9, 101);
    REQUIRE(seconds.size() == 3);
    for (auto [m, s] : seconds) REQUIRE(s == Approx(d.seconds.at(m)));
    REQUIRE(conv_method_seconds(ConvPass::forward, Device::cuda, 5, 7, 3, 3, g, 9, 9, 101).empty());

    // A tie keeps the earlier candidate, the direct sum.
    FakeDevice tie;
    tie.seconds = {{ConvMethod::direct, 1e-3}, {ConvMethod::winograd_2x2, 1e-3}, {ConvMethod::winograd_4x4, 1e-3}};
    REQUIRE(time_on(tie, key_with_batch(102)) == ConvMethod::direct);
}

TEST_CASE("auto's timing leaves out a Winograd method whose launch fails, but not the direct sum", "[conv][timing]") {
    FakeDevice d;
    d.seconds = {{ConvMethod::direct, 3e-3}, {ConvMethod::winograd_2x2, 2e-3}};
    const ConvTimingKey key_103 = key_with_batch(103);
    REQUIRE(time_on(d, key_103) == ConvMethod::winograd_2x2);
    REQUIRE(d.launches[ConvMethod::winograd_4x4] == 1);
    REQUIRE(conv_timing(key_103)->seconds.size() == 2);

    FakeDevice broken;
    broken.seconds = {{ConvMethod::winograd_2x2, 2e-3}};
    const ConvTimingKey key = key_with_batch(104);
    REQUIRE_THROWS_WITH(time_on(broken, key), "fake kernel failed");
    REQUIRE_FALSE(timed_conv_method(key));
}

TEST_CASE("auto's timing chooses among a GPU's direct schedules, leaving out one whose launch fails",
          "[conv][timing]") {
    FakeDevice d;
    d.seconds = {{ConvMethod::direct, 3e-3}, {ConvMethod::direct_large_tile, 2e-3}};
    const ConvTimingKey key = key_with_batch(105);
    const ConvMethod chosen = time_conv_methods(
        key, {ConvMethod::direct, ConvMethod::direct_staged, ConvMethod::direct_large_tile},
        [&](ConvMethod m) { d.launch(m); }, [&] { return d.clock; });
    REQUIRE(chosen == ConvMethod::direct_large_tile);
    REQUIRE(d.launches[ConvMethod::direct_staged] == 1);
    REQUIRE(conv_timing(key)->seconds.size() == 2);
}

TEST_CASE("the GPU's other direct schedules are the direct kernels on the CPU, and have names", "[conv][timing]") {
    const Conv2dGeometry g = conv2d_geometry(9, 9, 3, 3, 1, parse_padding("same"));
    for (const char *name : {"direct-staged", "direct-large-tile"}) {
        INFO(name);
        set_conv_algorithm(parse_conv_algorithm(name));
        for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_weights}) {
            REQUIRE(conv_method(pass, Device::cpu, 64, 64, 3, 3, g, 9, 9, 64) == ConvMethod::direct);
            const ConvMethod on_gpu = conv_method(pass, Device::opencl, 64, 64, 3, 3, g, 9, 9, 64);
            REQUIRE(std::string(conv_method_name(on_gpu)) == name);
        }
    }
    set_conv_algorithm(ConvAlgorithm::automatic);
    REQUIRE_THROWS_WITH(parse_conv_algorithm("staged"),
                        Catch::Contains("expected auto, direct, winograd, winograd4x4, direct-staged or direct-large-tile"));
}
