#!/usr/bin/env bash
# The main job: fetch MNIST, train celu7 (width 32) for two epochs with its log and plot, and draw
# every activation beside its derivative.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bash scripts/fetch-mnist.sh
mkdir -p out
./build/trainer/hnn train --model celu7 --width 32 --dataset mnist --epochs 2 \
    --log out/celu7_mnist.csv --plot out/celu7_mnist.png --checkpoint out/celu7_mnist.ckpt
./build/trainer/hnn eval --checkpoint out/celu7_mnist.ckpt --dataset mnist
./build/trainer/hnn activations --plot out/activations.png > out/activations.csv
echo "wrote out/celu7_mnist.{csv,jsonl,png,ckpt} and out/activations.{csv,png}"
