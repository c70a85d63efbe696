#!/usr/bin/env bash
# Builds hnn and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
ctest --output-on-failure --parallel "$(nproc)" --timeout 600
bash ../scripts/fuzz.sh
