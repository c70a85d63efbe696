// libFuzzer target: the IDX reader (MNIST / Fashion-MNIST images and labels, plain or gzipped).
//
// Input: byte 0 selects how the two files are stored (bit 0: gzip the image file, bit 1: gzip the
// label file; otherwise stored as given, so inputs that are already gzip streams, whole or broken,
// reach the reader too); bytes 1-2 (big-endian) are the label file's length, clipped to what is
// left; the label file follows, then the image file takes the rest.

#include "dataset_files.h"
#include "fuzz_support.h"
#include "hnn/error.h"

using namespace hnn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    const uint8_t mode = data[0];
    size_t label_bytes = std::min(size_t(data[1]) << 8 | data[2], size - 3);
    const uint8_t *labels = data + 3, *images = labels + label_bytes;
    const size_t image_bytes = size - 3 - label_bytes;

    static fuzz::MemoryFile image_file, label_file;
    auto store = [](fuzz::MemoryFile &file, const uint8_t *p, size_t n, bool compress) {
        return compress ? file.write(fuzz::gzip(p, n)) : file.write(p, n);
    };
    const std::string image_path = store(image_file, images, image_bytes, mode & 1);
    const std::string label_path = store(label_file, labels, label_bytes, mode & 2);
    try {
        const Dataset d = load_idx(image_path, label_path, 10);
        fuzz::require(d.count() > 0 && d.channels == 1 && d.width > 0 && d.height > 0, "accepted an empty shape");
        fuzz::require(d.pixels.size() == size_t(d.count()) * d.image_size(), "pixel count disagrees with the shape");
        for (int32_t label : d.labels) fuzz::require(label >= 0 && label < 10, "accepted a label outside 0..9");
    } catch (const Error &e) {
        const std::string message = e.what();
        if (message.find(image_path) == std::string::npos) fuzz::require_names(message, label_path);
    }
    return 0;
}
