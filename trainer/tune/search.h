#pragma once
// The search of one kernel over its shapes: the hand schedule first (the reference for time and
// output), then a hill climb over the knobs from their hand values, each candidate compiled, run
// on every shape, checked against the reference output and timed; until no neighbour is faster or
// the deadline passes.

#include "knob_space.h"
#include "tune_problem.h"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace hnn::tune {

struct SearchOptions {
    Halide::Target target;
    int threads = 1;
    int warmup = 1, repeats = 5;
    uint64_t seed = 1;
    std::chrono::steady_clock::time_point deadline;
    // Autoschedulers to try (each schedules every shape on its own, from that shape's estimates),
    // until this earlier deadline.
    std::vector<std::string> autoschedulers;
    std::chrono::steady_clock::time_point autoscheduler_deadline;
    std::string machine_params;  // "threads,last-level cache bytes,balance"
    bool confirm = true;         // re-time the default and the best knobs side by side at the end
};

struct ShapeResult {
    double ms = 0;  // median of the timed runs
    double max_abs_error = 0, max_rel_error = 0;
};

struct CandidateResult {
    Knobs knobs;                // empty: the default (hand) schedule
    std::string autoscheduler;  // instead of knobs: Halide's autoscheduler of that name, per shape
    bool compiled = false, correct = false;
    std::string failure;  // why it was discarded
    std::vector<ShapeResult> shapes;
    double compile_s = 0;

    double total_ms() const;
    double max_rel_error() const;
};

struct KernelSearch {
    std::string kernel;
    std::vector<TuneProblem> problems;
    std::vector<CandidateResult> candidates;  // [0] is the default
    size_t winner = 0;                         // index into candidates: the fastest correct one
    size_t best_hand = 0;                      // the fastest correct hand-schedule candidate
    bool confirmed = false;                    // its and the default's times are from the side-by-side run

    std::string name(const CandidateResult &c) const;  // "tile_c=4 tile_x=5", "default", "Adams2019"
};

// Each finished candidate is passed to `report` as soon as it is measured.
KernelSearch search_kernel(const std::string &kernel, const std::vector<TuneProblem> &problems, const SearchOptions &o,
                           const std::function<void(const KernelSearch &, const CandidateResult &)> &report);

// The default and `knobs` only, on every shape: does a tuned file still give the default's numbers?
KernelSearch evaluate_knobs(const std::string &kernel, const std::vector<TuneProblem> &problems, const Knobs &knobs,
                            const SearchOptions &o,
                            const std::function<void(const KernelSearch &, const CandidateResult &)> &report);

}  // namespace hnn::tune
