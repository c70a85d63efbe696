# cmake -DHNN_TUNED_DIR=DIR -DKERNEL=conv2d_forward -P cmake/print_tuned_knobs.cmake
# prints the `schedule_knobs` value the build would pass to KERNEL's generator from DIR's files
# (empty: the hand schedule), or fails naming the file and line the build would refuse.
cmake_minimum_required(VERSION 3.22)
include(${CMAKE_CURRENT_LIST_DIR}/HnnTunedSchedules.cmake)
hnn_tuned_schedule_knobs(${KERNEL} knobs)
message("schedule_knobs=${knobs}")
