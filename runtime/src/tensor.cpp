#include "hnn/tensor.h"

#include "hnn/error.h"

#include <algorithm>

namespace hnn {

Tensor::Tensor(const std::vector<int> &shape, Device device) : device_(device) {
    for (int extent : shape) {
        if (extent <= 0) {
            throw Error("tensor shape " + std::to_string(extent) + " in a dimension: extents must be positive");
        }
    }
    buffer_ = Halide::Runtime::Buffer<float>(shape);
    buffer_.fill(0.0f);
}

std::vector<int> Tensor::shape() const {
    std::vector<int> s;
    for (int i = 0; i < rank(); i++) s.push_back(dim(i));
    return s;
}

std::string Tensor::shape_string() const {
    if (!defined()) return "(undefined)";
    std::string s;
    if (rank() == 4) {
        static const char *names[] = {"c", "x", "y", "n"};
        s = "(";
        for (int i = 0; i < 4; i++) s += std::string(i ? ", " : "") + names[i] + "=" + std::to_string(dim(i));
        return s + ")";
    }
    s = "[";
    for (int i = 0; i < rank(); i++) s += (i ? ", " : "") + std::to_string(dim(i));
    return s + "]";
}

float *Tensor::host() {
    if (buffer_.device_dirty()) buffer_.copy_to_host();
    return buffer_.data();
}

const float *Tensor::host() const {
    if (buffer_.device_dirty()) buffer_.copy_to_host();
    return buffer_.data();
}

Tensor Tensor::reshaped(const std::vector<int> &shape) {
    size_t count = 1;
    for (int extent : shape) count *= static_cast<size_t>(extent > 0 ? extent : 0);
    if (count != size()) {
        throw Error("cannot view tensor " + shape_string() + " with " + std::to_string(count) + " elements");
    }
    if (device_ != Device::cpu) throw Error("reshaped views are for host tensors, not " + shape_string() + " on the GPU");
    Tensor view;
    view.buffer_ = Halide::Runtime::Buffer<float>(host(), shape);
    return view;
}

void Tensor::fill(float value) {
    float *p = host();
    std::fill(p, p + size(), value);
    host_changed();
}

}  // namespace hnn
