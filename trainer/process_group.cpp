#include "process_group.h"

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <memory>
#include <unistd.h>

namespace hnn {
namespace {

class SingleProcess : public ProcessGroup {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    int ranks_on_this_machine() const override { return 1; }
    void sum(float *, size_t) override {}
    void sum(double *, size_t) override {}
    std::string broadcast(const std::string &text) override { return text; }
    void barrier() override {}
    void sleeping_barrier() override {}
    [[noreturn]] void abort(int exit_code) override { std::exit(exit_code); }
    std::string library() const override { return "a single process"; }
};

std::string executable_dir() {
    char path[4096];
    const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return ".";
    const std::string exe(path, static_cast<size_t>(n));
    return exe.substr(0, exe.find_last_of('/'));
}

std::unique_ptr<ProcessGroup> load_mpi_group() {
    const std::string plugin = executable_dir() + "/libhnn_mpi.so";
    if (access(plugin.c_str(), F_OK) != 0) {
        throw Error("an MPI launcher started this process, but this hnn was built without MPI (" + plugin +
                    " does not exist): install Open MPI's development files (Debian: libopenmpi-dev openmpi-bin), "
                    "configure again with cmake and rebuild, or run hnn without mpirun");
    }
    // RTLD_GLOBAL: Open MPI loads its own components with dlopen, and they look up libmpi's symbols
    // in the global scope.
    void *handle = dlopen(plugin.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle) throw Error("cannot load " + plugin + ": " + dlerror());
    using Factory = ProcessGroup *(*)(std::string *);
    auto factory = reinterpret_cast<Factory>(dlsym(handle, "hnn_mpi_process_group"));
    if (!factory) throw Error(plugin + " lacks hnn_mpi_process_group: it is not from this build of hnn");
    std::string error;
    ProcessGroup *group = factory(&error);
    if (!group) throw Error(plugin + ": " + error);
    // The library stays loaded for the process's life: the group's destructor (MPI_Finalize) is in it.
    return std::unique_ptr<ProcessGroup>(group);
}

std::unique_ptr<ProcessGroup> &group_slot() {
    static std::unique_ptr<ProcessGroup> group;
    return group;
}

}  // namespace

bool started_by_mpi_launcher() {
    // Open MPI's mpirun, and PMI/PMIx launchers (MPICH's, Slurm's srun), set these in every rank.
    for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
        if (std::getenv(name)) return true;
    }
    return false;
}

ProcessGroup &process_group() {
    std::unique_ptr<ProcessGroup> &group = group_slot();
    if (!group) group = started_by_mpi_launcher() ? load_mpi_group() : std::make_unique<SingleProcess>();
    return *group;
}

bool in_parallel_run() {
    return group_slot() && group_slot()->size() > 1;
}

int report_error(const std::exception &e, bool expected) {
    const char *kind = expected ? "error" : "unexpected error";
    if (auto *group_error = dynamic_cast<const GroupError *>(&e)) {
        if (group_error->report()) std::fprintf(stderr, "hnn: %s: %s\n", kind, e.what());
        return 1;
    }
    if (!in_parallel_run()) {
        std::fprintf(stderr, "hnn: %s: %s\n", kind, e.what());
        return 1;
    }
    ProcessGroup &group = *group_slot();
    std::fprintf(stderr, "hnn: rank %d of %d: %s: %s\n", group.rank(), group.size(), kind, e.what());
    group.abort(1);
    return 1;  // not reached: [[noreturn]] does not carry through a virtual call for the compiler
}

}  // namespace hnn
