#include "hnn/error.h"
#include "hnn/kernel_scratch_memory.h"

#include <HalideRuntime.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace hnn {
namespace {

std::mutex last_error_mutex;
std::string last_error;
bool verbose = std::getenv("HNN_VERBOSE") != nullptr;

// Halide calls this instead of aborting; the kernel then returns non-zero and check_kernel throws.
void on_halide_error(void *, const char *message) {
    std::lock_guard<std::mutex> lock(last_error_mutex);
    last_error = message ? message : "";
    while (!last_error.empty() && (last_error.back() == '\n' || last_error.back() == ' ')) {
        last_error.pop_back();
    }
}

void on_halide_print(void *, const char *message) {
    if (verbose) std::fprintf(stderr, "[halide] %s", message);
}

void *on_halide_malloc(void *, size_t bytes) { return kernel_scratch_allocate(bytes); }
void on_halide_free(void *, void *block) { kernel_scratch_free(block); }

}  // namespace

void install_kernel_scratch_memory() {
    halide_set_custom_malloc(on_halide_malloc);
    halide_set_custom_free(on_halide_free);
}

void install_halide_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        halide_set_error_handler(on_halide_error);
        halide_set_custom_print(on_halide_print);
        install_kernel_scratch_memory();
        // A GPU kernel's intermediate buffers (backward-weights' partial gradients, a transposed
        // filter) would otherwise be a device malloc and a free, which waits for the device, on
        // every call; kept on Halide's free list, the next call of the same shape takes them back.
        halide_reuse_device_allocations(nullptr, true);
    });
}

void set_halide_verbose(bool v) { verbose = v; }

void discard_halide_error() {
    std::lock_guard<std::mutex> lock(last_error_mutex);
    last_error.clear();
}

void check_kernel(int result, const char *operation, const std::string &shapes) {
    if (result == 0) return;
    std::string detail;
    {
        std::lock_guard<std::mutex> lock(last_error_mutex);
        detail.swap(last_error);
    }
    throw Error(std::string(operation) + " failed (Halide error " + std::to_string(result) + ") on " + shapes +
                (detail.empty() ? "" : ": " + detail));
}

}  // namespace hnn
