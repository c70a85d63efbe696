#pragma once
// The image datasets the trainer learns from: MNIST and Fashion-MNIST (IDX files, plain or gzipped)
// and CIFAR-10 (binary batches), found in a directory, read into bytes in hnn's layout
// (dataset_files.h), and turned into normalized batches.

#include "dataset_files.h"
#include "hnn/tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hnn {

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
