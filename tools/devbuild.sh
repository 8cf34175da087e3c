#!/usr/bin/env bash
# Developer build: compiles fastconv._core into build/dev and copies it next to the sources, so
# `PYTHONPATH=$PWD pytest` (or running from the checkout) uses it. Users install with pip instead.
# Extra CMake arguments pass through, e.g. tools/devbuild.sh -DFASTCONV_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
builddir=${FASTCONV_DEV_BUILD_DIR:-build/dev}
cmake -S . -B "$builddir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" "$@" > /dev/null
cmake --build "$builddir"
cp "$builddir"/_core*.so fastconv/
