#pragma once
// How the memory-bound CPU kernels over (c, x, y, n) split their rows (y and n fused) between
// threads: in tasks of at least 32K elements. A task per row of a small image left each thread
// fetching tasks more than working (relu over 100 images of 7x7x200, 700 tasks: 0.33 ms, oneDNN
// 0.14; in tasks of 32K elements 0.19).

#include "Halide.h"

namespace hnn {

// Calls of fewer elements run on one thread, where waking the workers costs more than the work (a
// parallel relu over 180K elements took 90 us, one thread 21); an exp per element moves that point
// down.
constexpr int kOneThreadBelowElements = 262144;
constexpr int kOneThreadBelowElementsWithExp = 32768;

// `rows` is the fused (y, n) loop of `stage`; `row_elements` the elements one row holds (c x width).
inline void parallel_row_tasks(Halide::Stage stage, const Halide::Var &rows, Halide::Expr row_elements) {
    Halide::Var task("task"), row("row");
    Halide::Expr rows_per_task = Halide::max(1, 32768 / Halide::max(row_elements, 1));
    stage.split(rows, task, row, rows_per_task, Halide::TailStrategy::GuardWithIf).parallel(task);
}

}  // namespace hnn
