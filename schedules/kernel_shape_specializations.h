#pragma once
// A convolution accumulator's update specialized on square kernel sizes and strides, so that a GPU
// schedule can unroll the taps and size its tiles as constants in each, and on strides alone for
// the other kernel sizes, with the general update as the fallback.

#include "Halide.h"

#include <initializer_list>
#include <vector>

namespace hnn {

struct KernelShape {
    int k, stride;
};

// Every kernel size in `sizes` at every stride in `strides`.
inline std::vector<KernelShape> kernel_shapes(std::initializer_list<int> sizes, std::initializer_list<int> strides) {
    std::vector<KernelShape> shapes;
    for (int k : sizes) {
        for (int s : strides) shapes.push_back({k, s});
    }
    return shapes;
}

// One Stage of acc's update per shape, in order, then one per stride in `other_sizes_strides` for
// the kernel sizes not in `shapes` (with the stride a constant, a position's input is at a constant
// offset from its neighbour's), then the general update last. Every specialization is created
// before any is scheduled: each copies the unscheduled update.
inline std::vector<Halide::Stage> specialize_on_kernel_shapes(Halide::Func acc, const Halide::Expr &kernel_width,
                                                              const Halide::Expr &kernel_height,
                                                              const Halide::Expr &stride,
                                                              const std::vector<KernelShape> &shapes,
                                                              const std::vector<int> &other_sizes_strides = {}) {
    std::vector<Halide::Stage> stages;
    for (const KernelShape &shape : shapes) {
        stages.push_back(acc.update().specialize(kernel_width == shape.k && kernel_height == shape.k &&
                                                 stride == shape.stride));
    }
    for (int s : other_sizes_strides) stages.push_back(acc.update().specialize(stride == s));
    stages.push_back(acc.update());
    return stages;
}

}  // namespace hnn
