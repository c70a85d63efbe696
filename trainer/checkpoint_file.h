#pragma once
// The checkpoint file: a generic, crash-safe container for a training run's state. The trainer
// decides which tensors and what configuration go in; this file only guarantees that what is read
// back is exactly what was written, or an hnn::Error naming the file and the field at fault.
//
// Format, version 1. All integers little-endian, independent of the host.
//
//   header (24 bytes)
//     0  char[8]  magic "HNNCKPT\0"
//     8  uint32   format version (1)
//    12  uint32   CRC-32 (zlib crc32) of the payload bytes
//    16  uint64   payload size in bytes; the file is exactly 24 + this long
//   payload
//     int32   epoch                        >= 0
//     int64   step                         >= 0
//     string  config_json
//     string  rng_state
//     uint32  tensor count
//     per tensor:
//       string  name                       1..1024 bytes, unique within the file
//       uint32  rank                       0..8 (rank 0 is a scalar: one element)
//       int32   dims[rank]                 each >= 1
//       uint32  data[product(dims)]        IEEE-754 float bit patterns, stored unchanged
//   where string = uint32 byte length, then that many bytes (no terminator).
//
// The CRC covers the payload only; a damaged header shows up as a bad magic, an unknown version, a
// size that disagrees with the file, or a checksum mismatch. The writer enforces the same limits
// as the reader, so every file hnn writes, hnn can read.

#include <cstdint>
#include <string>
#include <vector>

namespace hnn {

inline constexpr uint32_t kCheckpointFormatVersion = 1;
inline constexpr size_t kCheckpointHeaderBytes = 24;
inline constexpr size_t kCheckpointMaxRank = 8;
inline constexpr size_t kCheckpointMaxNameBytes = 1024;

struct CheckpointTensor {
    std::string name;          // e.g. "conv3.filter", "adam.m.conv3.filter"
    std::vector<int> shape;
    std::vector<float> data;   // product(shape) elements
};

struct Checkpoint {
    int epoch = 0;                 // epochs completed
    int64_t step = 0;              // optimizer steps taken
    std::string config_json;       // the run's full configuration (JSON text)
    std::string rng_state;         // opaque text (e.g. a streamed std::mt19937_64)
    std::vector<CheckpointTensor> tensors;

    const CheckpointTensor *find(const std::string &name) const;  // nullptr when absent
};

// Atomic: writes FILE.tmp.<pid> beside FILE, fsyncs it, renames it over FILE, fsyncs the directory.
// A crash at any point leaves either the previous FILE or the new one, never a mix. On failure the
// temporary is removed, the previous FILE is untouched, and hnn::Error names the file. A checkpoint
// the reader would reject (bad shape, data size, duplicate name, ...) is refused before any I/O.
void write_checkpoint(const std::string &path, const Checkpoint &checkpoint);

// Validates everything before trusting it: magic, format version, header sizes against the file
// size, CRC-32 of the payload, string/rank/shape limits, element counts. Never allocates more than
// the file holds. Errors name the file and the field.
Checkpoint read_checkpoint(const std::string &path);

}  // namespace hnn
