// hnn-tune: the search behind `hnn tune`, in its own process because it links libHalide (LLVM 14),
// which must never share a process with the OpenCL driver `hnn` may load (PoCL, LLVM 15).
//
//   hnn-tune conv2d_forward --shape ci=64,co=64,w=28,h=28,n=100,k=3,pad=1 [--budget 60] [--out DIR]
//   hnn-tune --shape conv2d_forward:ci=...  --shape conv2d_backward_data:ci=...  (what `hnn tune --model` runs)

#include "schedule_params.h"
#include "search.h"
#include "tune_problem.h"
#include "tuned_file.h"

#include "hnn/error.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#ifndef HNN_TUNED_DIR
#define HNN_TUNED_DIR "schedules/tuned"
#endif

namespace hnn::tune {
namespace {

struct Options {
    std::string kernel;
    std::vector<std::string> shapes;
    double budget_s = 120;
    std::string out_dir = HNN_TUNED_DIR;
    int threads = 0, warmup = 1, repeats = 5;
    uint64_t seed = 1;
    double min_speedup = 1.02;
    bool dry_run = false;
    std::string command;
    std::vector<std::string> check_files;
    std::vector<std::string> autoschedulers;  // none unless asked: they overrun small budgets (below)
};

// Halide's MachineParams for the autoschedulers: parallelism, last-level cache, and the balance
// between compute and memory cost (Halide's default, 40).
std::string machine_params(int threads) {
    long long cache = 16 << 20;
    for (const char *level : {"index3", "index2"}) {
        std::ifstream in(std::string("/sys/devices/system/cpu/cpu0/cache/") + level + "/size");
        std::string size;
        if (in >> size && !size.empty()) {
            const char unit = size.back();
            cache = std::atoll(size.c_str()) * (unit == 'K' ? 1024LL : unit == 'M' ? 1024LL * 1024 : 1);
            break;
        }
    }
    return std::to_string(threads) + "," + std::to_string(cache) + ",40";
}

// The build's CPU target for this machine: the first of HNN_CPU_TARGETS whose features the host
// has, as Halide's multi-target dispatch picks at run time.
Halide::Target build_target_for_host() {
    const Halide::Target host = Halide::get_host_target();
    std::stringstream list(HNN_CPU_TARGETS);
    std::string text;
    while (std::getline(list, text, ',')) {
        const Halide::Target t(text);
        bool ok = true;
        for (int f = 0; f < Halide::Target::FeatureEnd; f++) {
            const auto feature = static_cast<Halide::Target::Feature>(f);
            if (t.has_feature(feature) && !host.has_feature(feature)) ok = false;
        }
        if (ok) return t;
    }
    throw Error("none of the build's CPU targets (" + std::string(HNN_CPU_TARGETS) + ") runs on this machine");
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const size_t colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown CPU";
}

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    return buf;
}

// (kernel, shapes) in the order given; shapes are "KERNEL:SPEC" unless a kernel is named.
std::vector<std::pair<std::string, std::vector<TuneProblem>>> parse_problems(const Options &o) {
    std::vector<std::pair<std::string, std::vector<TuneProblem>>> out;
    if (o.shapes.empty()) throw Error("no --shape given");
    for (const std::string &text : o.shapes) {
        std::string kernel = o.kernel, spec = text;
        if (kernel.empty()) {
            const size_t colon = text.find(':');
            if (colon == std::string::npos) {
                throw Error("--shape '" + text + "': name the kernel (hnn tune KERNEL --shape ...) or write KERNEL:SHAPE");
            }
            kernel = text.substr(0, colon);
            spec = text.substr(colon + 1);
        }
        TuneProblem p = parse_problem(kernel, spec);
        auto it = std::find_if(out.begin(), out.end(), [&](const auto &e) { return e.first == kernel; });
        if (it == out.end()) {
            out.push_back({kernel, {}});
            it = out.end() - 1;
        }
        it->second.push_back(p);
    }
    return out;
}

std::string shapes_text(const std::vector<TuneProblem> &problems) {
    return problems.size() == 1 ? problems[0].label() : std::to_string(problems.size()) + " shapes";
}

void print_row(const std::string &kernel, const std::string &shapes, const std::string &candidate, const std::string &ms,
               const std::string &speedup, const std::string &error, const std::string &note) {
    std::printf("%-33s %-32s %-22s %10s %8s %10s  %s\n", kernel.c_str(), shapes.c_str(), candidate.c_str(), ms.c_str(),
                speedup.c_str(), error.c_str(), note.c_str());
    std::fflush(stdout);
}

std::string fixed(double v, const char *format) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

TunedFile tuned_file(const KernelSearch &s, const Halide::Target &t, const Options &o, int candidates) {
    const CandidateResult &def = s.candidates[0], &win = s.candidates[s.winner];
    TunedFile f;
    f.kernel = s.kernel;
    f.isa = schedule_isa(t);
    // The default winning (with --min-speedup 1 or less) writes its hand values out, but for knobs it
    // picks per shape.
    for (const auto &[name, value] : win.knobs.empty() ? default_knobs(s.kernel, t) : win.knobs) {
        f.knobs.emplace_back(name, value);
    }
    f.command = o.command;
    f.machine = cpu_model();
    f.threads = o.threads;
    f.date = utc_now();
    f.target = t.to_string();
    f.candidates_timed = candidates;
    f.budget_s = o.budget_s;
    for (size_t i = 0; i < s.problems.size(); i++) {
        f.shapes.push_back({s.problems[i].spec(), def.shapes[i].ms, win.shapes[i].ms, win.shapes[i].max_abs_error,
                            win.shapes[i].max_rel_error});
    }
    return f;
}

void print_candidate(const KernelSearch &ks, const CandidateResult &c) {
    const bool is_default = &c == &ks.candidates[0];
    const bool timed = c.correct || is_default;
    const std::string note = timed ? "compile " + fixed(c.compile_s, "%.1f") + " s"
                                   : "discarded: " + c.failure.substr(0, c.failure.find('\n'));
    print_row(ks.kernel, shapes_text(ks.problems), ks.name(c), timed ? fixed(c.total_ms(), "%.3f") : "-",
              timed ? fixed(ks.candidates[0].total_ms() / c.total_ms(), "%.3fx") : "-", fixed(c.max_rel_error(), "%.1e"),
              note);
}

// What every search and check shares, from the command line.
SearchOptions search_options(const Options &o, const Halide::Target &target) {
    SearchOptions so;
    so.target = target;
    so.threads = o.threads;
    so.warmup = o.warmup;
    so.repeats = o.repeats;
    so.seed = o.seed;
    return so;
}

// --check FILE: the file's knobs against the default on the file's shapes; non-zero on a mismatch.
int check_files(const Options &o, const Halide::Target &target) {
    int status = 0;
    for (const std::string &path : o.check_files) {
        const TunedFile f = read_tuned_file(path);
        if (f.isa != schedule_isa(target)) {
            std::printf("%s: for %s, this machine runs %s: not checked\n", path.c_str(), f.isa.c_str(),
                        schedule_isa(target).c_str());
            continue;
        }
        if (f.shapes.empty()) throw Error(path + ": no '# shape' lines to check it on");
        std::vector<TuneProblem> problems;
        for (const TunedShape &s : f.shapes) problems.push_back(parse_problem(f.kernel, s.spec));
        Knobs knobs(f.knobs.begin(), f.knobs.end());
        const SearchOptions so = search_options(o, target);
        const KernelSearch s = evaluate_knobs(f.kernel, problems, knobs, so, print_candidate);
        const bool ok = s.candidates.size() == 2 && s.candidates[1].correct;
        std::printf("%s: %s\n", path.c_str(),
                    ok ? "same numbers as the default schedule" : ("MISMATCH: " + s.candidates[1].failure).c_str());
        if (!ok) status = 1;
    }
    return status;
}

int run(Options o) {
    if (o.budget_s <= 0) throw Error("--budget must be positive, got " + std::to_string(o.budget_s));
    if (o.repeats < 1) throw Error("--repeats must be at least 1");
    if (o.threads < 0) throw Error("--threads must not be negative");
    if (o.threads == 0) o.threads = std::max(1u, std::thread::hardware_concurrency());
    // The JIT runtime's thread pool reads this when it starts, before the first kernel runs.
    setenv("HL_NUM_THREADS", std::to_string(o.threads).c_str(), 1);
    const Halide::Target target = build_target_for_host();
    if (o.autoschedulers == std::vector<std::string>{"none"}) o.autoschedulers.clear();
    for (const std::string &a : o.autoschedulers) {
        const auto &known = known_autoschedulers();
        if (std::find(known.begin(), known.end(), a) == known.end()) {
            throw Error("--autoschedulers: unknown autoscheduler '" + a + "' (known: Mullapudi2016, Li2018, Adams2019, or none)");
        }
    }
    // Adams2019's beam search (beam 32, 5 passes) took minutes on one small conv here; a greedy
    // search (beam 1) stays within a tuning budget. HL_BEAM_SIZE set by the caller wins.
    if (std::find(o.autoschedulers.begin(), o.autoschedulers.end(), "Adams2019") != o.autoschedulers.end()) {
        setenv("HL_BEAM_SIZE", "1", 0);
    }
    if (!o.check_files.empty()) {
        if (!o.shapes.empty() || !o.kernel.empty()) throw Error("--check takes no kernel and no --shape");
        print_row("kernel", "shape(s)", "candidate", "ms", "speedup", "max err", "");
        return check_files(o, target);
    }
    const auto work = parse_problems(o);
    std::printf("hnn tune: target %s (%s), %d threads, budget %.0f s, %d runs per shape (median) after %d warm-up\n",
                target.to_string().c_str(), schedule_isa(target).c_str(), o.threads, o.budget_s, o.repeats, o.warmup);
    print_row("kernel", "shape(s)", "candidate", "ms", "speedup", "max err", "");

    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(o.budget_s));
    std::vector<std::string> summary;
    for (size_t k = 0; k < work.size(); k++) {
        const auto &[kernel, problems] = work[k];
        SearchOptions so = search_options(o, target);
        // The kernels left share what is left of the budget.
        const auto now = std::chrono::steady_clock::now();
        so.deadline = now + (end > now ? (end - now) / long(work.size() - k) : std::chrono::steady_clock::duration(0));
        so.autoschedulers = o.autoschedulers;
        so.autoscheduler_deadline = now + (so.deadline - now) / 3;
        so.machine_params = machine_params(o.threads);
        const KernelSearch s = search_kernel(kernel, problems, so, print_candidate);
        const CandidateResult &def = s.candidates[0], &best = s.candidates[s.winner];
        if (s.confirmed) {
            const CandidateResult &hand = s.candidates[s.best_hand];
            print_row(kernel, shapes_text(problems), s.name(hand), fixed(hand.total_ms(), "%.3f"),
                      fixed(def.total_ms() / hand.total_ms(), "%.3fx"), fixed(hand.max_rel_error(), "%.1e"),
                      "confirmed: timed again alternating with the default (" + fixed(def.total_ms(), "%.3f") + " ms)");
        }
        if (problems.size() > 1) {
            for (size_t i = 0; i < problems.size(); i++) {
                const double d = def.shapes[i].ms, w = best.shapes[i].ms;
                print_row(kernel, problems[i].label(), s.name(best), fixed(w, "%.3f"), fixed(d / w, "%.3fx"),
                          fixed(best.shapes[i].max_rel_error, "%.1e"), "winner at this shape (default " + fixed(d, "%.3f") + " ms)");
            }
        }
        std::string line = kernel + ": ";
        if (!best.autoscheduler.empty()) {
            line += best.autoscheduler + " was fastest (" + fixed(def.total_ms() / best.total_ms(), "%.3fx") +
                    "), but the build applies only hand-schedule knobs; ";
        }
        // What the build can apply: the best hand-schedule candidate.
        const CandidateResult &win = s.candidates[s.best_hand];
        const double speedup = def.total_ms() / win.total_ms();
        if (speedup < o.min_speedup) {
            line += "the default schedule stays (best knobs " + s.name(win) + " at " + fixed(speedup, "%.3fx") +
                    ", below --min-speedup " + fixed(o.min_speedup, "%.2f") + "); no file written";
        } else {
            KernelSearch hand = s;
            hand.winner = s.best_hand;
            const TunedFile f = tuned_file(hand, target, o, static_cast<int>(s.candidates.size()));
            line += s.name(win) + ", " + fixed(speedup, "%.3fx") + " over the default";
            if (o.dry_run) {
                line += " (--dry-run: not written)";
            } else {
                std::filesystem::create_directories(o.out_dir);
                const std::string path = (std::filesystem::path(o.out_dir) / f.file_name()).string();
                std::ofstream out(path);
                out << format_tuned_file(f);
                if (!out) throw Error("cannot write " + path);
                line += ", wrote " + path;
            }
        }
        summary.push_back(line);
    }
    std::printf("\nwinners (%.0f s of %.0f s budget used):\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), o.budget_s);
    for (const std::string &l : summary) std::printf("  %s\n", l.c_str());
    return 0;
}

}  // namespace
}  // namespace hnn::tune

int main(int argc, char **argv) {
    hnn::tune::Options o;
    CLI::App app{"hnn-tune: searches the schedules of hnn's kernels on this machine (run it as `hnn tune`)"};
    app.add_option("kernel", o.kernel, "The kernel to tune (conv2d_forward, conv2d_backward_data, conv2d_backward_weights, conv2d_winograd[4x4]_PASS, pointwise_conv2d_PASS)");
    app.add_option("--shape", o.shapes,
                   "ci=64,co=64,w=28,h=28,n=100,k=3[,stride=1][,pad=1|pad_x=..,pad_y=..][,ow=..,oh=..][,act=celu]; "
                   "KERNEL:SHAPE without a kernel argument; repeat for several shapes")
        ;
    app.add_option("--budget", o.budget_s, "Seconds for the whole search (no candidate starts after it)")->capture_default_str();
    app.add_option("--out", o.out_dir, "Where the tuned files go")->capture_default_str();
    app.add_option("--threads", o.threads, "Threads of the kernels (default: every core)");
    app.add_option("--repeats", o.repeats, "Timed runs per shape (the median counts)")->capture_default_str();
    app.add_option("--warmup", o.warmup, "Runs before them, the first checking the output")->capture_default_str();
    app.add_option("--seed", o.seed, "Seed of the random inputs")->capture_default_str();
    app.add_option("--min-speedup", o.min_speedup, "Write a file only when the winner is at least this much faster")
        ->capture_default_str();
    app.add_flag("--dry-run", o.dry_run, "Search and report, write nothing");
    app.add_option("--autoschedulers", o.autoschedulers,
                   "Halide autoschedulers to compare, comma-separated (Mullapudi2016, Li2018, Adams2019; default none). "
                   "They start within the first third of each kernel's budget but cannot be stopped once started")
        ->delimiter(',');
    app.add_option("--check", o.check_files,
                   "Instead of searching: run a tuned file's knobs on its shapes and compare with the default")
        ->check(CLI::ExistingFile);
    app.add_option("--command", o.command, "The command to record in the files (default: this one)");
    try {
        app.parse(argc, argv);
        if (o.command.empty()) {
            o.command = "hnn tune";
            for (int i = 1; i < argc; i++) o.command += std::string(" ") + argv[i];
        }
        return hnn::tune::run(o);
    } catch (const CLI::ParseError &e) {
        return app.exit(e);
    } catch (const hnn::Error &e) {
        std::fprintf(stderr, "hnn tune: error: %s\n", e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "hnn tune: unexpected error: %s\n", e.what());
        return 1;
    }
}
