#pragma once
#include <CLI/CLI.hpp>

namespace hnn {
// `hnn train`: trains a preset or a model file on MNIST, Fashion-MNIST or CIFAR-10.
void add_train_command(CLI::App &app);
}
