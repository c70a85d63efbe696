#include "gnuplot.h"

#include "hnn/error.h"

#include <cstdio>
#include <sys/wait.h>

namespace hnn {

std::string gnuplot_quote(const std::string &text) {
    std::string q = "'";
    for (char ch : text) {
        if (ch == '\'') q += "''";
        else q += ch;
    }
    return q + "'";
}

void run_gnuplot(const std::string &script, const std::string &output_png) {
    std::FILE *pipe = popen("gnuplot 2>&1", "w");
    if (pipe == nullptr) throw Error("cannot start gnuplot to draw " + output_png);
    std::fwrite(script.data(), 1, script.size(), pipe);
    int status = pclose(pipe);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw Error("gnuplot failed to draw " + output_png +
                    (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (gnuplot is not installed: apt-get install gnuplot-nox)"
                                                                     : ""));
    }
    if (std::FILE *f = std::fopen(output_png.c_str(), "rb")) {
        std::fclose(f);
    } else {
        throw Error("gnuplot did not write " + output_png);
    }
}

}  // namespace hnn
