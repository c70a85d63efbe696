# How every hnn kernel is built, the same way for each target (after apps/hannk's helper).
#
# CPU: one library per kernel holding an AVX-512, an AVX2 and a baseline x86-64 variant; Halide's
# multi-target wrapper picks one from the running CPU's features. (A kernel that differs from another
# only on AVX-512 holds that variant alone: AVX512_VARIANT below.) Never plain `host`: the binaries
# must run on other x86 machines than the one that built them.
#
# CUDA: a separate library per kernel (suffix _cuda). It is not folded into the CPU multi-target
# library because Halide 14's dispatcher checks only CPU features and would pick CUDA on machines
# without a GPU (upstream issue #8402); hnn's runtime chooses the device instead. Building it needs
# neither a GPU nor the CUDA toolkit: Halide emits PTX itself and the driver loads it at run time.
#
# OpenCL: the same again (suffix _opencl) for Halide's OpenCL target, from the same GPU schedule code
# as CUDA. Its point is that the GPU schedules can be run without a GPU: PoCL, a CPU OpenCL driver,
# runs them in CI. The target asks for no optional OpenCL extension (cl_doubles, cl_half,
# cl_atomics64): the kernels need none, and PoCL (like many drivers) lacks half precision.
#
# All libraries share one Halide runtime (hnn_halide.runtime), so there is one thread pool, one
# error handler and one set of device contexts in the process.

set(HNN_CPU_TARGETS
    x86-64-linux-avx-avx2-avx512-avx512_skylake-f16c-fma-sse41
    x86-64-linux-avx-avx2-f16c-fma-sse41
    x86-64-linux
    CACHE STRING "Halide targets of the CPU kernels, most specific first; the last is the fallback")
set(HNN_CUDA_TARGET x86-64-linux-cuda-cuda_capability_61
    CACHE STRING "Halide target of the CUDA kernels")
option(HNN_BUILD_CUDA "Build the CUDA kernel libraries (no GPU or toolkit needed to build)" ON)
set(HNN_OPENCL_TARGET x86-64-linux-opencl
    CACHE STRING "Halide target of the OpenCL kernels")
option(HNN_BUILD_OPENCL "Build the OpenCL kernel libraries (no OpenCL driver needed to build)" ON)
# The GPU convolutions' knobs (schedules/conv2d_gpu_cached_schedule.h and conv2d_gpu_schedule.h),
# for trying another schedule or tile on a GPU: "gpu.staged:1,gpu.tile_y:4" (the staged schedules,
# 4 rows a block). Empty: the cached schedules' hand-picked tiles. gpu.tile_co and gpu.tile_ci are
# backward-weights' tile, the other tiles the forward's and backward-data's (generators/CMakeLists.txt).
# Only those GPU libraries are rebuilt.
set(HNN_GPU_CONV_KNOBS "" CACHE STRING "schedule_knobs of the CUDA and OpenCL convolutions")
set(HNN_TUNED_DIR ${PROJECT_SOURCE_DIR}/schedules/tuned
    CACHE PATH "Where `hnn tune` writes, and the build reads, tuned schedule files (<kernel>.<isa>.txt)")

include(HnnTunedSchedules)

function(hnn_add_halide_runtime GENERATOR_EXE)
  # _Halide_add_halide_runtime reads ${TARGET}.runtime for its target list; name it to match.
  set(TARGET hnn_halide)
  set(runtime_targets ${HNN_CPU_TARGETS})
  if (HNN_BUILD_CUDA)
    list(APPEND runtime_targets ${HNN_CUDA_TARGET})
  endif ()
  # Halide merges the GPU features of every listed target into the one runtime, so it holds both
  # device interfaces.
  if (HNN_BUILD_OPENCL)
    list(APPEND runtime_targets ${HNN_OPENCL_TARGET})
  endif ()
  _Halide_add_halide_runtime(hnn_halide.runtime FROM ${GENERATOR_EXE} TARGETS ${runtime_targets})
endfunction()

# hnn_add_kernel(NAME GENERATOR gen FROM exe [PARAMS k=v ...] [TUNABLE | TUNED_AS kernel]
#                [CPU_ONLY | AVX512_VARIANT | GPU_VARIANT] [GPU_KNOBS gpu.knob:value,...])
# Defines NAME (CPU), with HNN_BUILD_CUDA NAME_cuda and with HNN_BUILD_OPENCL NAME_opencl (not for a
# CPU_ONLY kernel: a variant of another kernel's CPU schedule). A GPU_VARIANT kernel is the other way
# round: another GPU schedule of a kernel, its GPU_KNOBS alone (not HNN_GPU_CONV_KNOBS), built as
# NAME_cuda and NAME_opencl only; the runtime times it against the default on a GPU
# (conv2d_ops.cpp). An AVX512_VARIANT kernel changes
# only the AVX-512 schedule, so it is built for HNN_CPU_TARGETS' AVX-512 entry alone, or not at all
# without one: its AVX2 and baseline code would repeat another kernel's and take longer to build
# than its AVX-512 code. The runtime calls it only where cpu_kernel_isa() is avx512
# (kernel_table.cpp). Each kernel name is appended to the global property HNN_KERNELS so the runtime
# can link them all. A TUNABLE kernel's generator has the `schedule_knobs` parameter, set from its
# tuned files if there are any; TUNED_AS takes another tunable kernel's files. GPU_KNOBS are added
# to the GPU libraries' `schedule_knobs` alone (the CPU schedules read only their own ISA's entries,
# but a changed string would rebuild them).
function(hnn_add_kernel NAME)
  cmake_parse_arguments(ARG "TUNABLE;CPU_ONLY;AVX512_VARIANT;GPU_VARIANT" "GENERATOR;FROM;TUNED_AS;GPU_KNOBS" "PARAMS" ${ARGN})
  set(cpu_targets ${HNN_CPU_TARGETS})
  if (ARG_AVX512_VARIANT)
    # The entry runtime/CMakeLists.txt keys HNN_CPU_KERNELS_AVX512 on.
    list(FILTER cpu_targets INCLUDE REGEX "avx512_skylake")
    if (NOT cpu_targets)
      return()
    endif ()
    list(GET cpu_targets 0 cpu_targets)
    set(ARG_CPU_ONLY TRUE)
  endif ()
  set(knobs "")
  if (ARG_TUNED_AS)
    # A variant of a tunable kernel (the same schedule, other outputs) takes that kernel's file.
    hnn_tuned_schedule_knobs(${ARG_TUNED_AS} knobs)
    if (knobs)
      list(APPEND ARG_PARAMS "schedule_knobs=${knobs}")
    endif ()
  elseif (ARG_TUNABLE)
    hnn_tuned_schedule_knobs(${NAME} knobs)
    if (knobs)
      list(APPEND ARG_PARAMS "schedule_knobs=${knobs}")
      set_property(GLOBAL APPEND PROPERTY HNN_TUNED_KERNELS ${NAME})
    endif ()
  elseif (EXISTS ${HNN_TUNED_DIR}/${NAME}.avx512.txt OR EXISTS ${HNN_TUNED_DIR}/${NAME}.avx2.txt
          OR EXISTS ${HNN_TUNED_DIR}/${NAME}.baseline.txt)
    message(FATAL_ERROR "${HNN_TUNED_DIR} has a tuned file for ${NAME}, which has no schedule knobs")
  endif ()
  set(gpu_params ${ARG_PARAMS})
  if (ARG_GPU_KNOBS)
    list(FILTER gpu_params EXCLUDE REGEX "^schedule_knobs=")
    if (knobs)
      list(APPEND gpu_params "schedule_knobs=${knobs},${ARG_GPU_KNOBS}")
    else ()
      list(APPEND gpu_params "schedule_knobs=${ARG_GPU_KNOBS}")
    endif ()
  endif ()
  if (NOT ARG_GPU_VARIANT)
    add_halide_library(${NAME} FROM ${ARG_FROM}
                       GENERATOR ${ARG_GENERATOR}
                       FUNCTION_NAME ${NAME}
                       TARGETS ${cpu_targets}
                       PARAMS ${ARG_PARAMS}
                       USE_RUNTIME hnn_halide.runtime)
    set_property(GLOBAL APPEND PROPERTY HNN_KERNELS ${NAME})
  endif ()
  if (ARG_CPU_ONLY)
    return()
  endif ()
  if (HNN_BUILD_CUDA)
    add_halide_library(${NAME}_cuda FROM ${ARG_FROM}
                       GENERATOR ${ARG_GENERATOR}
                       FUNCTION_NAME ${NAME}_cuda
                       TARGETS ${HNN_CUDA_TARGET}
                       PARAMS ${gpu_params}
                       USE_RUNTIME hnn_halide.runtime
                       STMT cuda_stmt)
    # A launch asking more shared memory than CUDA allows a block fails the build, not the first run.
    add_custom_command(TARGET ${NAME}_cuda POST_BUILD
                       COMMAND ${CMAKE_COMMAND} -DSTMT=${CMAKE_CURRENT_BINARY_DIR}/${cuda_stmt}
                               -DLIBRARY=${NAME}_cuda -P ${PROJECT_SOURCE_DIR}/cmake/CheckCudaSharedMemory.cmake
                       VERBATIM)
    set_property(GLOBAL APPEND PROPERTY HNN_KERNELS ${NAME}_cuda)
  endif ()
  if (HNN_BUILD_OPENCL)
    add_halide_library(${NAME}_opencl FROM ${ARG_FROM}
                       GENERATOR ${ARG_GENERATOR}
                       FUNCTION_NAME ${NAME}_opencl
                       TARGETS ${HNN_OPENCL_TARGET}
                       PARAMS ${gpu_params}
                       USE_RUNTIME hnn_halide.runtime)
    set_property(GLOBAL APPEND PROPERTY HNN_KERNELS ${NAME}_opencl)
  endif ()
endfunction()
