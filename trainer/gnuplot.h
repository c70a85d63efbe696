#pragma once
// Plots go through gnuplot (Debian gnuplot-nox): hnn writes the data and a script, gnuplot draws.

#include <string>

namespace hnn {

// Runs `gnuplot` on the script, whose `set output` names output_png; the picture appears there only
// when complete. Throws hnn::Error naming the output file if gnuplot is missing or fails.
void run_gnuplot(const std::string &script, const std::string &output_png);

// A string as a gnuplot single-quoted literal.
std::string gnuplot_quote(const std::string &text);

}  // namespace hnn
