// Hostile JSON model files and --param assignments: what fuzz/fuzz_model_file and fuzz_param found.
// Each is refused with an hnn::Error that names the file, the layer and the field (or the --param
// text), never a crash, and no file gives an activation that --param would refuse.

#include "model.h"

#include "hnn/error.h"

#include <catch2/catch.hpp>

#include <string>

using namespace hnn;
using Catch::Contains;
using nlohmann::json;

namespace {

ModelSpec from_text(const std::string &text) {
    return model_from_json(json::parse(text), "m.json", make_activation("relu", {}));
}

std::string conv_with_activation(const std::string &activation) {
    return R"({"layers": [{"type": "conv", "out_channels": 10, "kernel": 1, "activation": )" + activation + "}]}";
}

}  // namespace

TEST_CASE("model file: an unknown activation in an activation object names the file, layer and field", "[model]") {
    REQUIRE_THROWS_WITH(from_text(conv_with_activation(R"({"name": "gelu"})")),
                        Contains("m.json: layer 0: field 'activation'") && Contains("unknown activation 'gelu'"));
}

TEST_CASE("model file: activation objects obey the rules --param enforces", "[model]") {
    const std::string where = "m.json: layer 0: field 'activation'";
    REQUIRE_THROWS_WITH(from_text(conv_with_activation(R"({"name": "celu", "alpha": 0})")),
                        Contains(where) && Contains("celu.alpha must be non-zero"));
    REQUIRE_THROWS_WITH(from_text(conv_with_activation(R"({"name": "softplus", "beta": -1})")),
                        Contains(where) && Contains("softplus.beta must be positive"));
    REQUIRE_THROWS_WITH(from_text(conv_with_activation(R"({"name": "rrelu", "rrelu_lower": 0.5, "rrelu_upper": 0.1})")),
                        Contains(where) && Contains("rrelu needs lower <= upper"));
    // 1e39 does not fit a float: it must not become infinity (or undefined behaviour) silently.
    REQUIRE_THROWS_WITH(from_text(conv_with_activation(R"({"name": "elu", "alpha": 1e39})")),
                        Contains(where) && Contains("'alpha'") && Contains("finite"));
    // The checks apply to the rules, not to every parameter: these are fine.
    CHECK(from_text(conv_with_activation(R"({"name": "celu", "alpha": 2})")).layers[0].activation.alpha == 2.0f);
    CHECK_NOTHROW(from_text(conv_with_activation(R"({"name": "leaky_relu", "negative_slope": -3})")));
}

TEST_CASE("model file: a deeply nested value is refused by its type, not printed", "[model]") {
    // Printing 300000 nested arrays into the message overflowed the stack (nlohmann's dump recurses).
    const std::string deep = std::string(300000, '[') + std::string(300000, ']');
    for (const std::string &text : {R"({"layers": [)" + deep + "]}",
                                    R"({"layers": [{"type": "conv", "out_channels": )" + deep + R"(, "kernel": 1}]})",
                                    conv_with_activation(deep),
                                    R"({"layers": [{"type": "dropout", "rate": )" + deep + "}]}"}) {
        try {
            from_text(text);
            FAIL("accepted");
        } catch (const Error &e) {
            const std::string message = e.what();
            CHECK_THAT(message, Contains("m.json: layer 0") && Contains("an array"));
            CHECK(message.size() < 300);
        }
    }
}

TEST_CASE("model file: a long string value is quoted shortened in the message", "[model]") {
    const std::string long_name(100000, 'x');
    try {
        from_text(R"({"layers": [{"type": "conv", "out_channels": ")" + long_name + R"(", "kernel": 1}]})");
        FAIL("accepted");
    } catch (const Error &e) {
        const std::string message = e.what();
        CHECK_THAT(message, Contains("m.json: layer 0: field 'out_channels'") && Contains("xxx..."));
        CHECK(message.size() < 300);
    }
}

TEST_CASE("param syntax: rrelu's bounds are checked once every assignment is in, in any order", "[model]") {
    // lower=0.5 is above the default upper (1/3) until upper=0.8 arrives: valid, whatever the order.
    for (const std::vector<std::string> &params : {std::vector<std::string>{"rrelu.lower=0.5", "rrelu.upper=0.8"},
                                                   std::vector<std::string>{"rrelu.upper=0.8", "rrelu.lower=0.5"}}) {
        const Activation a = make_activation("rrelu", params);
        CHECK(a.rrelu_lower == 0.5f);
        CHECK(a.rrelu_upper == 0.8f);
    }
    REQUIRE_THROWS_WITH(make_activation("rrelu", {"rrelu.lower=0.5"}),
                        Contains("--param") && Contains("rrelu needs lower <= upper"));
    // Parameters of another activation are not applied, so they cannot break this one's bounds.
    CHECK_NOTHROW(make_activation("relu", {"rrelu.lower=0.5"}));
}
