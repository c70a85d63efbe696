#pragma once
// The image datasets the trainer learns from: MNIST and Fashion-MNIST (IDX files, plain or gzipped)
// and CIFAR-10 (binary batches), read into bytes in hnn's layout, and turned into normalized batches.
//
// Every reader trusts nothing in a file: magic numbers, dimensions, record sizes and labels are
// checked, sizes are compared with what the file actually holds before anything is allocated, and
// every failure is an hnn::Error naming the file and the field at fault.

#include "hnn/tensor.h"

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

struct DatasetSplit {
    Dataset train, test;
};

// "mnist" -> "data/mnist", "fashion-mnist" -> "/usr/share/datasets/fashion-mnist",
// "cifar10" -> "data/cifar10". Unknown names -> hnn::Error.
std::string default_data_dir(const std::string &dataset);

// dataset: "mnist" | "fashion-mnist" (IDX files) | "cifar10" (binary batches data_batch_1..5.bin,
// test_batch.bin, in dir or in dir/cifar-10-batches-bin as the official archive unpacks).
// IDX files are found under any of the names distributions use: train-images-idx3-ubyte,
// train-images.idx3-ubyte, each optionally with ".gz" (likewise train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte).
// Unknown names or missing files -> hnn::Error naming what was looked for and where.
DatasetSplit load_dataset(const std::string &dataset, const std::string &dir);

// An IDX image file (magic 0x00000803: uint8, n x rows x cols, big-endian header) and its label
// file (magic 0x00000801), each plain or gzipped. Checks magic, dimensions, sizes (truncated or
// trailing data), counts that differ between the two files, and labels >= classes.
// The dataset's name is the image file's path.
Dataset load_idx(const std::string &images_path, const std::string &labels_path, int classes = 10);

// CIFAR-10 binary batches (plain or gzipped): records of 1 label byte + 3072 pixel bytes (1024 R,
// 1024 G, 1024 B, each 32x32 row-major), converted to channels innermost. Checks that each file is
// a whole number of records and that labels are 0..9. The dataset's name is the first file's path.
Dataset load_cifar10(const std::vector<std::string> &batch_files);

enum class Normalization { none, unit, standardize };

// "none" (raw 0..255 as floats), "unit" (x/255), "standardize" (per channel (x/255 - mean)/std, with
// the mean and std of the training set). Unknown text -> hnn::Error naming it.
Normalization parse_normalization(const std::string &text);
const char *normalization_name(Normalization n);

struct Normalizer {
    Normalization mode = Normalization::unit;
    std::vector<float> scale, shift;  // per channel: value = byte * scale[c] + shift[c]

    // Standardize computes the per-channel mean and std of `train` in double; a channel that is
    // constant keeps std 1 so that it maps to 0 instead of dividing by zero.
    static Normalizer fit(const Dataset &train, Normalization mode);
};

// Writes images order[first .. first+count) of `data` into `images` (shape (C, W, H, count), else
// hnn::Error naming both shapes) normalized, and their labels into `labels` (resized to count).
// Indices in `order` outside the dataset and ranges outside `order` are errors too.
void load_batch(const Dataset &data, const Normalizer &normalizer, const std::vector<int> &order, int first, int count,
                Tensor &images, std::vector<int32_t> &labels);

}  // namespace hnn
