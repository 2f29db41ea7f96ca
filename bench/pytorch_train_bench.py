#!/usr/bin/python3
"""Training throughput of the constsim EuroSAT CNN in PyTorch, for comparison with
`constsim bench train`: the same network, synthetic input from a fixed seed, Adam (lr 1e-3),
batch 32 by default, warm-up batches excluded. Prints one JSON object like constsim does:
images_per_s (from the median batch time), ms_per_batch (median), threads, batch.

usage: /usr/bin/python3 bench/pytorch_train_bench.py [--threads T] [--batches N] [--batch B]
                                                    [--warmup W]
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from eurosat_cnn import EuroSatCNN


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    if a.threads < 1 or a.batches < 1 or a.batch < 1 or a.warmup < 0:
        print("pytorch_train_bench: --threads, --batches and --batch must be >= 1", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = EuroSatCNN()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(a.batch, 3, 64, 64) * 2 - 1
    y = torch.randint(0, 10, (a.batch,))
    times = []
    for i in range(a.warmup + a.batches):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if i >= a.warmup:
            times.append(t1 - t0)
    med = statistics.median(times)
    print(json.dumps({
        "framework": "pytorch " + torch.__version__,
        "images_per_s": round(a.batch / med, 2),
        "ms_per_batch": round(med * 1e3, 3),
        "threads": a.threads,
        "batch": a.batch,
        "batches": a.batches,
        "loss_last": round(float(loss), 6),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
