// `hnn activations` end to end: the CSV the real executable prints agrees with an independent
// float64 implementation for all 13 activations on [-10, 10], and bad arguments fail clearly.

#include "cli_util.h"
#include "hnn/activation.h"
#include "reference_activations.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

using hnn::test::run_hnn;
using Run = hnn::test::CliRun;

TEST_CASE("hnn activations agrees with float64 for all 13 activations on [-10, 10]", "[cli]") {
    Run r = run_hnn("activations");
    REQUIRE(r.exit_code == 0);
    std::istringstream lines(r.out);
    std::string line;
    std::getline(lines, line);
    REQUIRE(line == "activation,x,f,df");
    std::map<std::string, int> rows;
    int misses = 0;
    std::string first_miss;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string name, xs, fs, dfs;
        std::getline(fields, name, ',');
        std::getline(fields, xs, ',');
        std::getline(fields, fs, ',');
        std::getline(fields, dfs, ',');
        hnn::ActivationKind kind = hnn::parse_activation_kind(name);
        // The kernel saw x rounded to float; so does the reference.
        const double x = static_cast<float>(std::stod(xs));
        hnn::reference::ActivationParams p;
        p.slope = kind == hnn::ActivationKind::prelu ? 0.25 : (1.0 / 8 + 1.0 / 3) / 2;  // prelu init, rrelu eval mean
        const double f = hnn::reference::activation(kind, x, p), df = hnn::reference::derivative(kind, x, p);
        const double got_f = std::stod(fs), got_df = std::stod(dfs);
        if (std::fabs(got_f - f) > 1e-5 * std::fabs(f) + 1e-6 || std::fabs(got_df - df) > 1e-5 * std::fabs(df) + 1e-6) {
            if (misses++ == 0) first_miss = line + " (want f " + std::to_string(f) + ", df " + std::to_string(df) + ")";
        }
        rows[name]++;
    }
    INFO("first miss: " << first_miss);
    REQUIRE(misses == 0);
    REQUIRE(rows.size() == 13);
    for (auto &[name, count] : rows) {
        INFO(name);
        REQUIRE(count == 2001);
    }
}

TEST_CASE("hnn activations honours --only, --param, the range and --plot", "[cli]") {
    Run r = run_hnn("activations --only celu,softplus --from -1 --to 1 --step 0.5 --param celu.alpha=2");
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out.find("celu,-1,-0.786938") != std::string::npos);  // 2 (e^{-1/2} - 1)
    REQUIRE(r.out.find("softplus,0,0.693147") != std::string::npos);
    REQUIRE(r.out.find("relu") == std::string::npos);

    const std::string png = "hnn_test_activations.png";
    std::remove(png.c_str());
    r = run_hnn("activations --only tanh,mish --plot " + png);
    REQUIRE(r.exit_code == 0);
    std::ifstream in(png, std::ios::binary);
    char magic[8] = {};
    in.read(magic, 8);
    REQUIRE(std::string(magic + 1, 3) == "PNG");
    std::remove(png.c_str());
}

TEST_CASE("hnn activations rejects bad arguments with a message and a non-zero exit", "[cli]") {
    Run r = run_hnn("activations --only gelu", true);
    CHECK(r.exit_code != 0);
    CHECK(r.out.find("unknown activation 'gelu'") != std::string::npos);
    r = run_hnn("activations --param celu.beta=2", true);
    CHECK(r.exit_code != 0);
    CHECK(r.out.find("celu has no parameter 'beta'") != std::string::npos);
    r = run_hnn("activations --step 0", true);
    CHECK(r.exit_code != 0);
    CHECK(r.out.find("positive step") != std::string::npos);
    r = run_hnn("activations --from 1 --to -1", true);
    CHECK(r.exit_code != 0);
    r = run_hnn("activations --plot /nonexistent-dir/x.png --only relu", true);
    CHECK(r.exit_code != 0);
    CHECK(r.out.find("/nonexistent-dir/x.png") != std::string::npos);
}
