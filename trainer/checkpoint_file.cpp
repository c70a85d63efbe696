#include "checkpoint_file.h"

#include "hnn/error.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <system_error>

namespace hnn {

namespace {

constexpr char kMagic[8] = {'H', 'N', 'N', 'C', 'K', 'P', 'T', '\0'};
constexpr size_t kVersionOffset = 8, kCrcOffset = 12, kSizeOffset = 16;
static_assert(kSizeOffset + 8 == kCheckpointHeaderBytes, "header layout");

[[noreturn]] void fail(const std::string &path, const std::string &message) {
    throw Error("checkpoint " + path + ": " + message);
}

std::string errno_text(int error) { return std::system_category().message(error); }

// Reads errno on entry, before building the message can disturb it.
[[noreturn]] void fail_errno(const std::string &path, const char *action, const std::string &subject = "") {
    const int error = errno;
    fail(path, action + (subject.empty() ? "" : " " + subject) + ": " + errno_text(error));
}

std::string quoted(const std::string &text) { return "'" + text + "'"; }

std::string shape_text(const std::vector<int> &shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// "tensor 3 ('conv1.filter')": the index still identifies the tensor when its name is the problem.
std::string tensor_label(size_t index, const std::string &name) {
    return "tensor " + std::to_string(index) + (name.empty() ? "" : " (" + quoted(name) + ")");
}

// --- Limits shared by writer and reader: each returns what is wrong, or "" when acceptable. ---

std::string name_problem(const std::string &name) {
    if (name.empty()) return "name is empty";
    if (name.size() > kCheckpointMaxNameBytes) {
        return "name is " + std::to_string(name.size()) + " bytes, over the limit of " +
               std::to_string(kCheckpointMaxNameBytes);
    }
    return "";
}

std::string rank_problem(size_t rank) {
    if (rank > kCheckpointMaxRank) {
        return "rank " + std::to_string(rank) + " exceeds the limit of " + std::to_string(kCheckpointMaxRank);
    }
    return "";
}

std::string dims_problem(const std::vector<int> &shape) {
    for (int d : shape) {
        if (d < 1) return "shape " + shape_text(shape) + " has a dimension < 1";
    }
    return "";
}

// product(shape) when it is at most `limit`; otherwise limit + 1, so callers need no overflow care.
uint64_t element_count(const std::vector<int> &shape, uint64_t limit) {
    uint64_t count = 1;
    for (int d : shape) {
        if (uint64_t(d) > limit / count) return limit + 1;
        count *= uint64_t(d);
    }
    return count;
}

// --- Encoding ---

class ByteWriter {
public:
    explicit ByteWriter(size_t expected_size) { bytes_.reserve(expected_size); }
    void u32(uint32_t v) { little_endian(v, 4); }
    void u64(uint64_t v) { little_endian(v, 8); }
    void i32(int32_t v) { u32(uint32_t(v)); }
    void i64(int64_t v) { u64(uint64_t(v)); }
    void raw(const void *data, size_t size) { bytes_.append(static_cast<const char *>(data), size); }
    void string(const std::string &s) {
        u32(uint32_t(s.size()));
        raw(s.data(), s.size());
    }
    void floats(const std::vector<float> &values) {
        for (float f : values) {
            uint32_t bits;
            std::memcpy(&bits, &f, 4);
            u32(bits);
        }
    }
    void patch_u32(size_t offset, uint32_t v) { patch(offset, v, 4); }
    void patch_u64(size_t offset, uint64_t v) { patch(offset, v, 8); }
    std::string &bytes() { return bytes_; }

private:
    void little_endian(uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++) bytes_.push_back(char((v >> (8 * i)) & 0xff));
    }
    void patch(size_t offset, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++) bytes_[offset + i] = char((v >> (8 * i)) & 0xff);
    }
    std::string bytes_;
};

// zlib's crc32 takes a 32-bit length; checkpoints may be larger.
uint32_t payload_crc(const unsigned char *data, size_t size) {
    uLong crc = crc32(0L, Z_NULL, 0);
    constexpr size_t chunk = size_t(1) << 30;
    for (size_t done = 0; done < size; done += chunk) {
        size_t n = std::min(chunk, size - done);
        crc = crc32(crc, data + done, uInt(n));
    }
    return uint32_t(crc);
}

void validate_for_writing(const std::string &path, const Checkpoint &c) {
    if (c.epoch < 0) fail(path, "epoch is " + std::to_string(c.epoch) + ", must be >= 0");
    if (c.step < 0) fail(path, "step is " + std::to_string(c.step) + ", must be >= 0");
    constexpr uint64_t max_u32 = std::numeric_limits<uint32_t>::max();
    if (c.config_json.size() > max_u32) fail(path, "config_json is over 4 GiB");
    if (c.rng_state.size() > max_u32) fail(path, "rng_state is over 4 GiB");
    if (c.tensors.size() > max_u32) fail(path, "too many tensors");
    std::set<std::string> names;
    for (size_t i = 0; i < c.tensors.size(); i++) {
        const CheckpointTensor &t = c.tensors[i];
        std::string problem = name_problem(t.name);
        if (problem.empty()) problem = rank_problem(t.shape.size());
        if (problem.empty()) problem = dims_problem(t.shape);
        if (problem.empty() && !names.insert(t.name).second) problem = "name appears more than once";
        if (problem.empty() && element_count(t.shape, t.data.size()) != t.data.size()) {
            problem = "shape " + shape_text(t.shape) + " does not match its " + std::to_string(t.data.size()) +
                      " data elements";
        }
        if (!problem.empty()) fail(path, "cannot save " + tensor_label(i, t.name) + ": " + problem);
    }
}

size_t encoded_size(const Checkpoint &c) {
    size_t size = kCheckpointHeaderBytes + 4 + 8 + 4 + c.config_json.size() + 4 + c.rng_state.size() + 4;
    for (const CheckpointTensor &t : c.tensors) size += 4 + t.name.size() + 4 + 4 * t.shape.size() + 4 * t.data.size();
    return size;
}

// Header and payload in one buffer, so the file goes out in one piece.
std::string encode(const Checkpoint &c) {
    ByteWriter w(encoded_size(c));
    w.raw(kMagic, sizeof kMagic);
    w.u32(kCheckpointFormatVersion);
    w.u32(0);  // CRC and payload size are patched in once the payload exists.
    w.u64(0);
    w.i32(c.epoch);
    w.i64(c.step);
    w.string(c.config_json);
    w.string(c.rng_state);
    w.u32(uint32_t(c.tensors.size()));
    for (const CheckpointTensor &t : c.tensors) {
        w.string(t.name);
        w.u32(uint32_t(t.shape.size()));
        for (int d : t.shape) w.i32(d);
        w.floats(t.data);
    }
    std::string &bytes = w.bytes();
    size_t payload_size = bytes.size() - kCheckpointHeaderBytes;
    auto *payload = reinterpret_cast<const unsigned char *>(bytes.data()) + kCheckpointHeaderBytes;
    w.patch_u32(kCrcOffset, payload_crc(payload, payload_size));
    w.patch_u64(kSizeOffset, payload_size);
    return std::move(bytes);
}

// --- File descriptors ---

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    bool ok() const { return fd_ >= 0; }
    // Returns close()'s result: on NFS and the like, a failed close is a failed write.
    int close() {
        int result = ::close(fd_);
        fd_ = -1;
        return result;
    }

private:
    int fd_;
};

// Removes the temporary file unless the write got as far as renaming it into place.
class TemporaryFile {
public:
    explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
    TemporaryFile(const TemporaryFile &) = delete;
    TemporaryFile &operator=(const TemporaryFile &) = delete;
    ~TemporaryFile() {
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    const std::string &path() const { return path_; }
    void release() { path_.clear(); }

private:
    std::string path_;
};

// Returns 0, or the errno of the failure.
int write_all(int fd, const std::string &bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return EIO;
        done += size_t(n);
    }
    return 0;
}

// Reads up to `size` bytes, fewer only at end of file.
size_t read_up_to(const std::string &path, int fd, unsigned char *out, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::read(fd, out + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail_errno(path, "cannot read");
        if (n == 0) break;
        done += size_t(n);
    }
    return done;
}

void write_temporary(const std::string &path, const TemporaryFile &temporary, const std::string &bytes) {
    const std::string &tmp = temporary.path();
    // O_NOFOLLOW: a stale symlink at the temporary name must not redirect the write elsewhere.
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666));
    if (!fd.ok()) fail_errno(path, "cannot create temporary file", tmp);
    if (int e = write_all(fd.get(), bytes)) fail(path, "cannot write temporary file " + tmp + ": " + errno_text(e));
    if (::fsync(fd.get()) != 0) fail_errno(path, "cannot fsync temporary file", tmp);
    if (fd.close() != 0) fail_errno(path, "cannot close temporary file", tmp);
}

// Makes the rename itself durable; without it a crash could bring back the old directory entry.
void sync_directory_of(const std::string &path) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    // EINVAL: the filesystem cannot sync directories at all, so there is nothing more to do.
    if (!fd.ok() || (::fsync(fd.get()) != 0 && errno != EINVAL)) {
        const int error = errno;
        fail(path, "written, but directory " + dir + " could not be synced (" + errno_text(error) +
                       "); the new checkpoint may not survive a crash");
    }
}

// --- Decoding ---

uint32_t load_u32(const unsigned char *p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

uint64_t load_u64(const unsigned char *p) { return uint64_t(load_u32(p)) | uint64_t(load_u32(p + 4)) << 32; }

// Bounds-checked reads from a payload whose checksum has already matched. Running out of bytes
// still gets checked: a matching CRC proves the bytes are as written, not that the writer was sane.
class PayloadReader {
public:
    PayloadReader(const std::string &path, const std::string &payload)
        : path_(path), data_(reinterpret_cast<const unsigned char *>(payload.data())), size_(payload.size()) {}

    uint32_t u32(const std::string &field) { return load_u32(take(4, field)); }
    int32_t i32(const std::string &field) { return int32_t(u32(field)); }
    int64_t i64(const std::string &field) { return int64_t(load_u64(take(8, field))); }
    std::string string(const std::string &field) {
        uint32_t size = u32(field + " length");
        const unsigned char *p = take(size, field);
        return std::string(reinterpret_cast<const char *>(p), size);
    }
    std::vector<float> floats(uint64_t count, const std::string &field) {
        const unsigned char *p = take(count * 4, field);  // count <= remaining() / 4: no overflow
        std::vector<float> values(count);
        for (size_t i = 0; i < count; i++) {
            uint32_t bits = load_u32(p + 4 * i);
            std::memcpy(&values[i], &bits, 4);
        }
        return values;
    }
    size_t remaining() const { return size_ - pos_; }
    [[noreturn]] void fail_field(const std::string &field, const std::string &problem) const {
        fail(path_, field + ": " + problem);
    }

private:
    const unsigned char *take(uint64_t n, const std::string &field) {
        if (n > remaining()) {
            fail_field(field, "payload ends inside it (needs " + std::to_string(n) + " bytes, " +
                                  std::to_string(remaining()) + " left)");
        }
        const unsigned char *p = data_ + pos_;
        pos_ += n;
        return p;
    }

    const std::string &path_;
    const unsigned char *data_;
    size_t size_;
    size_t pos_ = 0;
};

CheckpointTensor read_tensor(PayloadReader &r, size_t index, std::set<std::string> &names) {
    CheckpointTensor t;
    std::string label = tensor_label(index, "");
    t.name = r.string(label + " name");
    if (std::string problem = name_problem(t.name); !problem.empty()) r.fail_field(label, problem);
    label = tensor_label(index, t.name);
    if (!names.insert(t.name).second) r.fail_field(label, "name appears more than once");
    uint32_t rank = r.u32(label + " rank");
    if (std::string problem = rank_problem(rank); !problem.empty()) r.fail_field(label, problem);
    for (uint32_t i = 0; i < rank; i++) t.shape.push_back(r.i32(label + " dimension " + std::to_string(i)));
    if (std::string problem = dims_problem(t.shape); !problem.empty()) r.fail_field(label, problem);
    uint64_t count = element_count(t.shape, r.remaining() / 4);
    if (count > r.remaining() / 4) {
        r.fail_field(label, "shape " + shape_text(t.shape) + " needs more data than the " +
                                std::to_string(r.remaining()) + " payload bytes left");
    }
    t.data = r.floats(count, label + " data");
    return t;
}

Checkpoint decode_payload(const std::string &path, const std::string &payload) {
    PayloadReader r(path, payload);
    Checkpoint c;
    c.epoch = r.i32("epoch");
    if (c.epoch < 0) r.fail_field("epoch", std::to_string(c.epoch) + " is negative");
    c.step = r.i64("step");
    if (c.step < 0) r.fail_field("step", std::to_string(c.step) + " is negative");
    c.config_json = r.string("config_json");
    c.rng_state = r.string("rng_state");
    uint32_t count = r.u32("tensor count");
    std::set<std::string> names;
    // No reserve(count): the count is not trusted until that many tensors have actually been read.
    for (uint32_t i = 0; i < count; i++) c.tensors.push_back(read_tensor(r, i, names));
    if (r.remaining() != 0) {
        fail(path, std::to_string(r.remaining()) + " unexplained bytes after the last tensor");
    }
    return c;
}

struct Header {
    uint32_t crc;
    uint64_t payload_size;
};

Header check_header(const std::string &path, const unsigned char *h, size_t header_bytes, uint64_t file_size) {
    if (std::memcmp(h, kMagic, std::min(header_bytes, sizeof kMagic)) != 0) {
        fail(path, "not an hnn checkpoint (bad magic bytes)");
    }
    if (header_bytes < kCheckpointHeaderBytes) {
        fail(path, "truncated: file holds " + std::to_string(file_size) + " bytes, less than the " +
                       std::to_string(kCheckpointHeaderBytes) + "-byte header");
    }
    uint32_t version = load_u32(h + kVersionOffset);
    if (version > kCheckpointFormatVersion) {
        fail(path, "format version " + std::to_string(version) + " is newer than this hnn reads (version " +
                       std::to_string(kCheckpointFormatVersion) + "); upgrade hnn to resume from it");
    }
    if (version == 0) fail(path, "invalid format version 0");
    Header header{load_u32(h + kCrcOffset), load_u64(h + kSizeOffset)};
    uint64_t present = file_size - kCheckpointHeaderBytes;
    if (header.payload_size > present) {
        fail(path, "truncated: header says " + std::to_string(header.payload_size) + " payload bytes, file holds " +
                       std::to_string(present));
    }
    if (header.payload_size < present) {
        fail(path, "header says " + std::to_string(header.payload_size) + " payload bytes, file holds " +
                       std::to_string(present) + " (trailing data)");
    }
    return header;
}

}  // namespace

const CheckpointTensor *Checkpoint::find(const std::string &name) const {
    for (const CheckpointTensor &t : tensors) {
        if (t.name == name) return &t;
    }
    return nullptr;
}

namespace {

// A writer killed mid-write (SIGKILL, power loss) leaves PATH.tmp.PID behind. Once a newer
// checkpoint is in place, those whose process is gone are removed; a live writer's file is not.
void remove_abandoned_temporaries(const std::string &path) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    const std::string prefix = target.filename().string() + ".tmp.";
    std::error_code error;
    for (const fs::directory_entry &entry : fs::directory_iterator(folder, error)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        const std::string pid_text = name.substr(prefix.size());
        if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
        if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove(entry.path(), error);
    }
}

}  // namespace

void write_checkpoint(const std::string &path, const Checkpoint &checkpoint) {
    if (path.empty()) throw Error("checkpoint path is empty");
    validate_for_writing(path, checkpoint);
    const std::string bytes = encode(checkpoint);
    TemporaryFile temporary(path + ".tmp." + std::to_string(::getpid()));
    write_temporary(path, temporary, bytes);
    if (::rename(temporary.path().c_str(), path.c_str()) != 0) {
        const int error = errno;
        fail(path, "cannot rename " + temporary.path() + " over it: " + errno_text(error));
    }
    temporary.release();
    sync_directory_of(path);
    remove_abandoned_temporaries(path);
}

Checkpoint read_checkpoint(const std::string &path) {
    if (path.empty()) throw Error("checkpoint path is empty");
    // O_NONBLOCK: opening a FIFO by mistake must fail below, not wait forever for a writer.
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd.ok()) fail_errno(path, "cannot open");
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) fail_errno(path, "cannot stat");
    if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
    const uint64_t file_size = uint64_t(st.st_size);

    unsigned char h[kCheckpointHeaderBytes];
    size_t header_bytes = read_up_to(path, fd.get(), h, sizeof h);
    if (header_bytes != std::min<uint64_t>(sizeof h, file_size)) fail(path, "file changed while being read");
    Header header = check_header(path, h, header_bytes, file_size);

    // Safe to allocate: check_header matched payload_size against the bytes the file holds.
    std::string payload(header.payload_size, '\0');
    auto *p = reinterpret_cast<unsigned char *>(payload.data());
    if (read_up_to(path, fd.get(), p, payload.size()) != payload.size()) fail(path, "file changed while being read");
    if (payload_crc(p, payload.size()) != header.crc) fail(path, "checksum mismatch (file is corrupt or was modified)");
    return decode_payload(path, payload);
}

}  // namespace hnn
