#pragma once
// The one symbol libhnn_mpi.so exports: hnn finds it with dlsym, so hnn links no MPI library.

#include "process_group.h"

// Initializes MPI and returns MPI_COMM_WORLD as a ProcessGroup, or null with *error set.
extern "C" hnn::ProcessGroup *hnn_mpi_process_group(std::string *error);
