#include "jit_kernel.h"

#include "tune_problem.h"

#include "hnn/error.h"
#include "hnn/kernel_scratch_memory.h"

#include <cstdio>
#include <mutex>
#include <set>
#include <sstream>
#include <vector>

namespace hnn::tune {
namespace {

void print_to_stderr(Halide::JITUserContext *, const char *message) {
    std::fputs(message, stderr);
}

// A default value of a scalar Input, as the generator declared it.
template<typename T>
T scalar_default(const Halide::Argument &a) {
    const Halide::Expr &def = a.argument_estimates.scalar_def;
    if (!def.defined()) return T(0);
    if (const int64_t *i = Halide::Internal::as_const_int(def)) return T(*i);
    if (const uint64_t *u = Halide::Internal::as_const_uint(def)) return T(*u);
    if (const double *f = Halide::Internal::as_const_float(def)) return T(*f);
    return T(0);
}

}  // namespace

const std::vector<std::string> &known_autoschedulers() {
    static const std::vector<std::string> names{"Mullapudi2016", "Li2018", "Adams2019"};
    return names;
}

void use_autoscheduler(const std::string &name) {
    static std::set<std::string> loaded;
    if (!loaded.count(name)) {
        std::string path;
        std::stringstream plugins(HNN_AUTOSCHEDULER_PLUGINS);  // "Adams2019=/usr/lib/...so,..."
        std::string entry;
        while (std::getline(plugins, entry, ',')) {
            if (entry.rfind(name + "=", 0) == 0) path = entry.substr(name.size() + 1);
        }
        if (path.empty()) {
            std::string known;
            for (const std::string &n : known_autoschedulers()) known += (known.empty() ? "" : ", ") + n;
            throw Error("unknown autoscheduler '" + name + "' (known: " + known + ")");
        }
        try {
            Halide::load_plugin(path);
        } catch (const Halide::Error &e) {
            throw Error("loading autoscheduler " + name + " from " + path + ": " + e.what());
        }
        loaded.insert(name);
    }
    Halide::Pipeline::set_default_autoscheduler_name(name);
}

void install_jit_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        Halide::JITHandlers h;
        h.custom_print = print_to_stderr;
        h.custom_error = print_to_stderr;
        // The AOT kernels' allocator: candidates are timed as the build's kernels run, not with a
        // fresh mapping (page faults, zero-filling) for each intermediate buffer on every call.
        h.custom_malloc = [](Halide::JITUserContext *, size_t bytes) { return kernel_scratch_allocate(bytes); };
        h.custom_free = [](Halide::JITUserContext *, void *block) { kernel_scratch_free(block); };
        Halide::Internal::JITSharedRuntime::set_default_handlers(h);
    });
}

JitKernel::JitKernel(const std::string &kernel, const Halide::Target &target,
                     const std::map<std::string, std::string> &generator_params)
    : name_(kernel) {
    install_jit_handlers();
    const KernelGenerator g = kernel_generator(kernel);
    try {
        Halide::GeneratorContext context(target.with_feature(Halide::Target::JIT));
        auto gen = Halide::Internal::GeneratorRegistry::create(g.generator, context);
        Halide::Internal::GeneratorParamsMap params;
        for (const auto &[k, v] : g.params) params[k] = v;
        for (const auto &[k, v] : generator_params) params[k] = v;
        gen->set_generator_param_values(params);
        module_ = gen->build_module(name_);
        jit_ = Halide::Internal::JITModule(module_, module_.get_function_by_name(name_));
    } catch (const Halide::Error &e) {
        std::string p;
        for (const auto &[k, v] : generator_params) p += " " + k + "=" + v;
        throw Error("compiling " + kernel + " for " + target.to_string() + " with" + (p.empty() ? " defaults" : p) +
                    ": " + e.what());
    }
}

void JitKernel::run(KernelArgs &args) const {
    const Halide::Internal::LoweredFunc &fn = module_.get_function_by_name(name_);
    // Scalars live here while the call runs; reserve so their addresses stay put.
    std::vector<int32_t> ints;
    std::vector<uint32_t> uints;
    std::vector<float> floats;
    std::vector<uint8_t> bools;
    bools.reserve(fn.args.size());
    ints.reserve(fn.args.size());
    uints.reserve(fn.args.size());
    floats.reserve(fn.args.size());
    std::vector<const void *> argv;
    for (const Halide::Internal::LoweredArgument &a : fn.args) {
        if (a.is_buffer()) {
            // A second generator instance in one process names its outputs "output$2.0": match the
            // name the generator declared.
            std::string name = a.name;
            const size_t dollar = name.find('$');
            if (a.is_output() && dollar != std::string::npos) {
                name.erase(dollar, name.find_first_not_of("0123456789", dollar + 1) - dollar);
            }
            auto it = args.buffers.find(name);
            if (it == args.buffers.end()) throw Error(name_ + ": no buffer for argument '" + a.name + "'");
            argv.push_back(it->second.raw_buffer());
        } else if (a.type == Halide::Float(32)) {
            auto it = args.floats.find(a.name);
            floats.push_back(it != args.floats.end() ? it->second : scalar_default<float>(a));
            argv.push_back(&floats.back());
        } else if (a.type == Halide::Int(32)) {
            auto it = args.ints.find(a.name);
            ints.push_back(it != args.ints.end() ? it->second : scalar_default<int32_t>(a));
            argv.push_back(&ints.back());
        } else if (a.type == Halide::Bool()) {
            auto it = args.ints.find(a.name);
            bools.push_back(it != args.ints.end() ? it->second != 0 : scalar_default<bool>(a));
            argv.push_back(&bools.back());
        } else if (a.type == Halide::UInt(32)) {
            uints.push_back(scalar_default<uint32_t>(a));
            argv.push_back(&uints.back());
        } else {
            throw Error(name_ + ": argument '" + a.name + "' has a type the tuner does not pass");
        }
    }
    const int status = jit_.argv_function()(argv.data());
    if (status != 0) throw Error(name_ + " failed with Halide error " + std::to_string(status));
}

}  // namespace hnn::tune
