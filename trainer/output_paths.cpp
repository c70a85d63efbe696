#include "output_paths.h"

#include "hnn/error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hnn {

void require_writable_output(const std::string &flag, const std::string &path) {
    if (path.empty()) return;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        throw Error(flag + " " + path + ": is a folder, not a file");
    }
    const size_t slash = path.find_last_of('/');
    const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    // A probe file beside the target, as every writer here makes its temporary file: the only test
    // that also covers read-only file systems and permissions (which root bypasses).
    const std::string probe = path + ".probe." + std::to_string(::getpid());
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw Error(flag + " " + path + ": cannot create files in " + folder + ": " + std::strerror(errno));
    }
    ::close(fd);
    ::unlink(probe.c_str());
}

}  // namespace hnn
