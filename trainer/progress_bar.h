#pragma once
// The live progress line of an epoch. Only on a terminal: in a pipe or a file, carriage returns and
// a redraw every 100 ms would bury the per-epoch lines that matter there.

#include <chrono>
#include <string>

namespace hnn {

// Draws "\r[=========>          ] 120/600  loss 0.3412  acc 0.912  ETA 0:32" on stdout while an epoch
// runs, only when enabled (the trainer passes isatty(STDOUT_FILENO)); redraws at most ~10 times a
// second, and always for the last step; narrows the bar to fit the terminal. finish() clears the line
// so the epoch line that follows starts clean; the destructor calls it, so an exception thrown
// mid-epoch does not leave a half line before its message. Disabled: prints nothing.
class ProgressBar {
public:
    ProgressBar(int total_steps, bool enabled);
    ~ProgressBar();
    ProgressBar(const ProgressBar &) = delete;
    ProgressBar &operator=(const ProgressBar &) = delete;

    void update(int steps_done, double running_loss, double running_acc);
    void finish();

private:
    using Clock = std::chrono::steady_clock;
    int total_steps_;
    bool enabled_;
    bool drawn_ = false;  // something is on the line that finish() must clear
    Clock::time_point start_, last_draw_;
};

// The bar's text for given values (pure): counts padded to the width of the total so the line does
// not jitter; ETA from elapsed time and progress as M:SS or H:MM:SS, "--:--" before the first step.
std::string format_progress(int steps_done, int total_steps, double running_loss, double running_acc,
                            double elapsed_seconds, int bar_width = 30);

// Seconds as M:SS, or H:MM:SS from an hour on; "--:--" for a negative or non-finite time.
std::string format_duration(double seconds);

}  // namespace hnn
