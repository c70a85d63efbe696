#include "gnuplot.h"

#include "hnn/error.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

namespace hnn {

std::string gnuplot_quote(const std::string &text) {
    std::string q = "'";
    for (char ch : text) {
        if (ch == '\'') q += "''";
        else q += ch;
    }
    return q + "'";
}

namespace {

// A PNG's last chunk is IEND: its length (0), type and CRC are the file's last 12 bytes.
bool is_complete_png(const std::string &path) {
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    std::FILE *f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    unsigned char tail[12] = {};
    const bool read = std::fseek(f, -12, SEEK_END) == 0 && std::fread(tail, 1, 12, f) == 12;
    std::fclose(f);
    return read && std::memcmp(tail, iend, 12) == 0;
}

}  // namespace

void run_gnuplot(const std::string &script, const std::string &output_png) {
    // gnuplot draws into a temporary file beside the picture, renamed over it only when complete: a
    // failed or interrupted plot (a full disk) leaves the old picture or none, never half of one.
    const std::string output_line = "set output " + gnuplot_quote(output_png) + "\n";
    const size_t at = script.find(output_line);
    if (at == std::string::npos) throw Error("gnuplot script for " + output_png + " does not set that output");
    const std::string temporary = output_png + ".tmp." + std::to_string(::getpid()) + ".png";
    std::string drawing = script;
    drawing.replace(at, output_line.size(), "set output " + gnuplot_quote(temporary) + "\n");
    auto fail = [&](const std::string &message) {
        std::remove(temporary.c_str());
        throw Error(message);
    };
    std::FILE *pipe = popen("gnuplot 2>&1", "w");
    if (pipe == nullptr) throw Error("cannot start gnuplot to draw " + output_png);
    std::fwrite(drawing.data(), 1, drawing.size(), pipe);
    int status = pclose(pipe);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail("gnuplot failed to draw " + output_png +
             (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (gnuplot is not installed: apt-get install gnuplot-nox)"
                                                              : " (is its folder writable, and is there space?)"));
    }
    // gnuplot exits 0 even when its file was cut short (a full disk): a whole PNG ends with IEND.
    if (!is_complete_png(temporary)) fail("gnuplot did not write " + output_png + " completely (is there space?)");
    if (std::rename(temporary.c_str(), output_png.c_str()) != 0) {
        fail("cannot rename the plot " + temporary + " to " + output_png + ": " + std::strerror(errno));
    }
}

}  // namespace hnn
