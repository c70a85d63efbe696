#include "hnn/optimizer_ops.h"

#include "hnn/error.h"
#include "kernel_table.h"
#include "op_checks.h"

#include <cmath>

namespace hnn {
namespace {

// A rank-1 view of a tensor's storage (host and device), for the flat optimizer kernels. The view
// owns nothing; FlatView's destructor hands the dirty bits back to the tensor.
class FlatView {
public:
    explicit FlatView(Tensor &t) : tensor_(t.raw()) {
        view_ = *tensor_;
        dim_ = {0, static_cast<int32_t>(t.size()), 1, 0};
        view_.dimensions = 1;
        view_.dim = &dim_;
    }
    ~FlatView() {
        tensor_->device = view_.device;
        tensor_->device_interface = view_.device_interface;
        tensor_->flags = view_.flags;
    }
    FlatView(const FlatView &) = delete;
    FlatView &operator=(const FlatView &) = delete;
    halide_buffer_t *raw() { return &view_; }

private:
    halide_buffer_t *tensor_;
    halide_buffer_t view_;
    halide_dimension_t dim_;
};

void check_finite_positive(const char *op, const char *name, float value) {
    if (!std::isfinite(value) || value < 0) {
        throw Error(std::string(op) + ": " + name + " " + std::to_string(value) + " must be finite and non-negative");
    }
}

}  // namespace

void sgd_update(Tensor &param, Tensor &grad, Tensor &velocity, const SgdOptions &o) {
    const char *op = "sgd_update";
    require_same(op, "param", param, "grad", grad);
    require_same(op, "param", param, "velocity", velocity);
    check_finite_positive(op, "lr", o.lr);
    check_finite_positive(op, "momentum", o.momentum);
    check_finite_positive(op, "weight_decay", o.weight_decay);
    if (o.nesterov && (o.momentum <= 0 || o.dampening != 0)) {
        throw Error(std::string(op) + ": Nesterov momentum needs a positive momentum and zero dampening");
    }
    // Each tensor is passed as both input and output through one view: the update is in place.
    FlatView p(param), g(grad), v(velocity);
    int r = kernel_table(param.device())
                .sgd_update(p.raw(), g.raw(), v.raw(), o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov,
                            o.decoupled_weight_decay, p.raw(), v.raw());
    check_kernel(r, op, "param " + param.shape_string());
}

void adam_update(Tensor &param, Tensor &grad, Tensor &m, Tensor &v, Tensor &v_max, const AdamOptions &o, int step) {
    const char *op = "adam_update";
    require_same(op, "param", param, "grad", grad);
    require_same(op, "param", param, "m", m);
    require_same(op, "param", param, "v", v);
    require_same(op, "param", param, "v_max", v_max);
    check_finite_positive(op, "lr", o.lr);
    check_finite_positive(op, "weight_decay", o.weight_decay);
    if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1)) {
        throw Error(std::string(op) + ": betas must be in [0, 1), got " + std::to_string(o.beta1) + ", " + std::to_string(o.beta2));
    }
    if (!(o.eps > 0)) throw Error(std::string(op) + ": eps must be positive");
    if (step < 1) throw Error(std::string(op) + ": step counts from 1, got " + std::to_string(step));
    FlatView p(param), g(grad), mv(m), vv(v), vm(v_max);
    int r = kernel_table(param.device())
                .adam_update(p.raw(), g.raw(), mv.raw(), vv.raw(), vm.raw(), o.lr, o.beta1, o.beta2, o.eps,
                             o.weight_decay, o.decoupled_weight_decay, o.amsgrad, step, p.raw(), mv.raw(), vv.raw(),
                             vm.raw());
    check_kernel(r, op, "param " + param.shape_string());
}

}  // namespace hnn
