#pragma once
// What `hnn tune` times: one kernel at one shape, parsed from --shape text such as
// "ci=64,co=64,w=28,h=28,n=100,k=3,stride=1,pad=1,act=celu", and the random arguments of one call.

#include "jit_kernel.h"

#include "hnn/activation.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hnn::tune {

// The kernels whose schedules have knobs (generators with a `schedule_knobs` parameter).
const std::vector<std::string> &tunable_kernels();
bool is_tunable(const std::string &kernel);

// What a tunable kernel computes: a convolution's forward, backward-data or backward-weights, by
// the direct sum, (conv2d_winograd*, 3x3 stride 1 only) by Winograd's transforms, or
// (pointwise_conv2d*, 1x1 stride 1 without padding only) as a matrix product over positions.
enum class KernelPass { forward, backward_data, backward_weights };
KernelPass pass_of(const std::string &kernel);
bool is_winograd(const std::string &kernel);
bool is_pointwise(const std::string &kernel);

// The generator a kernel is built from and the GeneratorParams its CMake line fixes
// (conv2d_winograd4x4_forward: conv2d_winograd_forward with tile_outputs=4).
struct KernelGenerator {
    std::string generator;
    std::map<std::string, std::string> params;
};
KernelGenerator kernel_generator(const std::string &kernel);

// A convolution call: input (ci, w, h, n), filter (co, k, k, ci), output (co, ow, oh, n).
struct ConvShape {
    int ci = 0, co = 0, w = 0, h = 0, n = 0, k = 0, stride = 1, pad_x = 0, pad_y = 0, ow = 0, oh = 0;
    ActivationKind act = ActivationKind::identity;  // forward: the epilogue; backward-data: the derivative
};

struct TuneProblem {
    std::string kernel;
    ConvShape conv;

    std::string spec() const;   // the --shape text that parses back to this problem
    std::string label() const;  // short, for the table: "N=100 28x28 1->200 k3 s1 celu"
    double flops() const;       // 2 N OH OW CO CI K K
    std::string estimates() const;  // the generators' `estimates` parameter, for autoschedulers
};

// Throws hnn::Error naming the kernel, the field and the text when something is wrong or missing.
// Fields: ci, co, w, h, n, k (required); stride (1); pad (both), pad_x, pad_y (0); ow, oh (from the
// others: (w + 2 pad - k) / stride + 1); act (identity).
TuneProblem parse_problem(const std::string &kernel, const std::string &spec);

// Random inputs (the same for the same seed) and output buffers of one call; `threads` is the
// backward-weights' partition count, as the runtime passes it.
KernelArgs make_kernel_args(const TuneProblem &p, uint64_t seed, int threads);

// The output buffers a candidate must reproduce.
std::vector<std::string> output_names(const std::string &kernel);

// The activation kinds to compile for this problem ("5"), so a candidate compiles one
// specialization, not fourteen; "" for a kernel without activation specializations.
std::string compiled_kinds(const TuneProblem &p);

}  // namespace hnn::tune
