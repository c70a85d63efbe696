#pragma once
// Shape estimates of the convolution generators for Halide's autoschedulers, which `hnn tune`
// compares with the hand schedules. Only read when the generator runs with auto_schedule=true (the
// build never does): GeneratorParam `estimates`, "ci:64,co:64,w:28,h:28,n:100,k:3,stride:1,
// pad_x:1,pad_y:1,ow:28,oh:28,act:13" (':' because GenGen splits its arguments at '=').

#include "Halide.h"

#include <map>
#include <sstream>
#include <string>

namespace hnn {

struct ConvEstimates {
    int ci = 64, co = 64, w = 28, h = 28, n = 8, k = 3, stride = 1, pad_x = 1, pad_y = 1, ow = 28, oh = 28;
    int act = 13;  // identity
};

inline ConvEstimates parse_conv_estimates(const std::string &text) {
    ConvEstimates e;
    std::map<std::string, int *> fields{{"ci", &e.ci},       {"co", &e.co},       {"w", &e.w},   {"h", &e.h},
                                        {"n", &e.n},         {"k", &e.k},         {"stride", &e.stride},
                                        {"pad_x", &e.pad_x}, {"pad_y", &e.pad_y}, {"ow", &e.ow}, {"oh", &e.oh},
                                        {"act", &e.act}};
    std::stringstream entries(text);
    std::string entry;
    while (std::getline(entries, entry, ',')) {
        const size_t colon = entry.find(':');
        auto it = colon == std::string::npos ? fields.end() : fields.find(entry.substr(0, colon));
        if (it == fields.end()) throw Halide::CompileError("hnn: estimates entry '" + entry + "' is not FIELD:VALUE");
        *it->second = std::stoi(entry.substr(colon + 1));
    }
    return e;
}

}  // namespace hnn
