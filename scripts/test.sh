#!/usr/bin/env bash
# Sets up, builds (warnings as errors) and runs the whole test suite: the README's test command.
# Pass ctest arguments to narrow it, e.g. `scripts/test.sh -LE slow`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCONSTSIM_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
