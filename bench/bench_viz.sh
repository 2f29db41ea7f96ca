#!/usr/bin/env bash
# The view's frame time on the 1,584-satellite shell and on a 6,000-satellite shell (the goal
# beyond it), measured alternately in the same run: `constsim bench viz` N times each, A B A B ...,
# then the median over the runs of each run's median ms_per_frame, and the ratio 6000/1584.
#   bench/bench_viz.sh [RUNS=3] [SIZE=1280x720]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
size=${2:-1280x720}
exe=${CONSTSIM_EXE:-./constsim}
scn=scenarios/walker-1584.yaml
common=(--set duration=3h)
big=(--set constellation.walker.satellites=6000 --set constellation.walker.planes=75)
a=()
b=()
for ((i = 0; i < runs; i++)); do
  a+=("$("$exe" bench viz "$scn" --size "$size" --frames 300 --threads 2 "${common[@]}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["ms_per_frame"])')")
  b+=("$("$exe" bench viz "$scn" --size "$size" --frames 300 --threads 2 "${common[@]}" "${big[@]}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["ms_per_frame"])')")
done
python3 - "${a[*]}" "${b[*]}" "$size" <<'EOF'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
print(f"size {sys.argv[3]}, software renderer, {len(a)} runs each (300 frames per run)")
print(f"1584 satellites: median {statistics.median(a):.2f} ms/frame (runs: {', '.join(f'{x:.2f}' for x in a)})")
print(f"6000 satellites: median {statistics.median(b):.2f} ms/frame (runs: {', '.join(f'{x:.2f}' for x in b)})")
print(f"ratio 6000/1584: {statistics.median([y / x for x, y in zip(a, b)]):.2f}")
EOF
