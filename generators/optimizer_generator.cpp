// Optimizer updates as kernels over flat parameter vectors: SGD (momentum, Nesterov, L2 or
// decoupled weight decay) and Adam / AdamW / AMSGrad. The runtime passes the same buffers as
// inputs and outputs: each element is read before it is written, so the update is in place.

#include "Halide.h"

#include "optimizer_algorithm.h"
#include "optimizer_schedule.h"

namespace hnn {
namespace {

using namespace Halide;

class SgdUpdate : public Generator<SgdUpdate> {
public:
    Input<Buffer<float, 1>> param{"param"};
    Input<Buffer<float, 1>> grad{"grad"};
    Input<Buffer<float, 1>> velocity{"velocity"};
    Input<float> lr{"lr"};
    Input<float> momentum{"momentum", 0.0f};
    Input<float> dampening{"dampening", 0.0f};
    Input<float> weight_decay{"weight_decay", 0.0f};
    Input<int> nesterov{"nesterov", 0, 0, 1};
    Input<int> decoupled_weight_decay{"decoupled_weight_decay", 0, 0, 1};
    Output<Func> updated{"updated", {Float(32), Float(32)}, 1};  // (param, velocity)

    Var i{"i"};

    void generate() {
        SgdHyper h{lr, momentum, dampening, weight_decay, nesterov != 0, decoupled_weight_decay != 0};
        updated(i) = sgd_step(param(i), grad(i), velocity(i), h);
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_flat_update(get_target(), updated, i);
    }
};

class AdamUpdate : public Generator<AdamUpdate> {
public:
    Input<Buffer<float, 1>> param{"param"};
    Input<Buffer<float, 1>> grad{"grad"};
    Input<Buffer<float, 1>> m{"m"};
    Input<Buffer<float, 1>> v{"v"};
    Input<Buffer<float, 1>> v_max{"v_max"};
    Input<float> lr{"lr"};
    Input<float> beta1{"beta1", 0.9f};
    Input<float> beta2{"beta2", 0.999f};
    Input<float> eps{"eps", 1e-8f};
    Input<float> weight_decay{"weight_decay", 0.0f};
    Input<int> decoupled_weight_decay{"decoupled_weight_decay", 0, 0, 1};
    Input<int> amsgrad{"amsgrad", 0, 0, 1};
    Input<int> step{"step", 1, 1, 2147483647};
    Output<Func> updated{"updated", {Float(32), Float(32), Float(32), Float(32)}, 1};  // (param, m, v, v_max)

    Var i{"i"};

    void generate() {
        AdamHyper h{lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay != 0, amsgrad != 0, step};
        updated(i) = adam_step(param(i), grad(i), m(i), v(i), v_max(i), h);
    }
    void schedule() {
        if (auto_schedule) return;
        schedule_flat_update(get_target(), updated, i);
    }
};

}  // namespace
}  // namespace hnn

HALIDE_REGISTER_GENERATOR(hnn::SgdUpdate, sgd_update)
HALIDE_REGISTER_GENERATOR(hnn::AdamUpdate, adam_update)
