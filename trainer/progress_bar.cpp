#include "progress_bar.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sys/ioctl.h>
#include <unistd.h>

namespace hnn {
namespace {

constexpr auto redraw_interval = std::chrono::milliseconds(100);
constexpr int min_bar_width = 10, default_bar_width = 30;

std::string bar(int steps_done, int total_steps, int width) {
    if (total_steps <= 0) return "[" + std::string(width, ' ') + "]";
    if (steps_done >= total_steps) return "[" + std::string(width, '=') + "]";
    const int filled = static_cast<int>(static_cast<long long>(steps_done) * width / total_steps);
    return "[" + std::string(filled, '=') + ">" + std::string(width - filled - 1, ' ') + "]";
}

std::string eta(int steps_done, int total_steps, double elapsed_seconds) {
    if (steps_done <= 0 || total_steps <= 0) return "--:--";
    return format_duration(elapsed_seconds * (total_steps - steps_done) / steps_done);
}

// Columns of the terminal on stdout; 0 when unknown. A line longer than the terminal wraps, and
// "\r" then returns only to the start of the last row, leaving a trail of half bars.
int terminal_columns() {
    winsize size{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0) return 0;
    return size.ws_col;
}

// The text at the default bar width, narrowed (then cut) to stay short of the last column.
std::string fitted_progress(int steps_done, int total_steps, double loss, double acc, double elapsed) {
    std::string text = format_progress(steps_done, total_steps, loss, acc, elapsed, default_bar_width);
    const int columns = terminal_columns();
    if (columns <= 0 || static_cast<int>(text.size()) < columns) return text;
    const int excess = static_cast<int>(text.size()) - (columns - 1);
    const int width = std::max(min_bar_width, default_bar_width - excess);
    text = format_progress(steps_done, total_steps, loss, acc, elapsed, width);
    if (static_cast<int>(text.size()) >= columns) text.resize(std::max(columns - 1, 0));
    return text;
}

}  // namespace

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) return "--:--";
    const long long total = std::llround(seconds);
    const long long h = total / 3600, m = total / 60 % 60, s = total % 60;
    char text[48];
    if (h > 0) std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", h, m, s);
    else std::snprintf(text, sizeof text, "%lld:%02lld", m, s);
    return text;
}

std::string format_progress(int steps_done, int total_steps, double running_loss, double running_acc,
                            double elapsed_seconds, int bar_width) {
    steps_done = std::clamp(steps_done, 0, std::max(total_steps, 0));
    bar_width = std::max(bar_width, 1);
    const int digits = static_cast<int>(std::to_string(std::max(total_steps, 0)).size());
    // Sized for any double: %.4f of 1e308 is over 300 characters.
    char numbers[800];
    std::snprintf(numbers, sizeof numbers, " %*d/%d  loss %.4f  acc %.3f  ETA ", digits, steps_done, total_steps,
                  running_loss, running_acc);
    return bar(steps_done, total_steps, bar_width) + numbers + eta(steps_done, total_steps, elapsed_seconds);
}

ProgressBar::ProgressBar(int total_steps, bool enabled)
    : total_steps_(total_steps), enabled_(enabled), start_(Clock::now()), last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(int steps_done, double running_loss, double running_acc) {
    if (!enabled_) return;
    const Clock::time_point now = Clock::now();
    const bool last_step = steps_done >= total_steps_;
    if (drawn_ && !last_step && now - last_draw_ < redraw_interval) return;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    // "\033[K" clears what a longer previous text left to the right.
    std::string line = "\r" + fitted_progress(steps_done, total_steps_, running_loss, running_acc, elapsed) + "\033[K";
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
    drawn_ = true;
    last_draw_ = now;
}

void ProgressBar::finish() {
    if (!enabled_ || !drawn_) return;
    std::fputs("\r\033[K", stdout);
    std::fflush(stdout);
    drawn_ = false;
}

}  // namespace hnn
