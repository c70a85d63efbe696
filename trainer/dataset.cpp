#include "dataset.h"

#include "hnn/error.h"

#include <cmath>
#include <filesystem>

namespace hnn {

namespace {

namespace fs = std::filesystem;

// The first of `names` that exists in dir, or an error naming all of them.
std::string find_file(const std::string &dataset, const std::string &dir, const std::string &what,
                      const std::vector<std::string> &names, const std::string &hint) {
    for (const std::string &name : names) {
        fs::path path = fs::path(dir) / name;
        std::error_code ec;
        if (fs::is_regular_file(path, ec)) return path.string();
    }
    std::string looked;
    for (const std::string &name : names) looked += (looked.empty() ? "" : ", ") + name;
    std::error_code ec;
    std::string where = fs::is_directory(dir, ec) ? "in " + dir : "because the directory " + dir + " does not exist";
    throw Error(dataset + ": no " + what + " " + where + " (looked for " + looked + ")" + hint);
}

// MNIST's own names and the dotted ones some distributions use, each plain or gzipped.
std::vector<std::string> idx_names(const std::string &stem, const std::string &kind) {
    std::vector<std::string> names;
    for (const std::string &base : {stem + "-" + kind, stem + "." + kind}) {
        names.push_back(base);
        names.push_back(base + ".gz");
    }
    return names;
}

[[noreturn]] void unknown_dataset(const std::string &dataset) {
    throw Error("unknown dataset '" + dataset + "' (expected mnist, fashion-mnist or cifar10)");
}

std::string image_shape(const Dataset &data) {
    return std::to_string(data.channels) + "x" + std::to_string(data.width) + "x" + std::to_string(data.height);
}

// Tensor's own shape_string needs a tensor, and a requested count may not make a valid one.
std::string activation_shape(int c, int x, int y, int n) {
    return "(c=" + std::to_string(c) + ", x=" + std::to_string(x) + ", y=" + std::to_string(y) +
           ", n=" + std::to_string(n) + ")";
}

std::string fetch_hint(const std::string &dataset) {
    if (dataset == "mnist") return "; scripts/fetch-mnist.sh downloads it into data/mnist";
    if (dataset == "fashion-mnist") return "; Debian's dataset-fashion-mnist package installs it";
    return "; the binary version of CIFAR-10 (cifar-10-binary.tar.gz) holds these files";
}

DatasetSplit load_idx_dataset(const std::string &dataset, const std::string &dir) {
    auto find = [&](const std::string &what, const std::string &stem, const std::string &kind) {
        return find_file(dataset, dir, what, idx_names(stem, kind), fetch_hint(dataset));
    };
    std::string train_images = find("training images", "train-images", "idx3-ubyte");
    std::string train_labels = find("training labels", "train-labels", "idx1-ubyte");
    std::string test_images = find("test images", "t10k-images", "idx3-ubyte");
    std::string test_labels = find("test labels", "t10k-labels", "idx1-ubyte");
    DatasetSplit split{load_idx(train_images, train_labels), load_idx(test_images, test_labels)};
    return split;
}

DatasetSplit load_cifar10_dataset(const std::string &dir) {
    // The official archive unpacks into cifar-10-batches-bin/; accept either directory.
    std::string root = dir;
    const fs::path unpacked = fs::path(dir) / "cifar-10-batches-bin";
    std::error_code ec;
    if (!fs::exists(fs::path(dir) / "data_batch_1.bin", ec) && fs::is_directory(unpacked, ec)) root = unpacked.string();
    auto find = [&](const std::string &what, const std::string &name) {
        return find_file("cifar10", root, what, {name}, fetch_hint("cifar10"));
    };
    std::vector<std::string> train_files;
    for (int i = 1; i <= 5; i++) {
        train_files.push_back(find("training batch " + std::to_string(i), "data_batch_" + std::to_string(i) + ".bin"));
    }
    std::string test_file = find("test batch", "test_batch.bin");
    return DatasetSplit{load_cifar10(train_files), load_cifar10({test_file})};
}

struct Moments {
    double mean = 0, std_dev = 0;
};

// Mean and (population) standard deviation of byte/255, from a 256-bin histogram of the bytes.
Moments unit_moments(const uint64_t *histogram) {
    double count = 0, sum = 0;
    for (int v = 0; v < 256; v++) {
        count += double(histogram[v]);
        sum += double(histogram[v]) * (v / 255.0);
    }
    Moments m;
    m.mean = sum / count;
    double variance = 0;
    for (int v = 0; v < 256; v++) {
        double d = v / 255.0 - m.mean;
        variance += double(histogram[v]) * d * d;
    }
    m.std_dev = std::sqrt(variance / count);
    return m;
}

}  // namespace

std::string default_data_dir(const std::string &dataset) {
    if (dataset == "mnist") return "data/mnist";
    if (dataset == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
    if (dataset == "cifar10") return "data/cifar10";
    unknown_dataset(dataset);
}

DatasetSplit load_dataset(const std::string &dataset, const std::string &dir) {
    DatasetSplit split;
    if (dataset == "mnist" || dataset == "fashion-mnist") {
        split = load_idx_dataset(dataset, dir);
    } else if (dataset == "cifar10") {
        split = load_cifar10_dataset(dir);
    } else {
        unknown_dataset(dataset);
    }
    if (image_shape(split.train) != image_shape(split.test)) {
        throw Error(dataset + " in " + dir + ": training images are " + image_shape(split.train) +
                    " (c x w x h) but test images are " + image_shape(split.test));
    }
    split.train.name = dataset + " train";
    split.test.name = dataset + " test";
    return split;
}

Normalization parse_normalization(const std::string &text) {
    for (Normalization n : {Normalization::none, Normalization::unit, Normalization::standardize}) {
        if (text == normalization_name(n)) return n;
    }
    throw Error("unknown normalization '" + text + "' (expected none, unit or standardize)");
}

const char *normalization_name(Normalization n) {
    switch (n) {
    case Normalization::none: return "none";
    case Normalization::unit: return "unit";
    case Normalization::standardize: return "standardize";
    }
    return "unknown";
}

Normalizer Normalizer::fit(const Dataset &train, Normalization mode) {
    if (train.channels <= 0) throw Error(train.name + ": cannot fit a normalizer to a dataset without channels");
    Normalizer n;
    n.mode = mode;
    const size_t C = size_t(train.channels);
    n.scale.assign(C, mode == Normalization::none ? 1.0f : 1.0f / 255.0f);
    n.shift.assign(C, 0.0f);
    if (mode != Normalization::standardize) return n;

    if (train.count() == 0) throw Error(train.name + ": cannot standardize with the statistics of an empty dataset");
    // Histograms make the statistics exact and cheap: 256 values per channel, summed in double.
    std::vector<uint64_t> histogram(C * 256, 0);
    for (size_t i = 0; i < train.pixels.size(); i++) histogram[(i % C) * 256 + train.pixels[i]]++;
    for (size_t c = 0; c < C; c++) {
        Moments m = unit_moments(histogram.data() + c * 256);
        if (!(m.std_dev > 1e-12)) m.std_dev = 1;
        n.scale[c] = float(1 / (255.0 * m.std_dev));
        n.shift[c] = float(-m.mean / m.std_dev);
    }
    return n;
}

void load_batch(const Dataset &data, const Normalizer &normalizer, const std::vector<int> &order, int first, int count,
                Tensor &images, std::vector<int32_t> &labels) {
    if (images.shape() != std::vector<int>{data.channels, data.width, data.height, count}) {
        throw Error(data.name + ": batch tensor is " + images.shape_string() + " but " + std::to_string(count) +
                    " images need " + activation_shape(data.channels, data.width, data.height, count));
    }
    if (first < 0 || size_t(first) + size_t(count) > order.size()) {
        throw Error(data.name + ": batch of " + std::to_string(count) + " from position " + std::to_string(first) +
                    " is outside the order's " + std::to_string(order.size()) + " entries");
    }
    const size_t C = size_t(data.channels);
    if (normalizer.scale.size() != C || normalizer.shift.size() != C) {
        throw Error(data.name + ": normalizer is fitted for " + std::to_string(normalizer.scale.size()) +
                    " channels but the images have " + std::to_string(C));
    }
    const size_t image = data.image_size();
    float *dst = images.host();
    labels.resize(size_t(count));
    for (int k = 0; k < count; k++) {
        const int index = order[size_t(first + k)];
        if (index < 0 || index >= data.count()) {
            throw Error(data.name + ": order entry " + std::to_string(first + k) + " is image " +
                        std::to_string(index) + " but the dataset holds " + std::to_string(data.count()));
        }
        const uint8_t *src = data.pixels.data() + size_t(index) * image;
        float *out = dst + size_t(k) * image;
        for (size_t p = 0; p < image; p++) out[p] = float(src[p]) * normalizer.scale[p % C] + normalizer.shift[p % C];
        labels[size_t(k)] = data.labels[size_t(index)];
    }
    images.host_changed();
}

}  // namespace hnn
