#pragma once
// The image dataset file formats: IDX files (MNIST, Fashion-MNIST; plain or gzipped) and CIFAR-10
// binary batches, read into bytes in hnn's layout. Apart from the kernels and tensors, so that the
// readers can be fuzzed on their own.
//
// Every reader trusts nothing in a file: magic numbers, dimensions, record sizes and labels are
// checked, sizes are compared with what the file actually holds before anything is allocated, and
// every failure is an hnn::Error naming the file and the field at fault.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hnn {

// Images as bytes, in hnn's layout (channels innermost): image i, pixel (c, x, y) is at
// pixels[((i * height + y) * width + x) * channels + c].
struct Dataset {
    std::string name;  // e.g. "mnist train"
    int channels = 0, width = 0, height = 0;
    int classes = 10;
    std::vector<uint8_t> pixels;
    std::vector<int32_t> labels;

    int count() const { return static_cast<int>(labels.size()); }
    size_t image_size() const { return size_t(channels) * size_t(width) * size_t(height); }
    // Keeps the first n images (for --train-limit / --test-limit); n > count() keeps them all.
    void truncate(int n);
};

// An IDX image file (magic 0x00000803: uint8, n x rows x cols, big-endian header) and its label
// file (magic 0x00000801), each plain or gzipped. Checks magic, dimensions, sizes (truncated or
// trailing data), counts that differ between the two files, and labels >= classes.
// The dataset's name is the image file's path.
Dataset load_idx(const std::string &images_path, const std::string &labels_path, int classes = 10);

// CIFAR-10 binary batches (plain or gzipped): records of 1 label byte + 3072 pixel bytes (1024 R,
// 1024 G, 1024 B, each 32x32 row-major), converted to channels innermost. Checks that each file is
// a whole number of records and that labels are 0..9. The dataset's name is the first file's path.
Dataset load_cifar10(const std::vector<std::string> &batch_files);

}  // namespace hnn
