#pragma once
// The reviewable file `hnn tune` writes for one kernel and one CPU ISA
// (schedules/tuned/<kernel>.<isa>.txt), which cmake/HnnKernels.cmake applies to the build: '#'
// comment lines saying where the numbers come from, then "key value" lines: kernel, isa,
// schedule (hand: the hand schedule with the knobs that follow) and one line per knob.

#include <string>
#include <utility>
#include <vector>

namespace hnn {

struct TunedShape {
    std::string spec;  // the --shape text
    double default_ms = 0, tuned_ms = 0;
    double max_abs_error = 0, max_rel_error = 0;
};

struct TunedFile {
    std::string kernel, isa, schedule = "hand";
    std::vector<std::pair<std::string, int>> knobs;  // in the order written
    // The header: provenance and measurements (comments; the build ignores them).
    std::string command, machine, date, target;
    int threads = 0;
    std::vector<TunedShape> shapes;
    int candidates_timed = 0;
    double budget_s = 0;

    double default_ms() const;
    double tuned_ms() const;
    double speedup() const { return tuned_ms() > 0 ? default_ms() / tuned_ms() : 0; }
    std::string file_name() const { return kernel + "." + isa + ".txt"; }
};

std::string format_tuned_file(const TunedFile &f);

// Reads back what format_tuned_file wrote (the header's shape lines included). Throws hnn::Error
// naming `where` and the line for anything the build would refuse.
TunedFile parse_tuned_file(const std::string &text, const std::string &where);
TunedFile read_tuned_file(const std::string &path);

}  // namespace hnn
