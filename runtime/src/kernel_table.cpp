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
#endif

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
        KernelTable t = {
            ::activation_forward,
            ::activation_backward,
            ::activation_parameter_gradient,
            ::conv2d_forward,
            ::conv2d_forward_output_only,
            ::conv2d_backward_data,
            ::conv2d_backward_weights,
            ::avg_pool_forward,
            ::avg_pool_backward,
            ::max_pool_forward,
            ::max_pool_backward,
            ::global_avg_pool_forward,
            ::global_avg_pool_backward,
            ::softmax_cross_entropy,
            ::sgd_update,
            ::adam_update,
            ::upsample_nearest_add,
            ::dropout,
        };
        t.conv2d_winograd_forward = ::conv2d_winograd_forward;
        t.conv2d_winograd_backward_data = ::conv2d_winograd_backward_data;
        t.conv2d_winograd_backward_weights = ::conv2d_winograd_backward_weights;
        t.conv2d_winograd4x4_forward = ::conv2d_winograd4x4_forward;
        t.conv2d_winograd4x4_backward_data = ::conv2d_winograd4x4_backward_data;
        t.conv2d_winograd4x4_backward_weights = ::conv2d_winograd4x4_backward_weights;
        t.pointwise_conv2d_forward = ::pointwise_conv2d_forward;
        t.pointwise_conv2d_backward_data = ::pointwise_conv2d_backward_data;
        t.pointwise_conv2d_backward_weights = ::pointwise_conv2d_backward_weights;
        t.conv2d_winograd_forward_output_only = ::conv2d_winograd_forward_output_only;
        t.conv2d_winograd4x4_forward_output_only = ::conv2d_winograd4x4_forward_output_only;
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
            KernelTable t = {
                ::activation_forward_opencl,
                ::activation_backward_opencl,
                ::activation_parameter_gradient_opencl,
                ::conv2d_forward_opencl,
                ::conv2d_forward_output_only_opencl,
                ::conv2d_backward_data_opencl,
                ::conv2d_backward_weights_opencl,
                ::avg_pool_forward_opencl,
                ::avg_pool_backward_opencl,
                ::max_pool_forward_opencl,
                ::max_pool_backward_opencl,
                ::global_avg_pool_forward_opencl,
                ::global_avg_pool_backward_opencl,
                ::softmax_cross_entropy_opencl,
                ::sgd_update_opencl,
                ::adam_update_opencl,
                ::upsample_nearest_add_opencl,
                ::dropout_opencl,
            };
            t.conv2d_winograd_forward = ::conv2d_winograd_forward_opencl;
            t.conv2d_winograd_forward_output_only = ::conv2d_winograd_forward_output_only_opencl;
            t.conv2d_winograd_backward_data = ::conv2d_winograd_backward_data_opencl;
            t.conv2d_winograd_backward_weights = ::conv2d_winograd_backward_weights_opencl;
            t.conv2d_winograd4x4_forward = ::conv2d_winograd4x4_forward_opencl;
            t.conv2d_winograd4x4_forward_output_only = ::conv2d_winograd4x4_forward_output_only_opencl;
            t.conv2d_winograd4x4_backward_data = ::conv2d_winograd4x4_backward_data_opencl;
            t.conv2d_winograd4x4_backward_weights = ::conv2d_winograd4x4_backward_weights_opencl;
            return t;
        }();
        return opencl;
#else
        throw Error("this build of hnn has no OpenCL kernels (configured with HNN_BUILD_OPENCL=OFF)");
#endif
    }
#ifdef HNN_HAVE_CUDA_KERNELS
    static const KernelTable cuda = [] {
        KernelTable t = {
            ::activation_forward_cuda,
            ::activation_backward_cuda,
            ::activation_parameter_gradient_cuda,
            ::conv2d_forward_cuda,
            ::conv2d_forward_output_only_cuda,
            ::conv2d_backward_data_cuda,
            ::conv2d_backward_weights_cuda,
            ::avg_pool_forward_cuda,
            ::avg_pool_backward_cuda,
            ::max_pool_forward_cuda,
            ::max_pool_backward_cuda,
            ::global_avg_pool_forward_cuda,
            ::global_avg_pool_backward_cuda,
            ::softmax_cross_entropy_cuda,
            ::sgd_update_cuda,
            ::adam_update_cuda,
            ::upsample_nearest_add_cuda,
            ::dropout_cuda,
        };
        t.conv2d_winograd_forward = ::conv2d_winograd_forward_cuda;
        t.conv2d_winograd_forward_output_only = ::conv2d_winograd_forward_output_only_cuda;
        t.conv2d_winograd_backward_data = ::conv2d_winograd_backward_data_cuda;
        t.conv2d_winograd_backward_weights = ::conv2d_winograd_backward_weights_cuda;
        t.conv2d_winograd4x4_forward = ::conv2d_winograd4x4_forward_cuda;
        t.conv2d_winograd4x4_forward_output_only = ::conv2d_winograd4x4_forward_output_only_cuda;
        t.conv2d_winograd4x4_backward_data = ::conv2d_winograd4x4_backward_data_cuda;
        t.conv2d_winograd4x4_backward_weights = ::conv2d_winograd4x4_backward_weights_cuda;
        return t;
    }();
    return cuda;
#else
    throw Error("this build of hnn has no CUDA kernels (configured with HNN_BUILD_CUDA=OFF)");
#endif
}

}  // namespace hnn
