# cmake -DSTMT=file.stmt -DLIBRARY=name -P CheckCudaSharedMemory.cmake
#
# Fails when a kernel launch in a CUDA library's lowered statement (Halide's `-e stmt` output) asks
# more than CUDA's default 48 KB of shared memory a block. Halide 14's CUDA runtime launches without
# raising that limit (it has no cuFuncSetAttribute), so such a kernel would build and then fail at
# its first launch with CUDA_ERROR_INVALID_VALUE; a GPU tile chosen with HNN_GPU_CONV_KNOBS can get
# there. A size that is not a constant is left to the launch.
if (NOT STMT OR NOT LIBRARY)
  message(FATAL_ERROR "usage: cmake -DSTMT=file.stmt -DLIBRARY=name -P CheckCudaSharedMemory.cmake")
endif ()
set(limit 49152)
file(STRINGS "${STMT}" launches REGEX "halide_cuda_run\\(")
if (NOT launches)
  message(FATAL_ERROR "${STMT}: no halide_cuda_run launch in ${LIBRARY}'s statement")
endif ()
foreach (launch IN LISTS launches)
  # halide_cuda_run(user_context, "kernel", blocks x, y, z, threads x, y, z, shared bytes,
  # (void *)make_struct(argument sizes), ...): the shared bytes end where the first struct starts.
  string(FIND "${launch}" ", (void *)make_struct(" end)
  if (end EQUAL -1)
    message(FATAL_ERROR "${STMT}: cannot read a launch of ${LIBRARY}: ${launch}")
  endif ()
  string(SUBSTRING "${launch}" 0 ${end} head)
  if (NOT head MATCHES "halide_cuda_run\\([^,]+, \"([^\"]+)\".*, ([^,]+)$")
    message(FATAL_ERROR "${STMT}: cannot read a launch of ${LIBRARY}: ${head}")
  endif ()
  set(kernel "${CMAKE_MATCH_1}")
  set(shared "${CMAKE_MATCH_2}")
  # The two forms Halide prints for a constant size; anything else depends on the call.
  if (NOT shared MATCHES "^[0-9]+$" AND NOT shared MATCHES "^0 \\+ \\([0-9]+\\*[0-9]+\\)$")
    continue ()
  endif ()
  math(EXPR bytes "${shared}")
  if (bytes GREATER limit)
    message(FATAL_ERROR "hnn: ${LIBRARY}: kernel ${kernel} asks ${bytes} bytes of shared memory a block, "
                        "over CUDA's ${limit} (Halide 14 cannot raise the limit, so its launch would fail); "
                        "choose a smaller GPU tile in HNN_GPU_CONV_KNOBS (gpu.tile_c x gpu.tile_x x gpu.tile_y)")
  endif ()
endforeach ()
