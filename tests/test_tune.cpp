// `hnn tune` through the real executables (hnn execs hnn-tune) on a tiny conv: it writes a tuned
// file with its provenance and knobs, which parses back, whose knobs give the default schedule's
// numbers (--check), and which the build's CMake reads into the generator parameter; bad shapes and
// kernels fail naming the field. Timings are never compared: they depend on the machine.

#include "cli_util.h"
#include "tuned_file.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

namespace hnn {
namespace {

using test::run_hnn;

const char *const tiny_shape = "ci=8,co=16,w=6,h=5,n=2,k=3,pad=1,act=relu";

std::filesystem::path fresh_directory(const std::string &name) {
    std::mt19937_64 rng(std::random_device{}());
    std::filesystem::path dir = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(rng()));
    std::filesystem::create_directories(dir);
    return dir;
}

std::string read_text(const std::filesystem::path &path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// What cmake/HnnTunedSchedules.cmake makes of a directory of tuned files, run as the build runs it.
test::CliRun cmake_knobs(const std::filesystem::path &dir, const std::string &kernel) {
    return test::run_command("cmake -DHNN_TUNED_DIR=" + dir.string() + " -DKERNEL=" + kernel + " -P " +
                             HNN_SOURCE_DIR "/cmake/print_tuned_knobs.cmake 2>&1");
}

// `hnn tune KERNEL --shape SHAPE` with a small budget into `dir`: the one file it writes, parsed,
// after `hnn tune --check` has found its knobs give the default schedule's numbers.
TunedFile tune_and_check(const std::string &kernel, const std::string &shape, const std::filesystem::path &dir) {
    const std::string args = "tune " + kernel + " --shape " + shape +
                             " --budget 4 --repeats 2 --min-speedup 0 --threads 2 --out " + dir.string();
    test::CliRun r = run_hnn(args, true);
    INFO("hnn " << args << "\n" << r.out);
    REQUIRE(r.exit_code == 0);
    std::vector<std::filesystem::path> files;
    for (const auto &e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
    REQUIRE(files.size() == 1);
    // The winner's knobs, compiled as the build would, give the default schedule's numbers.
    test::CliRun check = run_hnn("tune --check " + files[0].string() + " --repeats 1", true);
    INFO(check.out);
    CHECK(check.exit_code == 0);
    CHECK(check.out.find("same numbers as the default schedule") != std::string::npos);
    return parse_tuned_file(read_text(files[0]), files[0].filename().string());
}

TEST_CASE("tune: a short search writes a tuned file that parses back, checks out and the build reads", "[tune][cli]") {
    const std::filesystem::path dir = fresh_directory("hnn-tune");
    // --min-speedup 0: a file is written even where the default wins, so the test does not depend
    // on timings.
    const std::string args = std::string("tune conv2d_forward --shape ") + tiny_shape +
                             " --budget 8 --repeats 2 --min-speedup 0 --threads 2 --out " + dir.string();
    test::CliRun r = run_hnn(args, true);
    INFO("hnn " << args << "\n" << r.out);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("candidate") != std::string::npos);
    CHECK(r.out.find("default") != std::string::npos);

    std::vector<std::filesystem::path> files;
    for (const auto &e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
    REQUIRE(files.size() == 1);
    const std::string name = files[0].filename().string();
    CHECK(std::regex_match(name, std::regex(R"(conv2d_forward\.(avx512|avx2|baseline)\.txt)")));
    CHECK(r.out.find("wrote " + files[0].string()) != std::string::npos);

    const std::string text = read_text(files[0]);
    INFO(text);
    CHECK(text.find("# command: hnn tune conv2d_forward --shape " + std::string(tiny_shape)) != std::string::npos);
    CHECK(text.find("# machine: ") != std::string::npos);
    CHECK(text.find("# date: ") != std::string::npos);
    CHECK(text.find("# total: ") != std::string::npos);

    const TunedFile f = parse_tuned_file(text, name);
    CHECK(f.kernel == "conv2d_forward");
    CHECK(name == f.file_name());
    CHECK(f.schedule == "hand");
    REQUIRE(f.knobs.size() == 3);
    CHECK(f.knobs[0].first == "chunk_channels");
    CHECK(f.knobs[1].first == "tile_c");
    CHECK(f.knobs[2].first == "tile_x");
    REQUIRE(f.shapes.size() == 1);
    CHECK(f.shapes[0].spec == "ci=8,co=16,w=6,h=5,n=2,k=3,stride=1,pad=1,ow=6,oh=5,act=relu");
    CHECK(f.shapes[0].default_ms > 0);
    CHECK(f.shapes[0].tuned_ms > 0);
    CHECK(f.shapes[0].max_rel_error <= 1e-5);  // chunk_channels regroups the sum over channels
    CHECK(format_tuned_file(parse_tuned_file(format_tuned_file(f), name)) == format_tuned_file(f));

    // The knobs, compiled as the build would, give the default schedule's outputs.
    test::CliRun check = run_hnn("tune --check " + files[0].string() + " --repeats 1", true);
    INFO(check.out);
    CHECK(check.exit_code == 0);
    CHECK(check.out.find("same numbers as the default schedule") != std::string::npos);

    // The build's CMake turns the file into the generator parameter.
    test::CliRun knobs = cmake_knobs(dir, "conv2d_forward");
    INFO(knobs.out);
    CHECK(knobs.exit_code == 0);
    const std::string expected = "schedule_knobs=" + f.isa + ".chunk_channels:" + std::to_string(f.knobs[0].second) +
                                 "," + f.isa + ".tile_c:" + std::to_string(f.knobs[1].second) + "," + f.isa +
                                 ".tile_x:" + std::to_string(f.knobs[2].second);
    CHECK(knobs.out.find(expected) != std::string::npos);
    CHECK(cmake_knobs(dir, "conv2d_backward_data").out.find("schedule_knobs=\n") != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("tune: a Winograd kernel's knobs are searched, written, checked and read by the build", "[tune][cli][winograd]") {
    // F(2x2) backward-weights: the Winograd kernel that compiles fastest (no activation).
    const std::filesystem::path dir = fresh_directory("hnn-tune-winograd");
    const TunedFile f = tune_and_check("conv2d_winograd_backward_weights", "ci=8,co=16,w=6,h=5,n=2,k=3,pad=1", dir);
    CHECK(f.kernel == "conv2d_winograd_backward_weights");
    REQUIRE(f.knobs.size() == 3);
    CHECK(f.knobs[0].first == "group_tiles");
    CHECK(f.knobs[1].first == "tile_ci");
    CHECK(f.knobs[2].first == "tile_co");
    const std::string expected = "schedule_knobs=" + f.isa + ".group_tiles:" + std::to_string(f.knobs[0].second);
    CHECK(cmake_knobs(dir, "conv2d_winograd_backward_weights").out.find(expected) != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("tune: a pointwise kernel's knobs are searched, written, checked and read by the build", "[tune][cli]") {
    // Backward-weights: the pointwise kernel that compiles fastest (no activation).
    const std::filesystem::path dir = fresh_directory("hnn-tune-pointwise");
    const TunedFile f = tune_and_check("pointwise_conv2d_backward_weights", "ci=8,co=16,w=6,h=5,n=2,k=1", dir);
    CHECK(f.kernel == "pointwise_conv2d_backward_weights");
    // run_positions only from a candidate: the default picks it per shape (256 here, where co fits
    // one tile), and the default's file (--min-speedup 0) leaves it to the default.
    std::vector<std::string> names;
    for (const auto &knob : f.knobs) names.push_back(knob.first);
    const std::vector<std::string> with_runs{"run_positions", "tile_ci", "tile_co"}, without{"tile_ci", "tile_co"};
    CHECK((names == with_runs || names == without));
    REQUIRE(f.shapes.size() == 1);
    CHECK(f.shapes[0].spec == "ci=8,co=16,w=6,h=5,n=2,k=1,stride=1,pad=0,ow=6,oh=5");
    const std::string expected = "schedule_knobs=" + f.isa + "." + f.knobs[0].first + ":" + std::to_string(f.knobs[0].second);
    CHECK(cmake_knobs(dir, "pointwise_conv2d_backward_weights").out.find(expected) != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("tune: the build refuses a tuned file it cannot apply, naming the file and line", "[tune]") {
    const std::filesystem::path dir = fresh_directory("hnn-tune-bad");
    std::ofstream(dir / "conv2d_forward.avx2.txt") << "# comment\nkernel conv2d_forward\nisa avx2\nschedule hand\ntile_c many\n";
    test::CliRun r = cmake_knobs(dir, "conv2d_forward");
    INFO(r.out);
    CHECK(r.exit_code != 0);
    CHECK(r.out.find("conv2d_forward.avx2.txt:5") != std::string::npos);
    CHECK(r.out.find("tile_c") != std::string::npos);
    CHECK_THROWS_WITH(parse_tuned_file("kernel conv2d_forward\nisa avx2\nschedule hand\ntile_c many\n", "f.txt"),
                      Catch::Contains("f.txt:4") && Catch::Contains("tile_c"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("tune: bad shapes and kernels fail naming what is wrong", "[tune][cli]") {
    struct Case {
        std::string args, message;
    };
    const std::vector<Case> cases{
        {"tune conv2d_forward --shape ci=8,co=x,w=6,h=5,n=2,k=3", "field 'co'"},
        {"tune conv2d_forward --shape ci=8,co=16,w=6,n=2,k=3", "missing field 'h'"},
        {"tune conv2d_forward --shape ci=8,co=16,w=6,h=5,n=2,k=3,depth=2", "unknown field 'depth'"},
        {"tune conv2d_forward --shape ci=8,co=16,w=6,h=5,n=2,k=3,act=nope", "field 'act'"},
        {"tune conv2d_backward_weights --shape ci=8,co=16,w=6,h=5,n=2,k=3,act=relu", "field 'act'"},
        {"tune conv2d_sideways --shape ci=8,co=16,w=6,h=5,n=2,k=3", "unknown or untunable kernel 'conv2d_sideways'"},
        {"tune conv2d_winograd_forward --shape ci=8,co=16,w=6,h=5,n=2,k=5", "3x3 stride-1 convolutions only"},
        {"tune conv2d_winograd4x4_backward_data --shape ci=8,co=16,w=6,h=5,n=2,k=3,stride=2", "'stride'"},
        {"tune pointwise_conv2d_forward --shape ci=8,co=16,w=6,h=5,n=2,k=3", "1x1 stride-1 convolutions without padding only"},
        {"tune pointwise_conv2d_backward_data --shape ci=8,co=16,w=6,h=5,n=2,k=1,stride=2", "1x1 stride-1"},
        {"tune pointwise_conv2d_forward --shape ci=8,co=16,w=6,h=5,n=2,k=1,act=rrelu", "rrelu runs the direct kernel (conv2d_forward)"},
        {"tune conv2d_forward --shape ci=8,co=16,w=6,h=5,n=2,k=1,act=relu", "runs pointwise_conv2d_forward"},
        {"tune conv2d_backward_weights --shape ci=8,co=16,w=6,h=5,n=2,k=1", "runs pointwise_conv2d_backward_weights"},
        {"tune --shape ci=8,co=16,w=6,h=5,n=2,k=3", "name a kernel"},
        {"tune --model celu7 --width 8 --batch 2 --shape ci=8", "not both"},
    };
    for (const Case &c : cases) {
        test::CliRun r = run_hnn(c.args, true);
        INFO("hnn " << c.args << "\n" << r.out);
        CHECK(r.exit_code != 0);
        CHECK(r.out.find(c.message) != std::string::npos);
    }
}

}  // namespace
}  // namespace hnn

TEST_CASE("tune: header numbers that are not numbers or overflow are refused naming the line", "[tune][fuzz]") {
    // Found with fuzz/fuzz_tuned_file: std::stoi/stod threw past the parser's error handling.
    const std::string body = "kernel conv2d_forward\nisa avx512\nschedule hand\n";
    REQUIRE_THROWS_WITH(hnn::parse_tuned_file("# machine: x, 99999999999999 threads\n" + body, "t.txt"),
                        Catch::Contains("t.txt:1:") && Catch::Contains("99999999999999"));
    REQUIRE_THROWS_WITH(hnn::parse_tuned_file(body + "# shape s: . -> 1 ms, 1x, max abs error 0, max rel error 0\n", "t.txt"),
                        Catch::Contains("t.txt:4:") && Catch::Contains("'.'"));
    REQUIRE_THROWS_WITH(hnn::parse_tuned_file("# search: 3 candidates timed, budget . s\n" + body, "t.txt"),
                        Catch::Contains("t.txt:1:"));
}
