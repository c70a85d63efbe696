#pragma once
// Runs the real `hnn` executable from the tests (its path comes from CMake as HNN_EXECUTABLE).

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace hnn::test {

struct CliRun {
    int exit_code;
    std::string out;
};

// Runs a shell command; stdout is captured (and stderr, where the command says 2>&1).
inline CliRun run_command(const std::string &command) {
    std::FILE *pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char chunk[65536];
    size_t got;
    while ((got = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) out.append(chunk, got);
    int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Runs hnn with arguments; stdout is captured, stderr is folded into it with 2>&1 when asked.
// `shell_prefix` runs first in the same shell (e.g. "ulimit -f 8;" for a file-size limit).
inline CliRun run_hnn(const std::string &args, bool merge_stderr = false, const std::string &shell_prefix = "") {
    return run_command(shell_prefix + " exec " + std::string(HNN_EXECUTABLE) + " " + args +
                       (merge_stderr ? " 2>&1" : " 2>/dev/null"));
}

}  // namespace hnn::test
