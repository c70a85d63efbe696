#pragma once
// Finds where a NaN or an infinity first appears in a network, so that a diverged run stops with a
// message naming the layer and the tensor, not only the step.

#include "network.h"

#include <string>

namespace hnn {

// "the filter gradient of layer 3 (conv) holds nan (element 12)", for the topmost layer whose
// parameter gradients are not all finite (the backward pass runs top down, so that is where the
// non-finite value arose); "" when every gradient is finite. Reads the gradients on the host.
std::string nonfinite_gradient(Network &network);

// The first parameter or layer output, in forward order, that is not all finite: where a forward
// pass that produced a non-finite loss went wrong. "" when everything is finite.
std::string nonfinite_forward(Network &network);

// The first parameter that is not all finite, or "".
std::string nonfinite_parameter(Network &network);

}  // namespace hnn
