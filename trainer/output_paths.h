#pragma once
// Checks, before a run starts, that the files it will write can be written, so that a typo in a
// folder name fails in the first second rather than after the first epoch.

#include <string>

namespace hnn {

// Throws hnn::Error naming the flag and the path when `path` is a folder, or its folder does not
// exist or refuses a new file. Leaves nothing behind.
void require_writable_output(const std::string &flag, const std::string &path);

}  // namespace hnn
