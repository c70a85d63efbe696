#include "dataset_files.h"

#include "hnn/error.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

namespace hnn {

namespace {

namespace fs = std::filesystem;

// Large enough to read quickly, small enough that a lying header costs little before the stream
// runs out.
constexpr size_t kReadChunk = size_t(1) << 20;
// A gzip stream's first read; later ones grow with the data that has actually arrived, so that
// memory follows the decompressed bytes, never what a header claims.
constexpr size_t kFirstGzipChunk = size_t(1) << 12;

// A file read through zlib, which decompresses gzip and passes plain files through unchanged.
class InputFile {
public:
    explicit InputFile(const std::string &path) : path_(path) {
        errno = 0;
        file_ = gzopen(path.c_str(), "rb");
        if (!file_) fail(std::string("cannot open: ") + (errno ? std::strerror(errno) : "out of memory"));
        gzbuffer(file_, 1 << 17);
    }
    ~InputFile() { gzclose(file_); }
    InputFile(const InputFile &) = delete;
    InputFile &operator=(const InputFile &) = delete;

    [[noreturn]] void fail(const std::string &what) const { throw Error(path_ + ": " + what); }

    // Reads up to n bytes; fewer only where the data ends. A gzip stream cut short is an error here,
    // so that callers only see clean ends.
    size_t read(uint8_t *dst, size_t n) {
        size_t total = 0;
        while (total < n) {
            unsigned want = unsigned(std::min(n - total, kReadChunk));
            int got = gzread(file_, dst + total, want);
            if (got < 0) fail_with_zlib_error("cannot read");
            total += size_t(got);
            if (unsigned(got) < want) break;
        }
        if (total < n) check_clean_end();
        return total;
    }

    // The bytes left in a plain file, so that sizes can be checked before allocating; nothing for
    // a gzip stream, whose length is only known by decompressing it.
    std::optional<uint64_t> plain_bytes_left() {
        if (!gzdirect(file_)) return std::nullopt;
        std::error_code ec;
        uintmax_t size = fs::file_size(path_, ec);
        z_off_t offset = gztell(file_);
        if (ec || offset < 0 || uintmax_t(offset) > size) return std::nullopt;
        return uint64_t(size - uintmax_t(offset));
    }

    // Reads n bytes, growing the buffer as data arrives rather than trusting n. Returns fewer only
    // where the data ends.
    std::vector<uint8_t> read_up_to(size_t n) {
        std::vector<uint8_t> data;
        const std::optional<uint64_t> left = plain_bytes_left();
        if (left) data.reserve(size_t(std::min<uint64_t>(n, *left)));
        while (data.size() < n) {
            size_t old = data.size(), chunk = std::min(n - old, left ? kReadChunk : gzip_chunk(old));
            data.resize(old + chunk);
            size_t got = read(data.data() + old, chunk);
            data.resize(old + got);
            if (got < chunk) break;
        }
        return data;
    }

    std::vector<uint8_t> read_to_end() {
        std::vector<uint8_t> data;
        const std::optional<uint64_t> left = plain_bytes_left();
        if (left) data.reserve(size_t(*left) + 1);  // + 1: the read that finds the end
        for (;;) {
            size_t old = data.size();
            // A plain file in one read of its size (+ 1); past that it grew while being read.
            size_t chunk = !left ? gzip_chunk(old) : old <= *left ? size_t(*left) + 1 - old : kReadChunk;
            data.resize(old + chunk);
            size_t got = read(data.data() + old, chunk);
            data.resize(old + got);
            if (got < chunk) return data;
        }
    }

    bool at_end() {
        uint8_t byte;
        return read(&byte, 1) == 0;
    }

private:
    static size_t gzip_chunk(size_t have) { return std::clamp(have, kFirstGzipChunk, kReadChunk); }

    void check_clean_end() {
        int code = Z_OK;
        gzerror(file_, &code);
        // zlib reports a gzip stream that stops mid-way as Z_BUF_ERROR on an otherwise normal end.
        if (code == Z_BUF_ERROR) fail("truncated gzip stream: the file ends in the middle of compressed data");
        if (code != Z_OK) fail_with_zlib_error("cannot read");
    }

    [[noreturn]] void fail_with_zlib_error(const std::string &what) {
        int code = Z_OK;
        std::string message = gzerror(file_, &code);
        if (code == Z_ERRNO) message = std::strerror(errno);
        // zlib puts the path in front of its own messages; ours goes there already.
        if (message.rfind(path_ + ": ", 0) == 0) message.erase(0, path_.size() + 2);
        if (code == Z_DATA_ERROR) message = "corrupt gzip data (" + message + ")";
        fail(what + ": " + message);
    }

    std::string path_;
    gzFile file_ = nullptr;
};

uint32_t big_endian_u32(const uint8_t *p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

std::string hex32(uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", value);
    return text;
}

// The header's words after the magic; `expected_magic` also fixes how many there are. The magic
// is checked first, so that a file of another kind is reported as such, whatever its length.
std::vector<uint32_t> read_idx_header(InputFile &file, uint32_t expected_magic, const char *kind) {
    const size_t header_bytes = 4 + 4 * (expected_magic & 0xff);
    uint8_t header[16];
    auto too_short = [&](size_t got) {
        file.fail("too short for an IDX " + std::string(kind) + " header (" + std::to_string(got) + " of " +
                  std::to_string(header_bytes) + " bytes)");
    };
    size_t got = file.read(header, 4);
    if (got < 4) too_short(got);
    uint32_t magic = big_endian_u32(header);
    if (magic != expected_magic) {
        file.fail("bad magic " + hex32(magic) + " (expected " + hex32(expected_magic) + ": IDX " + kind + ")");
    }
    got += file.read(header + 4, header_bytes - 4);
    if (got < header_bytes) too_short(got);
    std::vector<uint32_t> words;
    for (size_t at = 4; at < header_bytes; at += 4) words.push_back(big_endian_u32(header + at));
    return words;
}

// Reads the payload the header announced, refusing a file that holds less or more. For a plain
// file the size is checked before allocating; a gzip stream is read chunk by chunk.
std::vector<uint8_t> read_idx_payload(InputFile &file, uint64_t expected, const std::string &announced,
                                      const char *unit) {
    auto mismatch = [&](const char *problem, const std::string &held) {
        file.fail(std::string(problem) + ": header says " + announced + " (" + std::to_string(expected) +
                  " bytes) but the file holds " + held + " bytes of " + unit);
    };
    if (auto left = file.plain_bytes_left()) {
        if (*left < expected) mismatch("truncated", std::to_string(*left));
        if (*left > expected) mismatch("trailing data", std::to_string(*left));
    }
    std::vector<uint8_t> data = file.read_up_to(expected);
    if (data.size() < expected) mismatch("truncated", "only " + std::to_string(data.size()));
    if (!file.at_end()) mismatch("trailing data", "more than " + std::to_string(expected));
    return data;
}

struct IdxImages {
    uint32_t count = 0, rows = 0, cols = 0;
};

IdxImages read_image_header(InputFile &file) {
    std::vector<uint32_t> words = read_idx_header(file, 0x00000803, "uint8 images (n x rows x cols)");
    IdxImages h{words[0], words[1], words[2]};
    // Limits that keep every count and index in an int; real datasets are far below them.
    if (h.count == 0 || h.count > INT_MAX) {
        file.fail("image count " + std::to_string(h.count) + " is outside 1..2^31-1");
    }
    if (h.rows == 0 || h.cols == 0 || uint64_t(h.rows) * h.cols > (1u << 24)) {
        file.fail("image size " + std::to_string(h.rows) + "x" + std::to_string(h.cols) + " is outside 1..2^24 pixels");
    }
    return h;
}

std::vector<int32_t> read_idx_labels(InputFile &file, uint32_t count, int classes) {
    std::vector<uint8_t> bytes = read_idx_payload(file, count, std::to_string(count) + " labels", "labels");
    std::vector<int32_t> labels(bytes.begin(), bytes.end());
    for (size_t i = 0; i < labels.size(); i++) {
        if (labels[i] >= classes) {
            file.fail("label " + std::to_string(labels[i]) + " of image " + std::to_string(i) + " is outside 0.." +
                      std::to_string(classes - 1));
        }
    }
    return labels;
}

constexpr int kCifarSide = 32, kCifarChannels = 3, kCifarClasses = 10;
constexpr size_t kCifarPlane = kCifarSide * kCifarSide;
constexpr size_t kCifarRecord = 1 + kCifarChannels * kCifarPlane;

// Appends one file's records to `out`, converting the planar (R plane, G plane, B plane) pixels to
// channels innermost.
void append_cifar_batch(const std::string &path, Dataset &out) {
    InputFile file(path);
    auto bad_size = [&](uint64_t size) {
        file.fail("size " + std::to_string(size) + " bytes is not a positive multiple of the CIFAR-10 record size (" +
                  std::to_string(kCifarRecord) + " bytes: 1 label + 3x32x32 pixels)");
    };
    if (auto size = file.plain_bytes_left()) {
        if (*size == 0 || *size % kCifarRecord != 0) bad_size(*size);
    }
    std::vector<uint8_t> bytes = file.read_to_end();
    if (bytes.empty() || bytes.size() % kCifarRecord != 0) bad_size(bytes.size());

    const size_t records = bytes.size() / kCifarRecord;
    if (records > size_t(INT_MAX) - out.labels.size()) file.fail("too many records for one dataset");
    const size_t image = out.image_size();
    size_t dst = out.pixels.size();
    out.pixels.resize(dst + records * image);
    for (size_t r = 0; r < records; r++, dst += image) {
        const uint8_t *record = bytes.data() + r * kCifarRecord;
        if (record[0] >= kCifarClasses) {
            file.fail("label " + std::to_string(record[0]) + " of record " + std::to_string(r) + " is outside 0..9");
        }
        out.labels.push_back(record[0]);
        const uint8_t *planes = record + 1;
        uint8_t *image_out = out.pixels.data() + dst;
        for (size_t c = 0; c < kCifarChannels; c++) {
            for (size_t p = 0; p < kCifarPlane; p++) image_out[p * kCifarChannels + c] = planes[c * kCifarPlane + p];
        }
    }
}

}  // namespace

void Dataset::truncate(int n) {
    if (n < 0) throw Error(name + ": cannot keep " + std::to_string(n) + " images: the limit must be >= 0");
    if (n >= count()) return;
    labels.resize(size_t(n));
    pixels.resize(size_t(n) * image_size());
}

Dataset load_idx(const std::string &images_path, const std::string &labels_path, int classes) {
    InputFile images(images_path), labels(labels_path);
    IdxImages header = read_image_header(images);
    uint32_t label_count = read_idx_header(labels, 0x00000801, "uint8 labels (n)")[0];
    if (label_count != header.count) {
        throw Error(images_path + " holds " + std::to_string(header.count) + " images but " + labels_path + " holds " +
                    std::to_string(label_count) + " labels");
    }

    Dataset data;
    data.name = images_path;
    data.channels = 1;
    data.width = int(header.cols);
    data.height = int(header.rows);
    data.classes = classes;
    data.labels = read_idx_labels(labels, label_count, classes);
    // IDX images are row-major rows x cols with one channel: already hnn's layout.
    std::string announced = std::to_string(header.count) + " images of " + std::to_string(header.rows) + "x" +
                            std::to_string(header.cols);
    data.pixels = read_idx_payload(images, uint64_t(header.count) * header.rows * header.cols, announced, "pixels");
    return data;
}

Dataset load_cifar10(const std::vector<std::string> &batch_files) {
    if (batch_files.empty()) throw Error("CIFAR-10: no batch files given");
    Dataset data;
    data.name = batch_files.front();
    data.channels = kCifarChannels;
    data.width = data.height = kCifarSide;
    data.classes = kCifarClasses;
    for (const std::string &path : batch_files) append_cifar_batch(path, data);
    return data;
}

}  // namespace hnn
