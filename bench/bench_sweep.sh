#!/usr/bin/env bash
# The 3 x 3 grid of the sweep tests (tests/data/sim/sweep.yaml: federated.rounds=2,4,6 x
# federated.clients=3,5,10) as one `constsim sweep` (MODE sweep) or as the nine `constsim run`
# calls it replaces (MODE runs), with the same threads, traces on, no model files. For timing
# the two side by side, e.g. with /usr/bin/time or any harness that alternates them.
#   bench/bench_sweep.sh sweep|runs [OUT_DIR] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: bench/bench_sweep.sh sweep|runs [OUT_DIR] [THREADS]}
out=${2:-/tmp/constsim-bench-sweep-$mode}
threads=${3:-2}
exe=${CONSTSIM_EXE:-./build/constsim}
scn=tests/data/sim/sweep.yaml
rm -rf "$out"
mkdir -p "$out"
case "$mode" in
sweep)
  exec "$exe" sweep "$scn" --set federated.rounds=2,4,6 --set federated.clients=3,5,10 \
    -o "$out" --threads "$threads" -q ;;
runs)
  for r in 2 4 6; do
    for c in 3 5 10; do
      "$exe" run "$scn" --set federated.rounds=$r --set federated.clients=$c \
        -o "$out/r$r-c$c.json" --threads "$threads" --no-models -q > /dev/null
    done
  done ;;
*)
  echo "bench_sweep.sh: MODE is sweep or runs" >&2
  exit 2 ;;
esac
