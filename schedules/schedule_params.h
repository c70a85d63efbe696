#pragma once
// Build-time knobs of the hand schedules, for `hnn tune`.
//
// A generator that can be tuned has a GeneratorParam `schedule_knobs` holding a list such as
// "avx512.tile_c:4,avx512.tile_x:5,avx2.tile_c:3": each entry is ISA.KNOB:INTEGER. One string
// serves every target of a multi-target library (add_halide_library passes one PARAMS list to all
// of them), so each schedule reads only the entries of its own ISA and falls back to its
// hand-picked value for every knob the string does not name. The empty string (the default, and
// what the build passes without a tuned file) is today's hand schedule, bit for bit.
//
// A second GeneratorParam, `activation_kinds`, lets the tuner compile just the activation it
// times ("" = every kind, as the build does): a conv with all fourteen specializations takes half a
// minute to compile, which would leave no budget for the search.

#include "Halide.h"

#include "activation_kind.h"

#include <map>
#include <set>
#include <sstream>
#include <string>

namespace hnn {

// A bad knob stops the generator with a message naming it (GenGen prints it and exits non-zero).
inline void check_knob(bool ok, const std::string &message) {
    if (!ok) throw Halide::CompileError(message);
}

// The name of a CPU target's vector ISA, as the tuned files and the `schedule_knobs` string spell it.
inline std::string schedule_isa(const Halide::Target &t) {
    if (t.has_gpu_feature()) return "gpu";
    if (t.has_feature(Halide::Target::AVX512_Skylake)) return "avx512";
    if (t.has_feature(Halide::Target::AVX2)) return "avx2";
    return "baseline";
}

class ScheduleParams {
public:
    ScheduleParams() = default;

    // `text` is the generator's `schedule_knobs` string; `allowed` the knobs this generator has: a knob it
    // does not have is an error (a typo must not silently fall back to the default).
    ScheduleParams(const std::string &text, const Halide::Target &t, const std::set<std::string> &allowed)
        : isa_(schedule_isa(t)) {
        std::stringstream entries(text);
        std::string entry;
        while (std::getline(entries, entry, ',')) {
            if (entry.empty()) continue;
            const size_t dot = entry.find('.'), colon = entry.find(':');
            check_knob(dot != std::string::npos && colon != std::string::npos && dot < colon,
                       "hnn: schedule_knobs entry '" + entry + "' is not ISA.KNOB:VALUE");
            const std::string isa = entry.substr(0, dot), knob = entry.substr(dot + 1, colon - dot - 1);
            const std::string value = entry.substr(colon + 1);
            check_knob(isa == "avx512" || isa == "avx2" || isa == "baseline" || isa == "gpu",
                       "hnn: schedule_knobs entry '" + entry + "': unknown ISA '" + isa + "'");
            check_knob(allowed.count(knob) > 0,
                       "hnn: schedule_knobs entry '" + entry + "': this kernel has no knob '" + knob + "'");
            size_t used = 0;
            int v = 0;
            try {
                v = std::stoi(value, &used);
            } catch (const std::exception &) {
                used = 0;
            }
            check_knob(used == value.size() && used > 0 && v > 0,
                       "hnn: schedule_knobs entry '" + entry + "': the value must be a positive integer");
            if (isa == isa_) values_[knob] = v;
        }
    }

    // Whether the string names this knob for this target's ISA.
    bool has(const std::string &knob) const { return values_.count(knob) > 0; }
    // Whether it names any knob for this target's ISA.
    bool empty() const { return values_.empty(); }

    // The value for this target's ISA, or the hand-picked one.
    int get(const std::string &knob, int hand_picked) const {
        auto it = values_.find(knob);
        return it == values_.end() ? hand_picked : it->second;
    }

private:
    std::string isa_;
    std::map<std::string, int> values_;
};

// The activation kinds to compile a specialization for: all of them for "", else a list of kind
// numbers ("3" or "0,3").
inline std::set<int> compiled_activation_kinds(const std::string &text) {
    std::set<int> kinds;
    if (text.empty()) {
        for (int k = 0; k < activation_kind_count; k++) kinds.insert(k);
        return kinds;
    }
    std::stringstream entries(text);
    std::string entry;
    while (std::getline(entries, entry, ',')) {
        size_t used = 0;
        int k = -1;
        try {
            k = std::stoi(entry, &used);
        } catch (const std::exception &) {
            used = 0;
        }
        check_knob(used == entry.size() && k >= 0 && k < activation_kind_count,
                   "hnn: activation_kinds entry '" + entry + "' is not a kind number below " +
                       std::to_string(activation_kind_count));
        kinds.insert(k);
    }
    return kinds;
}

// What a tunable generator's schedule reads: its knobs for this target and the activations to
// specialize on.
struct ScheduleKnobs {
    ScheduleParams params;
    std::set<int> activation_kinds = compiled_activation_kinds("");
};

inline ScheduleKnobs make_schedule_knobs(const std::string &schedule, const std::string &activation_kinds,
                                    const Halide::Target &t, const std::set<std::string> &allowed) {
    return {ScheduleParams(schedule, t, allowed), compiled_activation_kinds(activation_kinds)};
}

}  // namespace hnn
