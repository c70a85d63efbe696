// libFuzzer target: the checkpoint reader (header, sizes, CRC-32, strings, tensors).
//
// Input: byte 0 bit 0 makes the harness write the payload's correct CRC-32 into the header and bit
// 1 the payload's true size, so that mutations reach the payload decoder instead of stopping at the
// checksum; the rest is the file.

#include "checkpoint_file.h"
#include "fuzz_support.h"
#include "hnn/error.h"

#include <set>

using namespace hnn;

namespace {

void put_le(uint8_t *p, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = uint8_t(v >> (8 * i));
}

void require_valid(const Checkpoint &c) {
    fuzz::require(c.epoch >= 0 && c.step >= 0, "accepted a negative epoch or step");
    std::set<std::string> names;
    for (const CheckpointTensor &t : c.tensors) {
        fuzz::require(!t.name.empty() && t.name.size() <= kCheckpointMaxNameBytes, "accepted a bad tensor name");
        fuzz::require(names.insert(t.name).second, "accepted a duplicate tensor name");
        fuzz::require(t.shape.size() <= kCheckpointMaxRank, "accepted a rank over the limit");
        size_t count = 1;
        for (int d : t.shape) {
            fuzz::require(d >= 1, "accepted a dimension < 1");
            count *= size_t(d);
        }
        fuzz::require(count == t.data.size(), "tensor data disagrees with its shape");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    fuzz::Bytes file(data + 1, data + size);
    if (file.size() >= kCheckpointHeaderBytes) {
        const uint8_t *payload = file.data() + kCheckpointHeaderBytes;
        const size_t payload_size = file.size() - kCheckpointHeaderBytes;
        if (mode & 1) put_le(file.data() + 12, crc32(crc32(0L, Z_NULL, 0), payload, uInt(payload_size)), 4);
        if (mode & 2) put_le(file.data() + 16, payload_size, 8);
    }
    static fuzz::MemoryFile memory;
    const std::string &path = memory.write(file);
    try {
        require_valid(read_checkpoint(path));
    } catch (const Error &e) {
        fuzz::require_names(e.what(), path);
    }
    return 0;
}
