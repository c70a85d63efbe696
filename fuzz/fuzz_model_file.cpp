// libFuzzer target: JSON model files (load_model_file), then what the trainer does with an accepted
// model before any kernel runs: shapes against MNIST and CIFAR-10 inputs, the description, and the
// round trip through model_to_json that checkpoints rely on.
//
// Input: the file.

#include "activation_invariants.h"
#include "fuzz_support.h"
#include "hnn/error.h"
#include "model.h"

using namespace hnn;

namespace {

void require_valid(const ModelSpec &m, const std::string &path) {
    fuzz::require(!m.layers.empty(), "accepted a model without layers");
    for (const LayerSpec &l : m.layers) {
        fuzz::require_sane_activation(l.activation, path);
        fuzz::require(l.kernel >= 1 && l.stride >= 1, "accepted a kernel or stride < 1");
        fuzz::require(l.rate >= 0 && l.rate < 1, "accepted a dropout rate outside [0, 1)");
        if (l.kind == LayerKind::conv) fuzz::require(l.out_channels >= 1, "accepted a conv without channels");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fuzz::MemoryFile file;
    const std::string &path = file.write(data, size);
    Activation relu;
    ModelSpec model;
    try {
        model = load_model_file(path, relu, {});
    } catch (const Error &e) {
        fuzz::require_names(e.what(), path);
        return 0;
    }
    require_valid(model, path);

    for (Shape3 input : {Shape3{1, 28, 28}, Shape3{3, 32, 32}}) {
        try {
            describe_model(model, input, 10);
        } catch (const Error &) {
        }
    }

    // A checkpoint stores the model as model_to_json and reads it back with model_from_json: what
    // was accepted once must come back the same.
    const nlohmann::json saved = model_to_json(model);
    ModelSpec again;
    try {
        again = model_from_json(saved, "round trip", relu);
    } catch (const Error &e) {
        fuzz::fail(std::string("model_to_json wrote a model that model_from_json refuses: ") + e.what());
    }
    fuzz::require(model_to_json(again) == saved, "model changed in the round trip: " + saved.dump());
    return 0;
}
