#pragma once
// What every fuzz target shares: files in memory with a path the real readers can open, gzip
// compression for the readers' gzip paths, and a failure that libFuzzer reports as a crash.

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace hnn::fuzz {

using Bytes = std::vector<uint8_t>;

// A broken promise of the parser under test (not a refused input): print it and abort, which
// libFuzzer reports as a crash and saves the input for.
[[noreturn]] inline void fail(const std::string &what) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
    std::abort();
}

inline void require(bool ok, const std::string &what) {
    if (!ok) fail(what);
}

// Error messages must name the file (its path) that they are about.
inline void require_names(const std::string &message, const std::string &path) {
    if (message.find(path) == std::string::npos) fail("error message does not name " + path + ": " + message);
}

// An anonymous file in memory (memfd), opened by path (/proc/self/fd/N) exactly as the readers open
// files on disk; rewritten for every input, so no disk I/O and no files to clean up.
class MemoryFile {
public:
    MemoryFile() : fd_(memfd_create("hnn-fuzz", MFD_CLOEXEC)) {
        if (fd_ < 0) fail(std::string("memfd_create: ") + std::strerror(errno));
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    ~MemoryFile() { close(fd_); }
    MemoryFile(const MemoryFile &) = delete;
    MemoryFile &operator=(const MemoryFile &) = delete;

    const std::string &write(const uint8_t *data, size_t size) {
        if (ftruncate(fd_, 0) != 0) fail(std::string("ftruncate: ") + std::strerror(errno));
        for (size_t done = 0; done < size;) {
            ssize_t n = pwrite(fd_, data + done, size - done, off_t(done));
            if (n <= 0) fail(std::string("pwrite: ") + std::strerror(errno));
            done += size_t(n);
        }
        return path_;
    }
    const std::string &write(const Bytes &bytes) { return write(bytes.data(), bytes.size()); }
    const std::string &path() const { return path_; }

private:
    int fd_;
    std::string path_;
};

// The bytes as one gzip member, as gzip(1) writes them.
inline Bytes gzip(const uint8_t *data, size_t size) {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) fail("deflateInit2");
    Bytes out(deflateBound(&z, uLong(size)));
    z.next_in = const_cast<uint8_t *>(data);
    z.avail_in = uInt(size);
    z.next_out = out.data();
    z.avail_out = uInt(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) fail("deflate");
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

}  // namespace hnn::fuzz
