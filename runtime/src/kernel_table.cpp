#include "kernel_table.h"

#include "hnn/error.h"

#ifdef HNN_CPU_KERNELS_AVX512
#include "conv2d_backward_data_tile_2x7.h"
#include "conv2d_forward_tile_1x12.h"
#include "conv2d_forward_tile_1x12_output_only.h"
#include "conv2d_forward_tile_2x7.h"
#include "conv2d_forward_tile_2x7_output_only.h"
#include "pointwise_conv2d_forward_tile_1x14.h"
#include "pointwise_conv2d_forward_tile_1x14_output_only.h"
#endif

#ifdef HNN_HAVE_CUDA_KERNELS
#include "activation_backward_cuda.h"
#include "activation_forward_cuda.h"
#include "activation_parameter_gradient_cuda.h"
#include "conv2d_backward_data_cuda.h"
#include "conv2d_backward_weights_cuda.h"
#include "conv2d_forward_cuda.h"
#include "conv2d_forward_output_only_cuda.h"
#include "avg_pool_forward_cuda.h"
#include "avg_pool_backward_cuda.h"
#include "avg_pool_backward_activation_cuda.h"
#include "max_pool_backward_activation_cuda.h"
#include "max_pool_forward_cuda.h"
#include "max_pool_backward_cuda.h"
#include "global_avg_pool_forward_cuda.h"
#include "global_avg_pool_backward_cuda.h"
#include "softmax_cross_entropy_cuda.h"
#include "sgd_update_cuda.h"
#include "adam_update_cuda.h"
#include "upsample_nearest_add_cuda.h"
#include "dropout_cuda.h"
#include "conv2d_winograd_backward_data_cuda.h"
#include "conv2d_winograd_backward_weights_cuda.h"
#include "conv2d_winograd_forward_cuda.h"
#include "conv2d_winograd_forward_output_only_cuda.h"
#include "conv2d_winograd4x4_backward_data_cuda.h"
#include "conv2d_winograd4x4_backward_weights_cuda.h"
#include "conv2d_winograd4x4_forward_cuda.h"
#include "conv2d_winograd4x4_forward_output_only_cuda.h"
#include "conv2d_forward_staged_cuda.h"
#include "conv2d_forward_staged_output_only_cuda.h"
#include "conv2d_backward_data_staged_cuda.h"
#include "conv2d_backward_weights_staged_cuda.h"
#include "conv2d_forward_large_tile_cuda.h"
#include "conv2d_forward_large_tile_output_only_cuda.h"
#include "conv2d_backward_data_large_tile_cuda.h"
#include "conv2d_backward_weights_large_tile_cuda.h"
#endif

#ifdef HNN_HAVE_OPENCL_KERNELS
#include "activation_backward_opencl.h"
#include "activation_forward_opencl.h"
#include "activation_parameter_gradient_opencl.h"
#include "conv2d_backward_data_opencl.h"
#include "conv2d_backward_weights_opencl.h"
#include "conv2d_forward_opencl.h"
#include "conv2d_forward_output_only_opencl.h"
#include "avg_pool_forward_opencl.h"
#include "avg_pool_backward_opencl.h"
#include "avg_pool_backward_activation_opencl.h"
#include "max_pool_backward_activation_opencl.h"
#include "max_pool_forward_opencl.h"
#include "max_pool_backward_opencl.h"
#include "global_avg_pool_forward_opencl.h"
#include "global_avg_pool_backward_opencl.h"
#include "softmax_cross_entropy_opencl.h"
#include "sgd_update_opencl.h"
#include "adam_update_opencl.h"
#include "upsample_nearest_add_opencl.h"
#include "dropout_opencl.h"
#include "conv2d_winograd_backward_data_opencl.h"
#include "conv2d_winograd_backward_weights_opencl.h"
#include "conv2d_winograd_forward_opencl.h"
#include "conv2d_winograd_forward_output_only_opencl.h"
#include "conv2d_winograd4x4_backward_data_opencl.h"
#include "conv2d_winograd4x4_backward_weights_opencl.h"
#include "conv2d_winograd4x4_forward_opencl.h"
#include "conv2d_winograd4x4_forward_output_only_opencl.h"
#include "conv2d_forward_staged_opencl.h"
#include "conv2d_forward_staged_output_only_opencl.h"
#include "conv2d_backward_data_staged_opencl.h"
#include "conv2d_backward_weights_staged_opencl.h"
#include "conv2d_forward_large_tile_opencl.h"
#include "conv2d_forward_large_tile_output_only_opencl.h"
#include "conv2d_backward_data_large_tile_opencl.h"
#include "conv2d_backward_weights_large_tile_opencl.h"
#endif

// The kernels every device has (the common ones, then the Winograd ones), from the libraries named
// NAME plus `suffix` (cmake/HnnKernels.cmake: none on the CPU, _cuda, _opencl): one list for every
// device, so that no device's table can miss a kernel the others have.
#define HNN_SET_DEVICE_KERNELS(t, suffix)                                                        \
    t.activation_forward = ::activation_forward##suffix;                                         \
    t.activation_backward = ::activation_backward##suffix;                                       \
    t.activation_parameter_gradient = ::activation_parameter_gradient##suffix;                   \
    t.conv2d_forward = ::conv2d_forward##suffix;                                                 \
    t.conv2d_forward_output_only = ::conv2d_forward_output_only##suffix;                         \
    t.conv2d_backward_data = ::conv2d_backward_data##suffix;                                     \
    t.conv2d_backward_weights = ::conv2d_backward_weights##suffix;                               \
    t.avg_pool_forward = ::avg_pool_forward##suffix;                                             \
    t.avg_pool_backward = ::avg_pool_backward##suffix;                                           \
    t.avg_pool_backward_activation = ::avg_pool_backward_activation##suffix;                     \
    t.max_pool_forward = ::max_pool_forward##suffix;                                             \
    t.max_pool_backward = ::max_pool_backward##suffix;                                           \
    t.max_pool_backward_activation = ::max_pool_backward_activation##suffix;                     \
    t.global_avg_pool_forward = ::global_avg_pool_forward##suffix;                               \
    t.global_avg_pool_backward = ::global_avg_pool_backward##suffix;                             \
    t.softmax_cross_entropy = ::softmax_cross_entropy##suffix;                                   \
    t.sgd_update = ::sgd_update##suffix;                                                         \
    t.adam_update = ::adam_update##suffix;                                                       \
    t.upsample_nearest_add = ::upsample_nearest_add##suffix;                                     \
    t.dropout = ::dropout##suffix;                                                               \
    t.conv2d_winograd_forward = ::conv2d_winograd_forward##suffix;                               \
    t.conv2d_winograd_forward_output_only = ::conv2d_winograd_forward_output_only##suffix;       \
    t.conv2d_winograd_backward_data = ::conv2d_winograd_backward_data##suffix;                   \
    t.conv2d_winograd_backward_weights = ::conv2d_winograd_backward_weights##suffix;             \
    t.conv2d_winograd4x4_forward = ::conv2d_winograd4x4_forward##suffix;                         \
    t.conv2d_winograd4x4_forward_output_only = ::conv2d_winograd4x4_forward_output_only##suffix; \
    t.conv2d_winograd4x4_backward_data = ::conv2d_winograd4x4_backward_data##suffix;             \
    t.conv2d_winograd4x4_backward_weights = ::conv2d_winograd4x4_backward_weights##suffix

// The direct kernels of one of a GPU's other schedules (conv2d_*_SCHEDULE plus `suffix`), which the
// CPU has not.
#define HNN_DIRECT_CONV_KERNELS(schedule, suffix)                                                  \
    DirectConvKernels {                                                                          \
        ::conv2d_forward_##schedule##suffix, ::conv2d_forward_##schedule##_output_only##suffix,  \
        ::conv2d_backward_data_##schedule##suffix, ::conv2d_backward_weights_##schedule##suffix \
    }
#define HNN_SET_GPU_SCHEDULE_VARIANTS(t, suffix)               \
    t.conv2d_staged = HNN_DIRECT_CONV_KERNELS(staged, suffix); \
    t.conv2d_large_tile = HNN_DIRECT_CONV_KERNELS(large_tile, suffix)

namespace hnn {
namespace {

// The tile variants hold AVX-512 code alone (cmake/HnnKernels.cmake): they may run only where the
// multi-target kernels run their AVX-512 code, and elsewhere they would repeat the default kernels.
void add_avx512_tile_variants(KernelTable &t) {
#ifdef HNN_CPU_KERNELS_AVX512
    if (cpu_kernel_isa() != CpuIsa::avx512) return;
    t.conv2d_forward_tile_2x7 = ::conv2d_forward_tile_2x7;
    t.conv2d_backward_data_tile_2x7 = ::conv2d_backward_data_tile_2x7;
    t.conv2d_forward_tile_1x12 = ::conv2d_forward_tile_1x12;
    t.pointwise_conv2d_forward_tile_1x14 = ::pointwise_conv2d_forward_tile_1x14;
    t.conv2d_forward_tile_2x7_output_only = ::conv2d_forward_tile_2x7_output_only;
    t.conv2d_forward_tile_1x12_output_only = ::conv2d_forward_tile_1x12_output_only;
    t.pointwise_conv2d_forward_tile_1x14_output_only = ::pointwise_conv2d_forward_tile_1x14_output_only;
#else
    (void)t;
#endif
}

}  // namespace

const KernelTable &kernel_table(Device device) {
    install_halide_handlers();
    static const KernelTable cpu = [] {
        KernelTable t{};
        HNN_SET_DEVICE_KERNELS(t, );
        t.pointwise_conv2d_forward = ::pointwise_conv2d_forward;
        t.pointwise_conv2d_backward_data = ::pointwise_conv2d_backward_data;
        t.pointwise_conv2d_backward_weights = ::pointwise_conv2d_backward_weights;
        t.pointwise_conv2d_forward_output_only = ::pointwise_conv2d_forward_output_only;
        add_avx512_tile_variants(t);
        return t;
    }();
    if (device == Device::cpu) return cpu;
    if (device == Device::opencl) {
#ifdef HNN_HAVE_OPENCL_KERNELS
        // The probe also loads the OpenCL ICD loader where Halide would not find it by itself.
        if (!opencl_available()) {
            throw Error("no OpenCL device answers on this machine (no ICD loader, no platform or no device)");
        }
        static const KernelTable opencl = [] {
            KernelTable t{};
            HNN_SET_DEVICE_KERNELS(t, _opencl);
            HNN_SET_GPU_SCHEDULE_VARIANTS(t, _opencl);
            return t;
        }();
        return opencl;
#else
        throw Error("this build of hnn has no OpenCL kernels (configured with HNN_BUILD_OPENCL=OFF)");
#endif
    }
#ifdef HNN_HAVE_CUDA_KERNELS
    static const KernelTable cuda = [] {
        KernelTable t{};
        HNN_SET_DEVICE_KERNELS(t, _cuda);
        HNN_SET_GPU_SCHEDULE_VARIANTS(t, _cuda);
        return t;
    }();
    return cuda;
#else
    throw Error("this build of hnn has no CUDA kernels (configured with HNN_BUILD_CUDA=OFF)");
#endif
}

}  // namespace hnn
