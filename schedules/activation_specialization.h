#pragma once
// One copy of a kernel's activation stage per activation kind, where activation_math.h's select
// chain collapses to the kind's own formula; and, for a derivative that may read the activation's
// output (activation_derivative's from_output), a copy per source for each kind that has both.

#include "Halide.h"

#include "activation_kind.h"

#include <set>

namespace hnn {

// `from_output` undefined: a forward, or a derivative that always reads x. Halide copies a stage's
// schedule into a specialization when it is made: call this once `f` is scheduled.
inline void specialize_on_activation(Halide::Func f, const Halide::Expr &kind, const std::set<int> &kinds,
                                     const Halide::Expr &from_output = Halide::Expr()) {
    for (int k : kinds) {
        Halide::Stage of_kind = f.specialize(kind == k);
        if (from_output.defined() && has_derivative_from_output(static_cast<ActivationKind>(k))) {
            of_kind.specialize(from_output);
        }
    }
    f.specialize_fail("hnn: unknown activation kind");
}

}  // namespace hnn
