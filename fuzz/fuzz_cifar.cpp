// libFuzzer target: the CIFAR-10 binary batch reader (plain or gzipped).
//
// Input: byte 0 selects the storage (bit 0: gzip the file; otherwise stored as given, so gzip
// streams in the input reach the reader too) and bit 1 reads the file twice as two batches; the
// rest is the file.

#include "dataset_files.h"
#include "fuzz_support.h"
#include "hnn/error.h"

using namespace hnn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    static fuzz::MemoryFile file;
    const std::string path = (mode & 1) ? file.write(fuzz::gzip(data + 1, size - 1)) : file.write(data + 1, size - 1);
    std::vector<std::string> batches{path};
    if (mode & 2) batches.push_back(path);
    try {
        const Dataset d = load_cifar10(batches);
        fuzz::require(d.count() > 0 && d.channels == 3 && d.width == 32 && d.height == 32, "wrong shape accepted");
        fuzz::require(d.pixels.size() == size_t(d.count()) * d.image_size(), "pixel count disagrees with the shape");
        for (int32_t label : d.labels) fuzz::require(label >= 0 && label < 10, "accepted a label outside 0..9");
    } catch (const Error &e) {
        fuzz::require_names(e.what(), path);
    }
    return 0;
}
