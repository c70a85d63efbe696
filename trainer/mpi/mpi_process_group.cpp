// libhnn_mpi.so: MPI_COMM_WORLD as hnn's ProcessGroup. Only the main thread calls MPI (Halide's
// worker threads never do), hence MPI_THREAD_FUNNELED.

#include "mpi_process_group.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace hnn {
namespace {

std::string mpi_error_text(int code) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    return std::string(text, length);
}

// MPI's default handler on MPI_COMM_WORLD aborts every rank on a failed call (a dead peer, a lost
// connection), which is what a training run wants: nobody waits forever.
class MpiProcessGroup : public ProcessGroup {
public:
    MpiProcessGroup() {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
        MPI_Comm local;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
        MPI_Comm_size(local, &local_size_);
        MPI_Comm_free(&local);
        char version[MPI_MAX_LIBRARY_VERSION_STRING];
        int length = 0;
        MPI_Get_library_version(version, &length);
        library_.assign(version, length);
        // The first line of Open MPI's text: "Open MPI v4.1.4, package: ..." up to the comma.
        library_ = library_.substr(0, library_.find_first_of(",\n"));
    }
    ~MpiProcessGroup() override { MPI_Finalize(); }

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    int ranks_on_this_machine() const override { return local_size_; }

    void sum(float *values, size_t count) override { sum_in_chunks(values, count, MPI_FLOAT); }
    void sum(double *values, size_t count) override { sum_in_chunks(values, count, MPI_DOUBLE); }

    std::string broadcast(const std::string &text) override {
        unsigned long long length = text.size();
        MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
        std::string result = rank_ == 0 ? text : std::string(length, '\0');
        for (size_t done = 0; done < length;) {
            const int part = static_cast<int>(std::min<unsigned long long>(length - done, INT_MAX));
            MPI_Bcast(result.data() + done, part, MPI_CHAR, 0, MPI_COMM_WORLD);
            done += part;
        }
        return result;
    }

    void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }

    void sleeping_barrier() override {
        MPI_Request request;
        MPI_Ibarrier(MPI_COMM_WORLD, &request);
        for (int done = 0;;) {
            MPI_Test(&request, &done, MPI_STATUS_IGNORE);
            if (done) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

    [[noreturn]] void abort(int exit_code) override {
        std::fflush(stdout);
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, exit_code);
        std::_Exit(exit_code);  // MPI_Abort does not return; this says so to the compiler
    }

    std::string library() const override { return library_; }

private:
    // MPI counts are ints: a buffer of more than 2^31 - 1 values goes in several calls.
    template<typename T>
    void sum_in_chunks(T *values, size_t count, MPI_Datatype type) {
        for (size_t done = 0; done < count;) {
            const int part = static_cast<int>(std::min<size_t>(count - done, INT_MAX));
            MPI_Allreduce(MPI_IN_PLACE, values + done, part, type, MPI_SUM, MPI_COMM_WORLD);
            done += part;
        }
    }

    int rank_ = 0, size_ = 1, local_size_ = 1;
    std::string library_;
};

}  // namespace
}  // namespace hnn

extern "C" hnn::ProcessGroup *hnn_mpi_process_group(std::string *error) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        int provided = 0;
        const int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
        if (code != MPI_SUCCESS) {
            *error = "MPI_Init_thread failed: " + hnn::mpi_error_text(code);
            return nullptr;
        }
    }
    return new hnn::MpiProcessGroup();
}
