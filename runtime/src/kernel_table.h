#pragma once
// The registry of hnn's AOT kernels: one table per device, each entry the Halide-generated entry
// point for that device. The CPU entries dispatch on CPU features by themselves (multi-target), but
// for the AVX-512 tile variants, which the table holds only where the CPU runs AVX-512 kernels.

#include "hnn/device.h"

#include "activation_backward.h"
#include "activation_forward.h"
#include "activation_parameter_gradient.h"
#include "conv2d_backward_data.h"
#include "conv2d_backward_weights.h"
#include "conv2d_forward.h"
#include "conv2d_forward_output_only.h"
#include "conv2d_winograd_backward_data.h"
#include "conv2d_winograd_backward_weights.h"
#include "conv2d_winograd_forward.h"
#include "conv2d_winograd_forward_output_only.h"
#include "conv2d_winograd4x4_backward_data.h"
#include "conv2d_winograd4x4_backward_weights.h"
#include "conv2d_winograd4x4_forward.h"
#include "conv2d_winograd4x4_forward_output_only.h"
#include "avg_pool_forward.h"
#include "avg_pool_backward.h"
#include "avg_pool_backward_activation.h"
#include "max_pool_backward_activation.h"
#include "max_pool_forward.h"
#include "max_pool_backward.h"
#include "global_avg_pool_forward.h"
#include "global_avg_pool_backward.h"
#include "softmax_cross_entropy.h"
#include "sgd_update.h"
#include "adam_update.h"
#include "upsample_nearest_add.h"
#include "dropout.h"
#include "pointwise_conv2d_backward_data.h"
#include "pointwise_conv2d_backward_weights.h"
#include "pointwise_conv2d_forward.h"
#include "pointwise_conv2d_forward_output_only.h"

#include <vector>

namespace hnn {

// The four direct kernels of one GPU schedule (generators/CMakeLists.txt).
struct DirectConvKernels {
    decltype(&::conv2d_forward) forward = nullptr;
    decltype(&::conv2d_forward_output_only) forward_output_only = nullptr;
    decltype(&::conv2d_backward_data) backward_data = nullptr;
    decltype(&::conv2d_backward_weights) backward_weights = nullptr;
};

// Every device's table lists the kernels down to `dropout`; of the kernels below it a GPU table has
// the Winograd ones alone, and leaves the others null.
struct KernelTable {
    decltype(&::activation_forward) activation_forward;
    decltype(&::activation_backward) activation_backward;
    decltype(&::activation_parameter_gradient) activation_parameter_gradient;
    decltype(&::conv2d_forward) conv2d_forward;
    decltype(&::conv2d_forward_output_only) conv2d_forward_output_only;  // no pre-activation
    decltype(&::conv2d_backward_data) conv2d_backward_data;
    decltype(&::conv2d_backward_weights) conv2d_backward_weights;
    decltype(&::avg_pool_forward) avg_pool_forward;
    decltype(&::avg_pool_backward) avg_pool_backward;
    decltype(&::avg_pool_backward_activation) avg_pool_backward_activation;  // kernel == stride alone
    decltype(&::max_pool_forward) max_pool_forward;
    decltype(&::max_pool_backward) max_pool_backward;
    decltype(&::max_pool_backward_activation) max_pool_backward_activation;  // kernel == stride alone
    decltype(&::global_avg_pool_forward) global_avg_pool_forward;
    decltype(&::global_avg_pool_backward) global_avg_pool_backward;
    decltype(&::softmax_cross_entropy) softmax_cross_entropy;
    decltype(&::sgd_update) sgd_update;
    decltype(&::adam_update) adam_update;
    decltype(&::upsample_nearest_add) upsample_nearest_add;
    decltype(&::dropout) dropout;
    // The CPU's second register tile of the forward and backward-data. The tile variants here are
    // built for AVX-512 alone (cmake/HnnKernels.cmake): null where the CPU kernels run other code.
    decltype(&::conv2d_forward) conv2d_forward_tile_2x7 = nullptr;
    decltype(&::conv2d_backward_data) conv2d_backward_data_tile_2x7 = nullptr;
    // The Winograd 3x3 stride-1 kernels.
    decltype(&::conv2d_winograd_forward) conv2d_winograd_forward = nullptr;
    decltype(&::conv2d_winograd_backward_data) conv2d_winograd_backward_data = nullptr;
    decltype(&::conv2d_winograd_backward_weights) conv2d_winograd_backward_weights = nullptr;
    decltype(&::conv2d_winograd4x4_forward) conv2d_winograd4x4_forward = nullptr;
    decltype(&::conv2d_winograd4x4_backward_data) conv2d_winograd4x4_backward_data = nullptr;
    decltype(&::conv2d_winograd4x4_backward_weights) conv2d_winograd4x4_backward_weights = nullptr;
    // The CPU's forward for outputs of one vector of channels.
    decltype(&::conv2d_forward) conv2d_forward_tile_1x12 = nullptr;
    // The CPU's 1x1 stride-1 convolutions as matrix products over positions.
    decltype(&::pointwise_conv2d_forward) pointwise_conv2d_forward = nullptr;
    decltype(&::pointwise_conv2d_backward_data) pointwise_conv2d_backward_data = nullptr;
    decltype(&::pointwise_conv2d_backward_weights) pointwise_conv2d_backward_weights = nullptr;
    decltype(&::pointwise_conv2d_forward) pointwise_conv2d_forward_tile_1x14 = nullptr;  // at most 16 co
    // The forwards above without the pre-activation output.
    decltype(&::conv2d_forward_output_only) conv2d_forward_tile_2x7_output_only = nullptr;
    decltype(&::conv2d_forward_output_only) conv2d_forward_tile_1x12_output_only = nullptr;
    decltype(&::conv2d_winograd_forward_output_only) conv2d_winograd_forward_output_only = nullptr;
    decltype(&::conv2d_winograd4x4_forward_output_only) conv2d_winograd4x4_forward_output_only = nullptr;
    decltype(&::pointwise_conv2d_forward_output_only) pointwise_conv2d_forward_output_only = nullptr;
    decltype(&::pointwise_conv2d_forward_output_only) pointwise_conv2d_forward_tile_1x14_output_only = nullptr;
    // A GPU's other schedules of the direct kernels: the staged one, and the cached one with larger
    // thread tiles. Null on the CPU.
    DirectConvKernels conv2d_staged, conv2d_large_tile;
};

// Throws hnn::Error when the device's kernels are not built in.
const KernelTable &kernel_table(Device device);

}  // namespace hnn
