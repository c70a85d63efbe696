#pragma once
// One candidate schedule of one hnn kernel, JIT-compiled in this process from the same generator the
// build runs (linked in, created through Halide's GeneratorRegistry) with the same GeneratorParams
// the build would pass, for the same Halide target as the build's variant for this CPU. Called
// through its argv entry point with arguments matched by name, as an AOT kernel is called.

#include "Halide.h"

#include <map>
#include <string>
#include <vector>

namespace hnn::tune {

// A kernel's arguments by the generator's Input/Output names; scalars not given take the Input's
// default value.
struct KernelArgs {
    std::map<std::string, Halide::Buffer<float>> buffers;  // inputs and outputs
    std::map<std::string, int> ints;  // and bools, as 0 or 1
    std::map<std::string, float> floats;
};

class JitKernel {
public:
    // `kernel` as the build names it (tune_problem.h's kernel_generator says which generator and
    // fixed parameters make it); `generator_params` are added to those. Throws hnn::Error (naming
    // the kernel and parameters) when Halide refuses them.
    JitKernel(const std::string &kernel, const Halide::Target &target,
              const std::map<std::string, std::string> &generator_params);

    // Runs the kernel once; throws hnn::Error with Halide's message when it fails.
    void run(KernelArgs &args) const;

private:
    std::string name_;
    Halide::Module module_{"", Halide::Target()};
    Halide::Internal::JITModule jit_;
};

// Loads the autoscheduler plugin `name` (Adams2019, Li2018, Mullapudi2016: the ones Debian's
// Halide 14 ships, found where CMake's Halide package says) and makes it the one a generator with
// auto_schedule=true runs. Throws hnn::Error for an unknown name.
void use_autoscheduler(const std::string &name);
const std::vector<std::string> &known_autoschedulers();

// Halide's JIT error and print handlers, once per process: messages go to stderr and a failing
// call returns an error code (the JIT default would abort the whole search).
void install_jit_handlers();

}  // namespace hnn::tune
