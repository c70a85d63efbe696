// libFuzzer target: the `--param NAME.PARAM=VALUE` syntax, through make_activation as `hnn train`
// uses it and apply_activation_params as `hnn activations` does.
//
// Input: text lines; the first is the activation's name (--activation), each further line one
// --param assignment.

#include "activation_invariants.h"
#include "fuzz_support.h"
#include "hnn/error.h"
#include "model.h"

using namespace hnn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    std::vector<std::string> lines;
    for (size_t start = 0;;) {
        size_t end = text.find('\n', start);
        lines.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    const std::string name = lines.front();
    const std::vector<std::string> params(lines.begin() + 1, lines.end());
    try {
        fuzz::require_sane_activation(make_activation(name, params), "make_activation");
    } catch (const Error &) {
    }
    // Each assignment alone, on the activation it names, whatever the first line says.
    for (const std::string &p : params) {
        for (ActivationKind kind : all_activations()) {
            Activation a;
            a.kind = kind;
            try {
                apply_activation_params(a, {p});
                fuzz::require_sane_activation(a, "--param " + p);
            } catch (const Error &) {
            }
        }
    }
    return 0;
}
