#pragma once
// Halide's device interface behind each hnn Device (null for the CPU, and for a GPU API whose kernels
// are not built in).

#include "hnn/device.h"

#include <HalideRuntime.h>

namespace hnn {

const halide_device_interface_t *device_interface(Device device);

}  // namespace hnn
