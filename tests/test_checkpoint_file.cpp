// The checkpoint container (trainer/checkpoint_file.h): exact round trips, the documented byte
// layout, rejection of every kind of damaged or malicious file with an error naming the file and
// field, and atomic replacement that leaves the previous checkpoint intact when a write fails.

#include "checkpoint_file.h"
#include "temp_dir.h"
#include "hnn/error.h"

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cfloat>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>

using namespace hnn;
namespace fs = std::filesystem;

namespace {

using hnn::test::TempDir;

std::string read_bytes(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string &path, const std::string &bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    REQUIRE(out);
}

// The hnn::Error message `action` throws; fails the test if it throws nothing or something else.
template<typename Action>
std::string error_from(Action action) {
    try {
        action();
    } catch (const Error &e) {
        return e.what();
    } catch (const std::exception &e) {
        FAIL("expected hnn::Error, got another exception: " << e.what());
    }
    FAIL("expected hnn::Error, nothing was thrown");
    return "";
}

std::string read_error(const std::string &path) {
    return error_from([&] { read_checkpoint(path); });
}

float from_bits(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

Checkpoint sample_checkpoint() {
    Checkpoint c;
    c.epoch = 7;
    c.step = int64_t(1) << 40;
    c.config_json = R"({"lr": 0.001, "layers": ["conv3", "relu"], "note": "ünïcödé"})";
    c.rng_state = std::string("1234 5678\n9 ") + '\0' + " embedded NUL";
    c.tensors.push_back({"conv1.filter",
                         {2, 3, 1, 2},
                         {-0.0f, 0.0f, std::numeric_limits<float>::denorm_min(), -FLT_MIN, FLT_MAX, -FLT_MAX,
                          std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(), from_bits(0x7fc12345), 1.0f / 3, -2.5e-39f}});
    c.tensors.push_back({"adam.m.conv1.filter", {12}, std::vector<float>(12, 0.125f)});
    c.tensors.push_back({"scalar", {}, {42.0f}});
    return c;
}

void require_same(const Checkpoint &got, const Checkpoint &want) {
    CHECK(got.epoch == want.epoch);
    CHECK(got.step == want.step);
    CHECK(got.config_json == want.config_json);
    CHECK(got.rng_state == want.rng_state);
    REQUIRE(got.tensors.size() == want.tensors.size());
    for (size_t i = 0; i < want.tensors.size(); i++) {
        INFO("tensor " << want.tensors[i].name);
        CHECK(got.tensors[i].name == want.tensors[i].name);
        CHECK(got.tensors[i].shape == want.tensors[i].shape);
        CHECK(same_bits(got.tensors[i].data, want.tensors[i].data));
    }
}

// Builds files by hand, so tests can produce well-checksummed files no sane writer would make.
class Bytes {
public:
    Bytes &u32(uint32_t v) { return le(v, 4); }
    Bytes &u64(uint64_t v) { return le(v, 8); }
    Bytes &str(const std::string &s) {
        u32(uint32_t(s.size()));
        bytes += s;
        return *this;
    }
    Bytes &f32(float f) {
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        return u32(bits);
    }
    std::string bytes;

private:
    Bytes &le(uint64_t v, int n) {
        for (int i = 0; i < n; i++) bytes.push_back(char((v >> (8 * i)) & 0xff));
        return *this;
    }
};

// epoch, step, config_json, rng_state: everything before the tensor count.
Bytes payload_prefix() {
    Bytes b;
    b.u32(1).u64(10).str("{}").str("rng");
    return b;
}

std::string file_with(const std::string &payload, uint32_t version = kCheckpointFormatVersion) {
    Bytes header;
    header.bytes = std::string("HNNCKPT\0", 8);
    uLong crc = crc32(0L, reinterpret_cast<const Bytef *>(payload.data()), uInt(payload.size()));
    header.u32(version).u32(uint32_t(crc)).u64(payload.size());
    return header.bytes + payload;
}

// Undoes a lowered file-size limit (and the ignored SIGXFSZ that goes with it) however the test ends.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        ::getrlimit(RLIMIT_FSIZE, &saved_);
        previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        rlimit lowered = saved_;
        lowered.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &lowered);
    }
    FileSizeLimit(const FileSizeLimit &) = delete;
    FileSizeLimit &operator=(const FileSizeLimit &) = delete;
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &saved_);
        std::signal(SIGXFSZ, previous_handler_);
    }

private:
    rlimit saved_{};
    void (*previous_handler_)(int);
};

}  // namespace

TEST_CASE("checkpoint: round trip preserves every field bit-exactly") {
    TempDir dir;
    const std::string path = (dir / "run.ckpt");
    const Checkpoint c = sample_checkpoint();
    write_checkpoint(path, c);
    require_same(read_checkpoint(path), c);
    CHECK(dir.entries() == std::set<std::string>{"run.ckpt"});
}

TEST_CASE("checkpoint: empty strings and no tensors round trip") {
    TempDir dir;
    const std::string path = (dir / "empty.ckpt");
    write_checkpoint(path, Checkpoint{});
    Checkpoint got = read_checkpoint(path);
    require_same(got, Checkpoint{});
    CHECK(got.find("anything") == nullptr);
}

TEST_CASE("checkpoint: limits are inclusive: rank 8 and 1024-byte names are accepted") {
    TempDir dir;
    const std::string path = (dir / "limits.ckpt");
    Checkpoint c;
    c.tensors.push_back({std::string(kCheckpointMaxNameBytes, 'n'), std::vector<int>(kCheckpointMaxRank, 1), {3.0f}});
    write_checkpoint(path, c);
    require_same(read_checkpoint(path), c);
}

TEST_CASE("checkpoint: a relative path writes into the current directory") {
    TempDir dir;
    const fs::path before = fs::current_path();
    fs::current_path((dir / ""));
    const Checkpoint c = sample_checkpoint();
    std::string error;
    try {
        write_checkpoint("relative.ckpt", c);
        require_same(read_checkpoint("relative.ckpt"), c);
    } catch (const std::exception &e) {
        error = e.what();
    }
    fs::current_path(before);
    REQUIRE(error.empty());
    CHECK(dir.entries() == std::set<std::string>{"relative.ckpt"});
}

TEST_CASE("checkpoint: the file layout is the documented version-1 format") {
    TempDir dir;
    const std::string path = (dir / "layout.ckpt");
    Checkpoint c;
    c.epoch = 2;
    c.step = 0x0102030405;
    c.config_json = "{}";
    c.rng_state = "r";
    c.tensors.push_back({"w", {2, 1}, {1.0f, -0.0f}});
    write_checkpoint(path, c);

    Bytes payload;
    payload.u32(2).u64(0x0102030405).str("{}").str("r").u32(1);
    payload.str("w").u32(2).u32(2).u32(1).u32(0x3f800000).u32(0x80000000);
    CHECK(read_bytes(path) == file_with(payload.bytes));
}

TEST_CASE("checkpoint: find returns the named tensor or nullptr") {
    const Checkpoint c = sample_checkpoint();
    const CheckpointTensor *t = c.find("adam.m.conv1.filter");
    REQUIRE(t != nullptr);
    CHECK(t == &c.tensors[1]);
    CHECK(c.find("scalar") == &c.tensors[2]);
    CHECK(c.find("conv1") == nullptr);
    CHECK(c.find("") == nullptr);
    CHECK(c.find("conv1.filter ") == nullptr);
}

TEST_CASE("checkpoint: any flipped payload byte is a checksum error naming the file") {
    TempDir dir;
    const std::string path = (dir / "flip.ckpt");
    write_checkpoint(path, sample_checkpoint());
    const std::string good = read_bytes(path);
    for (size_t i = kCheckpointHeaderBytes; i < good.size(); i++) {
        for (unsigned char mask : {0x01, 0x80}) {
            std::string bad = good;
            bad[i] = char(bad[i] ^ mask);
            write_bytes(path, bad);
            std::string message = read_error(path);
            INFO("byte " << i << " mask " << int(mask) << ": " << message);
            REQUIRE(message == "checkpoint " + path + ": checksum mismatch (file is corrupt or was modified)");
        }
    }
}

TEST_CASE("checkpoint: any flipped header byte is rejected naming the file") {
    TempDir dir;
    const std::string path = (dir / "header.ckpt");
    write_checkpoint(path, sample_checkpoint());
    const std::string good = read_bytes(path);
    for (size_t i = 0; i < kCheckpointHeaderBytes; i++) {
        for (unsigned char mask : {0x01, 0x80}) {
            std::string bad = good;
            bad[i] = char(bad[i] ^ mask);
            write_bytes(path, bad);
            std::string message = read_error(path);
            INFO("byte " << i << " mask " << int(mask) << ": " << message);
            REQUIRE_THAT(message, Catch::StartsWith("checkpoint " + path + ": "));
        }
    }
}

TEST_CASE("checkpoint: truncated files are rejected naming the file") {
    TempDir dir;
    const std::string path = (dir / "cut.ckpt");
    write_checkpoint(path, sample_checkpoint());
    const std::string good = read_bytes(path);
    const size_t payload = good.size() - kCheckpointHeaderBytes;
    for (size_t cut : {size_t(0), size_t(1), size_t(7), size_t(8), size_t(12), size_t(23), size_t(24), size_t(25),
                       good.size() / 2, good.size() - 4, good.size() - 1}) {
        write_bytes(path, good.substr(0, cut));
        std::string message = read_error(path);
        INFO("cut at " << cut << ": " << message);
        REQUIRE_THAT(message, Catch::StartsWith("checkpoint " + path + ": truncated"));
        if (cut >= kCheckpointHeaderBytes) {
            CHECK_THAT(message, Catch::Contains("header says " + std::to_string(payload) + " payload bytes, file holds " +
                                                std::to_string(cut - kCheckpointHeaderBytes)));
        }
    }
}

TEST_CASE("checkpoint: a header claiming more payload than the file holds is refused before allocating it") {
    TempDir dir;
    const std::string path = (dir / "liar.ckpt");
    write_checkpoint(path, sample_checkpoint());
    const std::string good = read_bytes(path);
    const size_t held = good.size() - kCheckpointHeaderBytes;
    for (uint64_t claimed : {uint64_t(held) + 1, uint64_t(1) << 40, ~uint64_t(0)}) {
        std::string liar = good;
        for (size_t i = 0; i < 8; i++) liar[16 + i] = char(claimed >> (8 * i));
        write_bytes(path, liar);
        CHECK(read_error(path) == "checkpoint " + path + ": truncated: header says " + std::to_string(claimed) +
                                      " payload bytes, file holds " + std::to_string(held));
    }
}

TEST_CASE("checkpoint: trailing bytes after the payload are rejected") {
    TempDir dir;
    const std::string path = (dir / "long.ckpt");
    write_checkpoint(path, sample_checkpoint());
    write_bytes(path, read_bytes(path) + "x");
    CHECK_THAT(read_error(path), Catch::Contains(path) && Catch::Contains("trailing data"));
}

TEST_CASE("checkpoint: a file that is not a checkpoint is rejected by its magic") {
    TempDir dir;
    const std::string path = (dir / "other.ckpt");
    for (const std::string &content : {std::string("{\"not\": \"a checkpoint\"}"), std::string("HNNCKPT1") +
                                                                                       std::string(40, '\0'),
                                       std::string("X")}) {
        write_bytes(path, content);
        CHECK(read_error(path) == "checkpoint " + path + ": not an hnn checkpoint (bad magic bytes)");
    }
}

TEST_CASE("checkpoint: a newer format version names both versions") {
    TempDir dir;
    const std::string path = (dir / "future.ckpt");
    write_bytes(path, file_with(payload_prefix().u32(0).bytes, 2));
    CHECK_THAT(read_error(path), Catch::StartsWith("checkpoint " + path + ": format version 2 is newer") &&
                                     Catch::Contains("(version 1)"));
    write_bytes(path, file_with(payload_prefix().u32(0).bytes, 0));
    CHECK_THAT(read_error(path), Catch::Contains(path) && Catch::Contains("version 0"));
}

TEST_CASE("checkpoint: missing files, directories and FIFOs are errors, not crashes or hangs") {
    TempDir dir;
    const std::string missing = (dir / "missing.ckpt");
    CHECK(read_error(missing) == "checkpoint " + missing + ": cannot open: No such file or directory");
    CHECK(read_error((dir / "")) == "checkpoint " + (dir / "") + ": not a regular file");
    const std::string fifo = (dir / "fifo.ckpt");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(read_error(fifo) == "checkpoint " + fifo + ": not a regular file");
    CHECK(read_error("") == "checkpoint path is empty");
}

TEST_CASE("checkpoint: writing over an existing checkpoint replaces it") {
    TempDir dir;
    const std::string path = (dir / "run.ckpt");
    write_checkpoint(path, sample_checkpoint());
    Checkpoint next;
    next.epoch = 8;
    next.config_json = "{\"lr\": 0.5}";
    next.tensors.push_back({"only", {1}, {9.0f}});
    write_checkpoint(path, next);
    require_same(read_checkpoint(path), next);
    CHECK(dir.entries() == std::set<std::string>{"run.ckpt"});
}

TEST_CASE("checkpoint: writing into a missing directory fails and leaves nothing") {
    TempDir dir;
    const std::string path = (dir / "no-such-dir/run.ckpt");
    std::string message = error_from([&] { write_checkpoint(path, sample_checkpoint()); });
    CHECK_THAT(message, Catch::StartsWith("checkpoint " + path + ": cannot create temporary file"));
    CHECK(dir.entries().empty());
}

TEST_CASE("checkpoint: writing over a directory fails and removes the temporary") {
    TempDir dir;
    const std::string path = (dir / "is-a-dir");
    fs::create_directory(path);
    write_bytes((dir / "is-a-dir/keep"), "kept");
    std::string message = error_from([&] { write_checkpoint(path, sample_checkpoint()); });
    CHECK_THAT(message, Catch::StartsWith("checkpoint " + path + ": cannot rename"));
    CHECK(dir.entries() == std::set<std::string>{"is-a-dir"});
    CHECK(read_bytes((dir / "is-a-dir/keep")) == "kept");
}

TEST_CASE("checkpoint: a write that fails midway keeps the previous file byte-identical") {
    TempDir dir;
    const std::string path = (dir / "run.ckpt");
    write_checkpoint(path, sample_checkpoint());
    const std::string before = read_bytes(path);

    Checkpoint big = sample_checkpoint();
    big.tensors.push_back({"big", {256, 1024}, std::vector<float>(256 * 1024, 1.0f)});
    std::string message;
    {
        // The kernel refuses to grow any file past this: the disk-full failure, on demand.
        FileSizeLimit limit(64 * 1024);
        message = error_from([&] { write_checkpoint(path, big); });
    }
    CHECK_THAT(message, Catch::StartsWith("checkpoint " + path + ": cannot write temporary file " + path + ".tmp."));
    CHECK(read_bytes(path) == before);
    CHECK(dir.entries() == std::set<std::string>{"run.ckpt"});
    require_same(read_checkpoint(path), sample_checkpoint());
}

TEST_CASE("checkpoint: checkpoints the reader would reject are refused before any write") {
    TempDir dir;
    const std::string path = (dir / "run.ckpt");
    write_checkpoint(path, sample_checkpoint());
    const std::string before = read_bytes(path);

    struct Case {
        const char *what;
        void (*spoil)(Checkpoint &);
        const char *message;
    };
    const Case cases[] = {
        {"data size", [](Checkpoint &c) { c.tensors[1].data.pop_back(); },
         "tensor 1 ('adam.m.conv1.filter'): shape [12] does not match its 11 data elements"},
        {"duplicate", [](Checkpoint &c) { c.tensors[2].name = "conv1.filter"; },
         "tensor 2 ('conv1.filter'): name appears more than once"},
        {"empty name", [](Checkpoint &c) { c.tensors[0].name.clear(); }, "tensor 0: name is empty"},
        {"long name", [](Checkpoint &c) { c.tensors[0].name.assign(1025, 'x'); }, "name is 1025 bytes, over the limit of 1024"},
        {"rank", [](Checkpoint &c) { c.tensors[2].shape.assign(9, 1); }, "tensor 2 ('scalar'): rank 9 exceeds the limit of 8"},
        {"zero dim", [](Checkpoint &c) { c.tensors[1].shape = {12, 0}; }, "shape [12, 0] has a dimension < 1"},
        {"negative dim", [](Checkpoint &c) { c.tensors[1].shape = {-12}; }, "shape [-12] has a dimension < 1"},
        {"overflowing shape", [](Checkpoint &c) { c.tensors[1].shape.assign(8, std::numeric_limits<int>::max()); },
         "does not match its 12 data elements"},
        {"epoch", [](Checkpoint &c) { c.epoch = -1; }, "epoch is -1, must be >= 0"},
        {"step", [](Checkpoint &c) { c.step = -5; }, "step is -5, must be >= 0"},
    };
    for (const Case &k : cases) {
        INFO(k.what);
        Checkpoint c = sample_checkpoint();
        k.spoil(c);
        std::string message = error_from([&] { write_checkpoint(path, c); });
        CHECK_THAT(message, Catch::StartsWith("checkpoint " + path + ": ") && Catch::Contains(k.message));
        CHECK(read_bytes(path) == before);
        CHECK(dir.entries() == std::set<std::string>{"run.ckpt"});
    }
    CHECK(error_from([] { write_checkpoint("", Checkpoint{}); }) == "checkpoint path is empty");
}

TEST_CASE("checkpoint: malformed payloads with a valid checksum are rejected by field") {
    TempDir dir;
    const std::string path = (dir / "crafted.ckpt");
    const uint32_t huge = std::numeric_limits<uint32_t>::max();
    const uint32_t max_int = uint32_t(std::numeric_limits<int32_t>::max());
    struct Case {
        const char *what;
        std::string payload;
        std::string message;
    };
    auto tensor = [](const std::string &name, std::vector<uint32_t> dims) {
        Bytes b;
        b.str(name).u32(uint32_t(dims.size()));
        for (uint32_t d : dims) b.u32(d);
        return b.bytes;
    };
    const std::string one_float = Bytes().f32(1.0f).bytes;
    const std::vector<Case> cases = {
        {"empty payload", "", "epoch: payload ends inside it (needs 4 bytes, 0 left)"},
        {"negative epoch", Bytes().u32(uint32_t(-3)).u64(0).str("").str("").u32(0).bytes, "epoch: -3 is negative"},
        {"negative step", Bytes().u32(0).u64(uint64_t(-1)).str("").str("").u32(0).bytes, "step: -1 is negative"},
        {"config length past the end", Bytes().u32(0).u64(0).u32(huge).bytes,
         "config_json: payload ends inside it (needs 4294967295 bytes, 0 left)"},
        {"rng_state cut short", Bytes().u32(0).u64(0).str("{}").u32(10).bytes + "abc",
         "rng_state: payload ends inside it (needs 10 bytes, 3 left)"},
        {"missing tensor count", payload_prefix().bytes, "tensor count: payload ends inside it (needs 4 bytes, 0 left)"},
        {"tensor count with no tensors", payload_prefix().u32(huge).bytes, "tensor 0 name length: payload ends inside it (needs 4 bytes, 0 left)"},
        {"name length past the end", payload_prefix().u32(1).u32(huge).bytes, "tensor 0 name: payload ends inside it (needs 4294967295 bytes, 0 left)"},
        {"empty name", payload_prefix().u32(1).bytes + tensor("", {1}) + one_float, "tensor 0: name is empty"},
        {"long name", payload_prefix().u32(1).bytes + tensor(std::string(1025, 'a'), {1}) + one_float,
         "tensor 0: name is 1025 bytes, over the limit of 1024"},
        {"rank", payload_prefix().u32(1).bytes + tensor("w", std::vector<uint32_t>(9, 1)) + one_float,
         "tensor 0 ('w'): rank 9 exceeds the limit of 8"},
        {"huge rank", payload_prefix().u32(1).bytes + tensor("w", {}).substr(0, 5) + Bytes().u32(huge).bytes,
         "tensor 0 ('w'): rank 4294967295 exceeds the limit of 8"},
        {"zero dim", payload_prefix().u32(1).bytes + tensor("w", {2, 0}), "tensor 0 ('w'): shape [2, 0] has a dimension < 1"},
        {"negative dim", payload_prefix().u32(1).bytes + tensor("w", {uint32_t(-4)}) + one_float,
         "tensor 0 ('w'): shape [-4] has a dimension < 1"},
        {"dims past the end", payload_prefix().u32(1).bytes + tensor("w", {}).substr(0, 5) + Bytes().u32(3).u32(2).bytes,
         "tensor 0 ('w') dimension 1: payload ends inside it (needs 4 bytes, 0 left)"},
        {"element count overflowing 64 bits",
         payload_prefix().u32(1).bytes + tensor("w", std::vector<uint32_t>(8, max_int)) + one_float,
         "tensor 0 ('w'): shape [2147483647, 2147483647, 2147483647, 2147483647, 2147483647, 2147483647, 2147483647, "
         "2147483647] needs more data than the 4 payload bytes left"},
        {"data cut short", payload_prefix().u32(1).bytes + tensor("w", {3}) + one_float + one_float,
         "tensor 0 ('w'): shape [3] needs more data than the 8 payload bytes left"},
        {"duplicate name", payload_prefix().u32(2).bytes + tensor("w", {1}) + one_float + tensor("w", {1}) + one_float,
         "tensor 1 ('w'): name appears more than once"},
        {"unexplained bytes", payload_prefix().u32(1).bytes + tensor("w", {1}) + one_float + "??",
         "2 unexplained bytes after the last tensor"},
    };
    for (const Case &k : cases) {
        INFO(k.what);
        write_bytes(path, file_with(k.payload));
        CHECK(read_error(path) == "checkpoint " + path + ": " + k.message);
    }
}
