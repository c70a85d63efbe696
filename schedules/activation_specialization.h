#pragma once
// One copy of a kernel's activation stage per activation kind, where activation_math.h's select
// chain collapses to the kind's own formula; and, for a derivative that may read the activation's
// output (activation_derivative's from_output), a copy per source for each kind that has both.

#include "Halide.h"

#include "activation_kind.h"

#include <set>
#include <vector>

namespace hnn {

// f's copies for kind k: the copy reading y first where there is one (it must be made before the
// kind's own copy gets further specializations), then the kind's own. `from_output` undefined: a
// forward, or a derivative that always reads x. Halide copies a stage's schedule into a
// specialization when it is made, so each copy starts with what f has then.
inline std::vector<Halide::Stage> activation_stages(Halide::Func f, const Halide::Expr &kind, int k,
                                                    const Halide::Expr &from_output) {
    Halide::Stage of_kind = f.specialize(kind == k);
    if (from_output.defined() && has_derivative_from_output(static_cast<ActivationKind>(k))) {
        return {of_kind.specialize(from_output), of_kind};
    }
    return {of_kind};
}

// Every kind's copies, for an f whose schedule is complete.
inline void specialize_on_activation(Halide::Func f, const Halide::Expr &kind, const std::set<int> &kinds,
                                     const Halide::Expr &from_output = Halide::Expr()) {
    for (int k : kinds) activation_stages(f, kind, k, from_output);
    f.specialize_fail("hnn: unknown activation kind");
}

}  // namespace hnn
