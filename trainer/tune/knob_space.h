#pragma once
// The knobs of each tunable kernel's hand schedule on one target: their hand-picked values (read
// from schedules/, the one source of truth) and the values worth trying.

#include "Halide.h"

#include <map>
#include <string>
#include <vector>

namespace hnn::tune {

// A candidate: a value for some knobs; an empty one is the hand schedule as the build makes it.
using Knobs = std::map<std::string, int>;

struct KnobRange {
    std::string name;
    int hand = 0, min = 1, max = 1;
    bool doubling = false;  // steps multiply or divide by 2 (a size in positions), not add 1 or 2
    bool per_shape = false;  // the default schedule picks the value per shape; `hand` is where the search starts
};

std::vector<KnobRange> knob_ranges(const std::string &kernel, const Halide::Target &t);

// Whether the candidate's register tile fits the ISA's vector registers (accumulators plus the
// operands they are fed from).
bool fits_registers(const std::string &kernel, const Halide::Target &t, const Knobs &k);

// Every knob at its hand value: the search's starting point.
Knobs hand_knobs(const std::string &kernel, const Halide::Target &t);

// The knobs that give the default schedule at every shape: the hand values of those it does not
// pick per shape.
Knobs default_knobs(const std::string &kernel, const Halide::Target &t);

// The candidates one step away from `from` (each knob ±1, ±2, or ×2, ÷2), that fit the registers.
std::vector<Knobs> neighbours(const std::string &kernel, const Halide::Target &t, const Knobs &from);

// "tile_c=4 tile_x=5", or "default" for the empty candidate.
std::string knobs_text(const Knobs &k);

// The generator's `schedule_knobs` value: "avx512.tile_c:4,avx512.tile_x:5".
std::string schedule_knobs_param(const Halide::Target &t, const Knobs &k);

}  // namespace hnn::tune
