#!/bin/sh
# bench_eval.sh - inference throughput of constsim's CNN against the identical PyTorch module.
#
# usage: bench/bench_eval.sh [--threads T] [--images N] [--batch B] [--repeats R]
#                            [--model FILE] [--data DIR] [--precisions "fp32 int8"]
#   (defaults: 2 threads, 2048 images, batch 64, 3 repeats, both precisions)
#
# Runs `constsim bench eval` and bench/torch_eval_bench.py alternately (so both see the same
# machine load), R times each per precision, on the same EuroSAT images and the same weights,
# and prints the median images/s and ms/batch of each and the ratio constsim / PyTorch.
# fp32: constsim's inference path against eval() + torch.no_grad(); int8: constsim with the INT8
# wire weights decoded (dequantised) once, against torch.quantization.quantize_dynamic (Linear
# layers INT8). Without --model a small model is trained first (constsim train, 1 epoch on 2000
# images) so that both load the same FP32 file and the accuracies mean something.
# Each run's figure is followed by the machine's CPU pressure before it ([psi N]: % of the last
# 10 s in which some task waited for a CPU; above a few %, other work shared the cores).
# CONSTSIM (default ./constsim) and PYTHON (default /usr/bin/python3) select the programs.
set -eu

threads=2
images=2048
batch=64
repeats=3
model=
data=
precisions="fp32 int8"
while [ $# -gt 0 ]; do
    case "$1" in
    --threads) threads=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --precisions) precisions=$2; shift 2 ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench_eval.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
constsim=${CONSTSIM:-./constsim}
python=${PYTHON:-/usr/bin/python3}
if [ ! -x "$constsim" ]; then
    echo "bench_eval.sh: $constsim not found (build constsim first, or set CONSTSIM)" >&2
    exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
set -- --threads "$threads" --images "$images" --batch "$batch"
if [ -n "$data" ]; then
    set -- "$@" --data "$data"
fi
if [ -z "$model" ]; then
    echo "training a small model (1 epoch, 2000 images) ..." >&2
    model=$tmp/model.safetensors
    if [ -n "$data" ]; then
        "$constsim" train --epochs 1 --max-train 2000 --threads "$threads" --data "$data" \
            -o "$model" >/dev/null
    else
        "$constsim" train --epochs 1 --max-train 2000 --threads "$threads" -o "$model" >/dev/null
    fi
fi
set -- "$@" --model "$model"

# CPU pressure from other processes (Linux PSI "some avg10", % of the last 10 s in which a task
# waited for a CPU) before each run, printed beside its figure: "-" where not available.
pressure() {
    awk '/^some/ { sub("avg10=", "", $2); print $2; exit }' /proc/pressure/cpu 2>/dev/null ||
        echo -
}
for p in $precisions; do
    i=1
    while [ "$i" -le "$repeats" ]; do
        echo "$p run $i/$repeats ..." >&2
        w=$(pressure)
        "$constsim" bench eval "$@" --precision "$p" | sed "s/^/constsim $p ${w:--} /" >>"$tmp/out"
        w=$(pressure)
        "$python" "$here/torch_eval_bench.py" "$@" --precision "$p" |
            sed "s/^/pytorch $p ${w:--} /" >>"$tmp/out"
        i=$((i + 1))
    done
done

"$python" - "$tmp/out" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, prec, psi, js = line.split(" ", 3)
    r = json.loads(js)
    r["psi"] = psi
    runs.setdefault(prec, {}).setdefault(who, []).append(r)
for prec, sides in runs.items():
    r0 = sides["constsim"][0]
    print(f"{prec}: threads {r0['threads']}, batch {r0['batch']}, {r0['images']} images "
          f"({r0['first_image']} .. {r0['last_image']}), {len(sides['constsim'])} runs each")
    med = {}
    for who in ("constsim", "pytorch"):
        rs = sides[who]
        ips = statistics.median(r["images_per_s"] for r in rs)
        ms = statistics.median(r["ms_per_batch"] for r in rs)
        med[who] = ips
        each = ", ".join(f"{r['images_per_s']:.1f} [psi {r['psi']}]" for r in rs)
        print(f"  {who:9s} median {ips:8.1f} images/s  {ms:8.2f} ms/batch  accuracy "
              f"{rs[0]['accuracy']:.4f}  (runs: {each}; {rs[0]['compute']})")
    print(f"  ratio constsim / pytorch: {med['constsim'] / med['pytorch']:.2f}")
EOF
