#!/usr/bin/env bash
# The README's main job: set up, build, and run the default scenario, which prints the
# comparison table of the wire precisions (a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
./constsim run scenarios/quickstart.yaml "$@"
