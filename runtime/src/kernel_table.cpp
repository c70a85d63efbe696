#include "kernel_table.h"

#include "hnn/error.h"

#ifdef HNN_HAVE_CUDA_KERNELS
#include "activation_backward_cuda.h"
#include "activation_forward_cuda.h"
#include "activation_parameter_gradient_cuda.h"
#endif

namespace hnn {

const KernelTable &kernel_table(Device device) {
    install_halide_handlers();
    static const KernelTable cpu = {
        ::activation_forward,
        ::activation_backward,
        ::activation_parameter_gradient,
    };
    if (device == Device::cpu) return cpu;
#ifdef HNN_HAVE_CUDA_KERNELS
    static const KernelTable cuda = {
        ::activation_forward_cuda,
        ::activation_backward_cuda,
        ::activation_parameter_gradient_cuda,
    };
    return cuda;
#else
    throw Error("this build of hnn has no CUDA kernels (configured with HNN_BUILD_CUDA=OFF)");
#endif
}

}  // namespace hnn
