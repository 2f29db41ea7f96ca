#!/usr/bin/python3
"""Accuracy parity between constsim and PyTorch on the same images.

    /usr/bin/python3 bench/torch_eval_parity.py [--model MODEL.safetensors] [--data DIR]
        [--constsim ./constsim] [--every K] [--tolerance-pts 0.1]

Without --model, trains a small model first (`constsim train --epochs 1 --max-train 2000`).
Picks every K-th image of the dataset (class folders in byte order, files in byte order),
evaluates it with `constsim eval --list` and with the equivalent torch module (the FP32 file
loaded with load_state_dict(strict=True), images decoded by PIL, normalised as (p/255-0.5)/0.5),
and checks that the accuracies agree within the tolerance (points) and the mean losses within
1e-3. Prints one JSON object; exit 0 on agreement, 1 otherwise.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eurosat_cnn import EuroSatCNN  # noqa: E402
from torch_load_check import read_safetensors  # noqa: E402


def find_data(arg):
    for d in (arg, os.environ.get("CONSTSIM_DATA"), "data/eurosat", "../shared/eurosat"):
        if d and os.path.isdir(d):
            return d
    sys.exit("no EuroSAT folder found (use --data)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model")
    ap.add_argument("--data")
    ap.add_argument("--constsim", default=os.environ.get("CONSTSIM_EXE", "./constsim"))
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--tolerance-pts", type=float, default=0.1)
    a = ap.parse_args()
    data = find_data(a.data)
    tmp = tempfile.mkdtemp(prefix="cs_parity_")
    model = a.model
    if not model:
        model = os.path.join(tmp, "model.safetensors")
        subprocess.run([a.constsim, "train", "--data", data, "--epochs", "1", "--max-train", "2000",
                        "-o", model], check=True, stdout=subprocess.DEVNULL)

    classes = sorted((d for d in os.listdir(data) if os.path.isdir(os.path.join(data, d))),
                     key=lambda s: s.encode())
    images = []
    for c, name in enumerate(classes):
        files = sorted((f for f in os.listdir(os.path.join(data, name))
                        if f.lower().endswith((".jpg", ".jpeg"))), key=lambda s: s.encode())
        images += [(f"{name}/{f}", c) for f in files]
    chosen = images[:: a.every]
    listfile = os.path.join(tmp, "list.txt")
    with open(listfile, "w") as f:
        f.write("".join(p + "\n" for p, _ in chosen))

    out = subprocess.run([a.constsim, "eval", model, "--data", data, "--list", listfile],
                         check=True, capture_output=True, text=True).stdout
    c = json.loads(out)

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    _, tensors = read_safetensors(model)
    net = EuroSatCNN()
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}, strict=True)
    net.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(chosen), 256):
            part = chosen[i:i + 256]
            x = np.stack([np.asarray(Image.open(os.path.join(data, p)).convert("RGB"))
                          for p, _ in part]).astype(np.float32)
            x = torch.from_numpy(x).permute(0, 3, 1, 2) / 255.0
            x = (x - 0.5) / 0.5
            y = torch.tensor([l for _, l in part])
            logits = net(x)
            loss_sum += torch.nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    t_acc, t_loss = correct / len(chosen), loss_sum / len(chosen)
    diff_pts = abs(100 * (c["accuracy"] - t_acc))
    ok = c["images"] == len(chosen) and diff_pts <= a.tolerance_pts and abs(c["loss"] - t_loss) < 1e-3
    print(json.dumps({"images": len(chosen), "constsim_accuracy": c["accuracy"],
                      "torch_accuracy": t_acc, "diff_pts": diff_pts, "constsim_loss": c["loss"],
                      "torch_loss": t_loss, "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
