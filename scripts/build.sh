#!/usr/bin/env bash
# Configures and builds hnn (kernels, runtime, trainer, tests) into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
# Sanitizers off unless asked for (scripts/test.sh does): the option is cached, so say it each time.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DHNN_SANITIZE=OFF "$@"
cmake --build build --parallel "$(nproc)"
