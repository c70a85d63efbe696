#include "hnn/tensor.h"

#include "device_interface.h"
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
    // Dense, so one std::fill; Buffer::fill's per-dimension walk steps its pointer past the end of
    // the allocation, which UndefinedBehaviorSanitizer reports as a pointer overflow.
    std::fill(buffer_.data(), buffer_.data() + buffer_.number_of_elements(), 0.0f);
    buffer_.set_host_dirty();
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

void Tensor::synchronize() {
    if (buffer_.raw_buffer()->device_interface == nullptr) return;
    install_halide_handlers();
    check_kernel(buffer_.device_sync(), "synchronize the device", "tensor " + shape_string());
}

Tensor Tensor::reshaped(const std::vector<int> &shape) {
    size_t count = 1;
    for (int extent : shape) count *= static_cast<size_t>(extent > 0 ? extent : 0);
    if (count != size() || shape.empty()) {
        throw Error("cannot view tensor " + shape_string() + " with " + std::to_string(count) + " elements");
    }
    std::vector<halide_dimension_t> dims(shape.size());
    int stride = 1;
    for (size_t i = 0; i < shape.size(); i++) {
        dims[i] = halide_dimension_t(0, shape[i], stride);
        stride *= shape[i];
    }
    if (device_ != Device::cpu) {
        // The view will share the device allocation, so it must exist and hold the current data now:
        // otherwise the first kernel to see either buffer would allocate or upload for that one alone.
        // A device-dirty buffer has both already.
        if (!buffer_.device_dirty()) {
            const halide_device_interface_t *interface = device_interface(device_);
            if (interface == nullptr) throw Error(std::string("no ") + device_name(device_) + " kernels are built in");
            install_halide_handlers();
            check_kernel(buffer_.copy_to_device(interface), "copy to the device", "tensor " + shape_string());
        }
    }
    halide_buffer_t raw = *buffer_.raw_buffer();
    raw.dimensions = static_cast<int32_t>(dims.size());
    raw.dim = dims.data();
    Tensor view;
    view.device_ = device_;
    // Unmanaged: the view neither frees nor detaches the allocation it shares (the Buffer copies dims).
    view.buffer_ = Halide::Runtime::Buffer<float>(raw, Halide::Runtime::BufferDeviceOwnership::Unmanaged);
    return view;
}

void Tensor::fill(float value) {
    float *p = host();
    std::fill(p, p + size(), value);
    host_changed();
}

}  // namespace hnn
