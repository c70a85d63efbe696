#!/usr/bin/env bash
# The main job: every activation and its derivative from the AOT kernels, as CSV and a plot.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
mkdir -p out
./build/trainer/hnn activations --plot out/activations.png > out/activations.csv
echo "wrote out/activations.csv ($(wc -l < out/activations.csv) lines) and out/activations.png"
