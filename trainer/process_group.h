#pragma once
// The processes of a data-parallel run and the few collective operations training needs. A plain
// `hnn train` is a group of one and touches no MPI; under `mpirun` the group is MPI_COMM_WORLD,
// reached through libhnn_mpi.so (built only where CMake found MPI), which hnn loads from beside its
// executable. So the hnn binary itself never needs an MPI library to start.

#include "hnn/error.h"

#include <cstddef>
#include <string>

namespace hnn {

class ProcessGroup {
public:
    virtual ~ProcessGroup() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // Ranks sharing this machine (they share its cores).
    virtual int ranks_on_this_machine() const = 0;
    // Elementwise sums over every rank, in place; every rank gets the result.
    virtual void sum(float *values, size_t count) = 0;
    virtual void sum(double *values, size_t count) = 0;
    // Rank 0's text, on every rank.
    virtual std::string broadcast(const std::string &text) = 0;
    virtual void barrier() = 0;
    // A barrier that sleeps while it waits, instead of polling a core: for ranks that wait long
    // while others use every core of the machine.
    virtual void sleeping_barrier() = 0;
    // Ends every rank's process: for an error the other ranks cannot know of, which would leave
    // them waiting forever in their next collective operation.
    [[noreturn]] virtual void abort(int exit_code) = 0;
    // What the group runs over, for the run's header ("Open MPI v4.1.4").
    virtual std::string library() const = 0;
};

// The group this process belongs to, made on first use: MPI's when a launcher (mpirun, srun)
// started the process, else a group of one. Throws hnn::Error, telling how to get MPI, when a
// launcher started this process but this build has no MPI.
ProcessGroup &process_group();

// True when mpirun (or another MPI launcher) started this process.
bool started_by_mpi_launcher();

// True once process_group() made a group of more than one rank.
bool in_parallel_run();

// An error every rank of the group raised at the same point of the run (a diverged loss after the
// gradients were summed, a failed start on some rank after the ranks compared notes). Each rank
// then exits normally with status 1, so nothing needs aborting; `report` is false on the ranks
// that stay silent so that the user reads the error once.
class GroupError : public Error {
public:
    GroupError(const std::string &what, bool report) : Error(what), report_(report) {}
    bool report() const { return report_; }

private:
    bool report_;
};

// How `main` ends on an error: prints it (naming the rank in a parallel run) and returns the exit
// status, or aborts every rank for an error only this rank saw.
int report_error(const std::exception &e, bool expected);

}  // namespace hnn
