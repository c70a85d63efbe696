#include "tuned_file.h"

#include "hnn/error.h"

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

namespace hnn {

double TunedFile::default_ms() const {
    double sum = 0;
    for (const TunedShape &s : shapes) sum += s.default_ms;
    return sum;
}

double TunedFile::tuned_ms() const {
    double sum = 0;
    for (const TunedShape &s : shapes) sum += s.tuned_ms;
    return sum;
}

namespace {

std::string number(double v, const char *format = "%.4g") {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

}  // namespace

std::string format_tuned_file(const TunedFile &f) {
    std::ostringstream o;
    o << "# Written by `hnn tune`. The build applies the lines after the comments (cmake/HnnKernels.cmake);\n"
      << "# delete this file to go back to the hand schedule.\n"
      << "# command: " << f.command << "\n"
      << "# machine: " << f.machine << ", " << f.threads << " threads\n"
      << "# date: " << f.date << "\n"
      << "# target: " << f.target << "\n"
      << "# search: " << f.candidates_timed << " candidates timed, budget " << number(f.budget_s, "%.0f") << " s\n"
      << "# times: median ms per call, default (hand schedule) -> tuned; error: tuned vs default output\n";
    for (const TunedShape &s : f.shapes) {
        o << "# shape " << s.spec << ": " << number(s.default_ms, "%.3f") << " -> " << number(s.tuned_ms, "%.3f")
          << " ms, " << number(s.tuned_ms > 0 ? s.default_ms / s.tuned_ms : 0, "%.3f") << "x, max abs error "
          << number(s.max_abs_error) << ", max rel error " << number(s.max_rel_error) << "\n";
    }
    o << "# total: " << number(f.default_ms(), "%.3f") << " -> " << number(f.tuned_ms(), "%.3f") << " ms, speedup "
      << number(f.speedup(), "%.3f") << "x\n"
      << "kernel " << f.kernel << "\n"
      << "isa " << f.isa << "\n"
      << "schedule " << f.schedule << "\n";
    for (const auto &[name, value] : f.knobs) o << name << " " << value << "\n";
    return o.str();
}

TunedFile parse_tuned_file(const std::string &text, const std::string &where) {
    TunedFile f;
    f.schedule.clear();
    static const std::regex key_value(R"(^([a-z_0-9]+)[ \t]+([^ \t]+)[ \t]*$)");
    static const std::regex shape_line(
        R"(^# shape ([^:]+): ([0-9.eE+-]+) -> ([0-9.eE+-]+) ms, [0-9.eE+-]+x, max abs error ([0-9.eE+-]+), max rel error ([0-9.eE+-]+)$)");
    static const std::regex machine_line(R"(^# machine: (.*), ([0-9]+) threads$)");
    static const std::regex search_line(R"(^# search: ([0-9]+) candidates timed, budget ([0-9.]+) s$)");
    std::istringstream in(text);
    std::string line;
    int line_number = 0;
    auto fail = [&](const std::string &why) {
        throw Error(where + ":" + std::to_string(line_number) + ": " + why);
    };
    // The header's numbers match the regexes' character classes but may still not be numbers ("."),
    // or be too large for their type: refused naming the line, like every other malformed line.
    auto to_double = [&](const std::string &text) {
        try {
            return std::stod(text);
        } catch (const std::exception &) {
            fail("'" + text + "' is not a number in range");
        }
        return 0.0;
    };
    auto to_int = [&](const std::string &text) {
        try {
            return std::stoi(text);
        } catch (const std::exception &) {
            fail("'" + text + "' is not an integer in range");
        }
        return 0;
    };
    while (std::getline(in, line)) {
        line_number++;
        std::smatch m;
        if (line.empty()) continue;
        if (line[0] == '#') {
            if (std::regex_match(line, m, shape_line)) {
                f.shapes.push_back({m[1], to_double(m[2]), to_double(m[3]), to_double(m[4]), to_double(m[5])});
            } else if (line.rfind("# command: ", 0) == 0) {
                f.command = line.substr(11);
            } else if (line.rfind("# date: ", 0) == 0) {
                f.date = line.substr(8);
            } else if (line.rfind("# target: ", 0) == 0) {
                f.target = line.substr(10);
            } else if (std::regex_match(line, m, machine_line)) {
                f.machine = m[1];
                f.threads = to_int(m[2]);
            } else if (std::regex_match(line, m, search_line)) {
                f.candidates_timed = to_int(m[1]);
                f.budget_s = to_double(m[2]);
            }
            continue;
        }
        if (!std::regex_match(line, m, key_value)) fail("expected 'key value', got '" + line + "'");
        const std::string key = m[1], value = m[2];
        if (key == "kernel") {
            f.kernel = value;
        } else if (key == "isa") {
            if (value != "avx512" && value != "avx2" && value != "baseline") fail("isa must be avx512, avx2 or baseline");
            f.isa = value;
        } else if (key == "schedule") {
            if (value != "hand") fail("schedule '" + value + "': the build applies only 'hand'");
            f.schedule = value;
        } else {
            if (!std::regex_match(value, std::regex("[1-9][0-9]{0,6}"))) {
                fail("knob " + key + " must be a positive integer, got '" + value + "'");
            }
            f.knobs.emplace_back(key, std::stoi(value));
        }
    }
    if (f.kernel.empty()) throw Error(where + ": no 'kernel' line");
    if (f.isa.empty()) throw Error(where + ": no 'isa' line");
    if (f.schedule.empty()) throw Error(where + ": no 'schedule' line");
    return f;
}

TunedFile read_tuned_file(const std::string &path) {
    std::ifstream in(path);
    if (!in) throw Error("cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    return parse_tuned_file(text.str(), path);
}

}  // namespace hnn
