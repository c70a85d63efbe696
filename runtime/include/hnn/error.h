#pragma once
// Every failure hnn reports is an hnn::Error whose message names the operation, file, field or
// shape at fault. Halide's own errors are routed here too (halide_errors.cpp): no abort reaches
// the user.

#include <stdexcept>
#include <string>

namespace hnn {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string &what) : std::runtime_error(what) {}
};

// Routes Halide's error and print callbacks into hnn and its allocations through the kernel scratch
// memory cache (idempotent; every kernel call makes sure).
void install_halide_handlers();

// Throws hnn::Error for a non-zero Halide return code, with the operation, the shapes involved and
// the last message Halide's runtime reported.
void check_kernel(int result, const char *operation, const std::string &shapes);

// Forgets the last message Halide reported, after a probe whose failure is an answer, not an error,
// so that it is not blamed on a later kernel.
void discard_halide_error();

// Print from Halide's runtime goes to stderr only when this is set (HNN_VERBOSE=1 does it too).
void set_halide_verbose(bool verbose);

}  // namespace hnn
