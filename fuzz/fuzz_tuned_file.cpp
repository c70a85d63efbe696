// libFuzzer target: the schedule files `hnn tune` writes and the build applies
// (schedules/tuned/<kernel>.<isa>.txt), through parse_tuned_file as `hnn tune --check` reads them.
//
// Input: the file's text. Invariant: a file that parses formats back to text that parses to the
// same kernel, ISA, schedule and knobs (what the build applies).

#include "fuzz_support.h"
#include "hnn/error.h"
#include "tuned_file.h"

using namespace hnn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    TunedFile parsed;
    try {
        parsed = parse_tuned_file(text, "fuzz.txt");
    } catch (const Error &) {
        return 0;
    }
    TunedFile again;
    try {
        again = parse_tuned_file(format_tuned_file(parsed), "formatted.txt");
    } catch (const Error &e) {
        fuzz::fail(std::string("a parsed file does not parse back after formatting: ") + e.what());
    }
    fuzz::require(again.kernel == parsed.kernel && again.isa == parsed.isa && again.schedule == parsed.schedule &&
                      again.knobs == parsed.knobs,
                  "formatting changed what the build applies");
    return 0;
}
