#pragma once
// A float tensor over Halide::Runtime::Buffer: its shape, the device its data lives on, and
// ownership (a Tensor owns its allocation; copies share it, as Halide buffers do).
//
// On a GPU device the device allocation appears at the first kernel that uses the tensor, in that
// kernel's halide_buffer_t only: a copy taken before then gets neither it nor the device-dirty flag.
// Pass the tensor itself (by reference) to kernels whose results the caller reads.
//
// Activations are rank 4 in hnn's layout (c, x, y, n), channels innermost; filters are
// (c_out, kx, ky, c_in); parameters and per-sample values are rank 1.

#include "hnn/device.h"

#include <HalideBuffer.h>

#include <string>
#include <vector>

namespace hnn {

class Tensor {
public:
    Tensor() = default;
    // Zero-filled, on the given device's side (device memory is allocated on first kernel use).
    explicit Tensor(const std::vector<int> &shape, Device device = Device::cpu);

    int rank() const { return buffer_.dimensions(); }
    int dim(int i) const { return buffer_.dim(i).extent(); }
    std::vector<int> shape() const;
    size_t size() const { return buffer_.number_of_elements(); }
    bool defined() const { return buffer_.data() != nullptr; }
    Device device() const { return device_; }
    bool same_shape(const Tensor &other) const { return shape() == other.shape(); }

    // "(c=3, x=28, y=28, n=100)" for activations, "[10]" for a vector, "[a, b, ...]" otherwise.
    std::string shape_string() const;

    // Host pointer to up-to-date data (copies back from the device if the device copy is newer).
    float *host();
    const float *host() const;
    // Marks the host copy as newer after writing through host().
    void host_changed() { buffer_.set_host_dirty(); }
    void fill(float value);

    // Returns once the device has finished every kernel queued so far (a tensor on the CPU returns at
    // once). GPU kernels run asynchronously: a timer must stop after this, not after the launch.
    void synchronize();

    // The same memory seen with another shape of the same size (e.g. logits (10, 1, 1, n) as
    // (10, n)). The view does not own the memory: `this` must outlive it. On a GPU it shares the
    // device allocation (made current when the view is taken) but not the dirty bits: after the view
    // is taken, write both through kernels only, or read through the one that was written.
    Tensor reshaped(const std::vector<int> &shape);

    halide_buffer_t *raw() { return buffer_.raw_buffer(); }
    Halide::Runtime::Buffer<float> &buffer() { return buffer_; }
    const Halide::Runtime::Buffer<float> &buffer() const { return buffer_; }

private:
    mutable Halide::Runtime::Buffer<float> buffer_;
    Device device_ = Device::cpu;
};

}  // namespace hnn
