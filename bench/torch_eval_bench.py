#!/usr/bin/python3
"""Inference throughput of the constsim EuroSAT CNN in PyTorch, for comparison with
`constsim bench eval`: the same images, the same weights, evaluation mode under torch.no_grad().

usage: /usr/bin/python3 bench/torch_eval_bench.py [--threads T] [--images N] [--batch B]
           [--precision fp32|int8] [--data DIR] [--model FILE.safetensors] [--warmup W]

- images: image i*n//N of the n dataset images in constsim's loader order (class folders, then
  file names, both byte-wise), decoded with PIL and normalised as (p / 255 - 0.5) / 0.5 in
  float32 - bit-identical to constsim's nn_data_batch - before the clock starts;
- model: an FP32 constsim model file loaded with load_state_dict(strict=True) (without --model,
  torch.manual_seed(1)'s initialisation: the same cost, other weights);
- precision int8: torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8),
  PyTorch's post-training INT8 for CPU inference without calibration data (the linear layers'
  weights INT8, activations quantised on the fly; the convolutions stay FP32);
- timing: W untimed warm-up batches, then one timed pass over the N images in batches of B.
Prints one JSON object like constsim: images_per_s (B / median batch time), ms_per_batch, ...
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eurosat_cnn import EuroSatCNN  # noqa: E402


def find_data(arg):
    for d in (arg, os.environ.get("CONSTSIM_DATA"), "data/eurosat", "../shared/eurosat"):
        if d:
            if os.path.isdir(d):
                return d
            if d == arg:
                sys.exit(f"torch_eval_bench: {d}: not a folder")
    sys.exit("torch_eval_bench: no EuroSAT folder found (use --data)")


CLASSES = ("AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial", "Pasture",
           "PermanentCrop", "Residential", "River", "SeaLake")  # byte-wise order = class index


def dataset_paths(data):
    """(relative path, label) of every image, in constsim's order (docs/data.md)."""
    out = []
    for label, c in enumerate(CLASSES):
        folder = os.path.join(data, c)
        if not os.path.isdir(folder):
            sys.exit(f"torch_eval_bench: {folder}: class folder missing")
        files = sorted((f for f in os.listdir(folder)
                        if f.lower().endswith((".jpg", ".jpeg")) and not f.startswith(".")),
                       key=lambda s: s.encode())
        out += [(f"{c}/{f}", label) for f in files]
    return out


def read_state(path):
    from torch_load_check import read_safetensors
    _, tensors = read_safetensors(path)
    if any(v.dtype != np.float32 for k, v in tensors.items() if "num_batches" not in k):
        sys.exit(f"torch_eval_bench: {path}: an FP32 model file is needed")
    return {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--images", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    ap.add_argument("--data")
    ap.add_argument("--model")
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    if a.threads < 1 or a.images < 1 or a.batch < 1 or a.warmup < 0:
        print("torch_eval_bench: --threads, --images and --batch must be >= 1", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    data = find_data(a.data)
    paths = dataset_paths(data)
    n = min(a.images, len(paths))
    chosen = [paths[i * len(paths) // n] for i in range(n)]
    pixels = np.stack([np.asarray(Image.open(os.path.join(data, p)).convert("RGB"))
                       for p, _ in chosen])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous().float()
    x = (x / 255.0 - 0.5) / 0.5
    y = torch.tensor([label for _, label in chosen])

    torch.manual_seed(1)
    net = EuroSatCNN()
    if a.model:
        net.load_state_dict(read_state(a.model), strict=True)
    net.eval()
    if a.precision == "int8":
        net = torch.quantization.quantize_dynamic(net, {torch.nn.Linear}, dtype=torch.qint8)

    b = min(a.batch, n)
    starts = list(range(0, n, b))
    logits = torch.empty(n, 10)
    times = []
    with torch.no_grad():
        for w in range(a.warmup):
            s = starts[w % len(starts)]
            net(x[s:s + b])
        for s in starts:
            xb = x[s:s + b]
            t0 = time.perf_counter()
            out = net(xb)
            dt = time.perf_counter() - t0
            logits[s:s + b] = out
            times.append(dt / xb.shape[0] * b)  # a partial last batch scaled to a full one
    med = statistics.median(times)
    loss = torch.nn.functional.cross_entropy(logits, y).item()
    acc = (logits.argmax(1) == y).float().mean().item()
    print(json.dumps({
        "framework": "pytorch " + torch.__version__,
        "precision": a.precision,
        "compute": "fp32" if a.precision == "fp32" else "quantize_dynamic: Linear int8, conv fp32",
        "images_per_s": round(b / med, 2),
        "images_per_s_pass": round(n / sum(t * min(b, n - s) / b for t, s in zip(times, starts)), 2),
        "ms_per_batch": round(med * 1e3, 3),
        "ms_per_batch_min": round(min(times) * 1e3, 3),
        "threads": a.threads,
        "batch": b,
        "batches": len(starts),
        "warmup": a.warmup,
        "images": n,
        "first_image": chosen[0][0],
        "last_image": chosen[-1][0],
        "accuracy": acc,
        "loss": loss,
        "model": a.model or "torch.manual_seed(1) init",
        "backend": "mkldnn" if torch.backends.mkldnn.is_available() else "native",
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
