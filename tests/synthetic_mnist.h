#pragma once
// A small learnable data set in MNIST's IDX format, for tests that run the trainer without the real
// files: class c is a bright 6x6 square at a class-dependent place, plus noise.

#include "temp_dir.h"

#include <cstdint>
#include <fstream>
#include <random>
#include <string>

namespace hnn::test {

inline void write_be32(std::ofstream &out, uint32_t v) {
    const unsigned char b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    out.write(reinterpret_cast<const char *>(b), 4);
}

// Writes DIR/PREFIX-images-idx3-ubyte and DIR/PREFIX-labels-idx1-ubyte with `count` 28x28 images.
inline void write_synthetic_mnist(const std::string &dir, const std::string &prefix, int count, uint32_t seed) {
    std::mt19937 rng(seed);
    std::ofstream images(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary);
    std::ofstream labels(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary);
    write_be32(images, 0x803);
    write_be32(images, count);
    write_be32(images, 28);
    write_be32(images, 28);
    write_be32(labels, 0x801);
    write_be32(labels, count);
    for (int i = 0; i < count; i++) {
        const int label = static_cast<int>(rng() % 10);
        const int x0 = 2 + (label % 5) * 5, y0 = 4 + (label / 5) * 12;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                const bool on = x >= x0 && x < x0 + 6 && y >= y0 && y < y0 + 6;
                images.put(static_cast<char>(on ? 200 + rng() % 56 : rng() % 60));
            }
        labels.put(static_cast<char>(label));
    }
    REQUIRE(images.good());
    REQUIRE(labels.good());
}

// A training set of `train` images and a test set of `test`, in a directory of their own.
struct SyntheticMnist {
    TempDir dir{"hnn-synthetic-mnist"};
    explicit SyntheticMnist(int train = 300, int test = 100) {
        write_synthetic_mnist(dir.path.string(), "train", train, 1);
        write_synthetic_mnist(dir.path.string(), "t10k", test, 2);
    }
};

}  // namespace hnn::test
