#include "search.h"

#include "jit_kernel.h"

#include "hnn/error.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace hnn::tune {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Largest |a - b| over the outputs, and that relative to the largest |reference| value.
ShapeResult compare(const std::vector<Halide::Buffer<float>> &reference, const std::vector<Halide::Buffer<float>> &got) {
    ShapeResult r;
    double largest = 0;
    for (size_t i = 0; i < reference.size(); i++) {
        const float *a = reference[i].data(), *b = got[i].data();
        for (size_t j = 0; j < reference[i].number_of_elements(); j++) {
            const double d = std::abs(double(a[j]) - double(b[j]));
            // NaN must count as a mismatch, not vanish in a max.
            r.max_abs_error = std::isnan(d) ? INFINITY : std::max(r.max_abs_error, d);
            largest = std::max(largest, std::abs(double(a[j])));
        }
    }
    r.max_rel_error = largest > 0 ? r.max_abs_error / largest : r.max_abs_error;
    return r;
}

// Outputs are filled with NaN first: a candidate that skips part of an output fails the check.
void poison_outputs(KernelArgs &args, const std::vector<std::string> &outputs) {
    // std::fill over the dense allocation: Buffer::fill's per-dimension walk steps its pointer past
    // the end, which UndefinedBehaviorSanitizer reports (as in hnn::Tensor).
    for (const std::string &name : outputs) {
        Halide::Buffer<float> &b = args.buffers.at(name);
        std::fill(b.data(), b.data() + b.number_of_elements(), NAN);
        b.set_host_dirty();
    }
}

std::vector<Halide::Buffer<float>> copy_outputs(KernelArgs &args, const std::vector<std::string> &outputs) {
    std::vector<Halide::Buffer<float>> out;
    for (const std::string &name : outputs) {
        // A dense buffer of the same shape and one std::copy (Buffer::copy walks pointers as fill does).
        const Halide::Buffer<float> &b = args.buffers.at(name);
        std::vector<int> sizes;
        for (int d = 0; d < b.dimensions(); d++) sizes.push_back(b.dim(d).extent());
        Halide::Buffer<float> copy(sizes);
        std::copy(b.data(), b.data() + b.number_of_elements(), copy.data());
        out.push_back(copy);
    }
    return out;
}

// Of the largest reference value. The register tile's knobs never change the order of a sum (their
// outputs match to the bit); chunk_channels, run_positions and an autoscheduler's schedule do,
// which moves the last bits.
constexpr double tolerance = 1e-5;

}  // namespace

std::string KernelSearch::name(const CandidateResult &c) const {
    return c.autoscheduler.empty() ? knobs_text(c.knobs) : c.autoscheduler;
}

double CandidateResult::total_ms() const {
    double sum = 0;
    for (const ShapeResult &s : shapes) sum += s.ms;
    return sum;
}

double CandidateResult::max_rel_error() const {
    double e = 0;
    for (const ShapeResult &s : shapes) e = std::max(e, s.max_rel_error);
    return e;
}

namespace {

using Report = std::function<void(const KernelSearch &, const CandidateResult &)>;

// Compiles, checks and times candidates of one kernel on its shapes; the first is the default, the
// reference of every later one.
class Evaluator {
public:
    Evaluator(const std::string &kernel, const std::vector<TuneProblem> &problems, const SearchOptions &o, Report report)
        : o_(o), report_(std::move(report)), outputs_(output_names(kernel)), reference_(problems.size()) {
        s_.kernel = kernel;
        s_.problems = problems;
        for (const TuneProblem &p : problems) args_.push_back(make_kernel_args(p, o.seed, o.threads));
        // Every activation the shapes use gets its specialization; nothing else is compiled.
        std::set<std::string> kinds;
        for (const TuneProblem &p : problems) {
            const std::string k = compiled_kinds(p);
            if (!k.empty()) kinds.insert(k);
        }
        for (const std::string &k : kinds) kinds_param_ += (kinds_param_.empty() ? "" : ",") + k;
        evaluate({});
    }

    void evaluate(const Knobs &knobs) {
        CandidateResult c;
        c.knobs = knobs;
        std::map<std::string, std::string> params;
        if (!knobs.empty()) params["schedule_knobs"] = schedule_knobs_param(o_.target, knobs);
        if (!kinds_param_.empty()) params["activation_kinds"] = kinds_param_;
        const bool is_reference = s_.candidates.empty();
        try {
            const auto start = Clock::now();
            JitKernel jit(s_.kernel, o_.target, params);
            c.compiled = true;
            c.compile_s = std::chrono::duration<double>(Clock::now() - start).count();
            c.correct = true;
            for (size_t i = 0; i < args_.size() && c.correct; i++) run_shape(jit, i, c);
        } catch (const Error &e) {
            if (is_reference) throw;  // without the default there is nothing to compare with
            c.correct = false;
            c.failure = e.what();
        }
        finish(c);
    }

    // An autoscheduler's schedule for each shape, from that shape's estimates, run on that shape.
    void evaluate_autoscheduler(const std::string &name) {
        CandidateResult c;
        c.autoscheduler = name;
        try {
            use_autoscheduler(name);
            c.correct = true;
            for (size_t i = 0; i < args_.size() && c.correct; i++) {
                if (Clock::now() >= o_.autoscheduler_deadline) {
                    c.correct = false;
                    c.failure = "the budget ran out before every shape was scheduled";
                    break;
                }
                std::map<std::string, std::string> params{{"auto_schedule", "true"},
                                                          {"machine_params", o_.machine_params},
                                                          {"estimates", s_.problems[i].estimates()}};
                const auto start = Clock::now();
                JitKernel jit(s_.kernel, o_.target, params);
                c.compile_s += std::chrono::duration<double>(Clock::now() - start).count();
                c.compiled = true;
                run_shape(jit, i, c);
            }
        } catch (const Error &e) {
            c.correct = false;
            c.failure = e.what();
        }
        finish(c);
    }

    // The fastest correct candidate (the default if none beats it); of the hand ones only, if asked.
    size_t best(bool hand_only = false) const {
        size_t b = 0;
        for (size_t i = 1; i < s_.candidates.size(); i++) {
            const CandidateResult &c = s_.candidates[i];
            if (hand_only && !c.autoscheduler.empty()) continue;
            if (c.correct && c.total_ms() < s_.candidates[b].total_ms()) b = i;
        }
        return b;
    }

    KernelSearch result() {
        s_.winner = best();
        s_.best_hand = best(true);
        // The confirmed candidate stays the best hand one: its new time came from a side-by-side
        // run, and another candidate's older time from the search is no fair comparison.
        if (s_.confirmed) {
            s_.best_hand = confirmed_;
            if (s_.candidates[s_.winner].autoscheduler.empty()) s_.winner = confirmed_;
        }
        return s_;
    }

    const KernelSearch &state() const { return s_; }

    // Times the default and the best hand candidate again, alternating calls (default, candidate,
    // default, ...) so that load from other processes falls on both alike; the search's timings
    // were taken minutes apart. The result replaces both candidates' times.
    void confirm_best_hand() {
        const size_t b = best(true);
        if (b == 0) return;
        confirmed_ = b;
        CandidateResult &def = s_.candidates[0], &win = s_.candidates[b];
        std::map<std::string, std::string> params;
        if (!kinds_param_.empty()) params["activation_kinds"] = kinds_param_;
        JitKernel default_jit(s_.kernel, o_.target, params);
        params["schedule_knobs"] = schedule_knobs_param(o_.target, win.knobs);
        JitKernel winner_jit(s_.kernel, o_.target, params);
        for (size_t i = 0; i < args_.size(); i++) {
            for (int w = 0; w < o_.warmup; w++) {
                default_jit.run(args_[i]);
                winner_jit.run(args_[i]);
            }
            std::vector<double> d, t;
            for (int k = 0; k < o_.repeats; k++) {
                for (auto [jit, ms] : {std::pair{&default_jit, &d}, std::pair{&winner_jit, &t}}) {
                    const auto t0 = Clock::now();
                    jit->run(args_[i]);
                    ms->push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
                }
            }
            def.shapes[i].ms = median(d);
            win.shapes[i].ms = median(t);
        }
        s_.confirmed = true;
    }

private:
    // Checks shape i's outputs against the default's (or records them, for the default) and times it.
    void run_shape(const JitKernel &jit, size_t i, CandidateResult &c) {
        const bool is_reference = s_.candidates.empty();
        poison_outputs(args_[i], outputs_);
        jit.run(args_[i]);
        ShapeResult r;
        if (is_reference) {
            reference_[i] = copy_outputs(args_[i], outputs_);
        } else {
            r = compare(reference_[i], copy_outputs(args_[i], outputs_));
            if (!(r.max_rel_error <= tolerance)) {
                c.correct = false;
                c.failure = "output differs from the default at " + s_.problems[i].label();
                c.shapes.push_back(r);
                return;
            }
        }
        for (int w = 1; w < o_.warmup; w++) jit.run(args_[i]);
        std::vector<double> ms;
        for (int k = 0; k < o_.repeats; k++) {
            const auto t0 = Clock::now();
            jit.run(args_[i]);
            ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
        r.ms = median(ms);
        c.shapes.push_back(r);
    }

    void finish(const CandidateResult &c) {
        s_.candidates.push_back(c);
        report_(s_, s_.candidates.back());
    }

    const SearchOptions &o_;
    Report report_;
    std::vector<std::string> outputs_;
    std::vector<KernelArgs> args_;
    std::vector<std::vector<Halide::Buffer<float>>> reference_;
    std::string kinds_param_;
    KernelSearch s_;
    size_t confirmed_ = 0;  // the candidate confirm_best_hand re-timed
};

}  // namespace

KernelSearch search_kernel(const std::string &kernel, const std::vector<TuneProblem> &problems, const SearchOptions &o,
                           const Report &report) {
    Evaluator e(kernel, problems, o, report);
    for (const std::string &name : o.autoschedulers) {
        if (Clock::now() >= o.autoscheduler_deadline) break;
        e.evaluate_autoscheduler(name);
    }
    Knobs current = hand_knobs(kernel, o.target);
    std::set<Knobs> tried{{}, current};
    // The hand values are the default, unless the default picks a knob per shape: then they are a
    // candidate of their own.
    if (current != default_knobs(kernel, o.target) && Clock::now() < o.deadline) e.evaluate(current);
    size_t current_index = 0;
    bool improved = true;
    while (improved && Clock::now() < o.deadline) {
        improved = false;
        for (const Knobs &k : neighbours(kernel, o.target, current)) {
            if (Clock::now() >= o.deadline) break;
            if (!tried.insert(k).second) continue;
            e.evaluate(k);
        }
        const size_t b = e.best(true);
        if (b != current_index) {
            current_index = b;
            current = e.state().candidates[b].knobs;
            improved = true;
        }
    }
    if (o.confirm) e.confirm_best_hand();
    return e.result();
}

KernelSearch evaluate_knobs(const std::string &kernel, const std::vector<TuneProblem> &problems, const Knobs &knobs,
                            const SearchOptions &o, const Report &report) {
    Evaluator e(kernel, problems, o, report);
    e.evaluate(knobs);
    return e.result();
}

}  // namespace hnn::tune
