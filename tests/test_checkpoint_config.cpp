// The configuration inside a checkpoint (options, normalizer) is read back from JSON that a hostile
// file controls as much as any other field: numbers that do not fit their fields are refused naming
// the field, never converted with undefined behaviour.

#include "training_run.h"

#include "hnn/error.h"

#include <catch2/catch.hpp>

using namespace hnn;
using Catch::Contains;
using nlohmann::json;

TEST_CASE("checkpoint config: saved options round trip", "[checkpoint]") {
    TrainOptions o;
    o.batch = 7;
    o.lr = 0.5f;
    o.seed = 1234567890123ULL;
    const TrainOptions back = options_from_json(options_to_json(o), "checkpoint c.ckpt");
    CHECK(back.batch == 7);
    CHECK(back.lr == 0.5f);
    CHECK(back.seed == 1234567890123ULL);
}

TEST_CASE("checkpoint config: saved options whose numbers do not fit their fields are refused by field", "[checkpoint]") {
    struct Case {
        const char *field;
        json value;
    };
    const Case cases[] = {{"batch", 1e300},       {"batch", 3000000000ULL}, {"epochs", -1e10}, {"width", 2.5},
                          {"lr", 1e300},          {"eps", -1e39},           {"seed", -1},      {"seed", 1.5},
                          {"train_limit", 1e19}};
    for (const Case &k : cases) {
        json j = options_to_json(TrainOptions{});
        j[k.field] = k.value;
        INFO(k.field << " = " << k.value.dump());
        REQUIRE_THROWS_WITH(options_from_json(j, "checkpoint c.ckpt"),
                            Contains("checkpoint c.ckpt") && Contains("'" + std::string(k.field) + "'"));
    }
}

TEST_CASE("checkpoint config: a normalizer whose numbers do not fit a float is refused", "[checkpoint]") {
    const json good = {{"mode", "unit"}, {"scale", {0.5}}, {"shift", {0.0}}};
    CHECK(normalizer_from_json(good, "checkpoint c.ckpt").scale == std::vector<float>{0.5f});
    json bad = good;
    bad["scale"] = {1e300};
    REQUIRE_THROWS_WITH(normalizer_from_json(bad, "checkpoint c.ckpt"),
                        Contains("checkpoint c.ckpt: field 'normalizer'") && Contains("scale"));
    bad = good;
    bad["shift"] = {-1e39};
    REQUIRE_THROWS_WITH(normalizer_from_json(bad, "checkpoint c.ckpt"),
                        Contains("checkpoint c.ckpt: field 'normalizer'") && Contains("shift"));
}
