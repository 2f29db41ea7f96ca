#!/bin/sh
# bench_train.sh - training throughput of constsim's CNN against the identical PyTorch module.
#
# usage: bench/bench_train.sh [--threads T] [--batches N] [--batch B] [--repeats R]
#   (defaults: 2 threads, 20 timed batches, batch 32, 3 repeats)
#
# Runs `constsim bench train` and bench/pytorch_train_bench.py alternately (so both see the same
# machine load), R times each, and prints the median images/s and ms/batch of each, and the
# ratio constsim / PyTorch. Both: synthetic input from a fixed seed, Adam (lr 1e-3), forward +
# loss + backward + step per timed batch, 3 untimed warm-up batches, median batch time.
# CONSTSIM (default ./constsim) and PYTHON (default /usr/bin/python3) select the programs.
set -eu

threads=2
batches=20
batch=32
repeats=3
while [ $# -gt 0 ]; do
    case "$1" in
    --threads) threads=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench_train.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
constsim=${CONSTSIM:-./constsim}
python=${PYTHON:-/usr/bin/python3}
if [ ! -x "$constsim" ]; then
    echo "bench_train.sh: $constsim not found (build constsim first, or set CONSTSIM)" >&2
    exit 2
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT

i=1
while [ "$i" -le "$repeats" ]; do
    echo "run $i/$repeats ..." >&2
    "$constsim" bench train --threads "$threads" --batches "$batches" --batch "$batch" |
        sed 's/^/constsim /' >>"$out"
    "$python" "$here/pytorch_train_bench.py" --threads "$threads" --batches "$batches" \
        --batch "$batch" | sed 's/^/pytorch /' >>"$out"
    i=$((i + 1))
done

"$python" - "$out" "$threads" "$batch" <<'EOF'
import json, statistics, sys
runs = {"constsim": [], "pytorch": []}
for line in open(sys.argv[1]):
    who, _, js = line.partition(" ")
    runs[who].append(json.loads(js))
med = {}
print(f"threads {sys.argv[2]}, batch {sys.argv[3]}, {len(runs['constsim'])} runs each")
for who, rs in runs.items():
    ips = statistics.median(r["images_per_s"] for r in rs)
    ms = statistics.median(r["ms_per_batch"] for r in rs)
    med[who] = ips
    each = ", ".join(f"{r['images_per_s']:.1f}" for r in rs)
    print(f"  {who:9s} median {ips:8.1f} images/s  {ms:8.2f} ms/batch   (runs: {each})")
print(f"  ratio constsim / pytorch: {med['constsim'] / med['pytorch']:.2f}")
EOF
