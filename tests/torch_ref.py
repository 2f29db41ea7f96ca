#!/usr/bin/python3
"""PyTorch reference for tests/test_nn_golden.c.

usage: /usr/bin/python3 tests/torch_ref.py IN.bin OUT.bin

Loads a model state and a batch written by the C test into the PyTorch module equivalent to
ml/nn.h, runs one training step (train mode: forward, mean cross-entropy, backward, one
torch.optim.Adam step) and then an eval-mode forward of the same batch, and writes the results.
Exit code 77 if torch cannot be imported (the C test then reports SKIP), 2 on a bad input file.

IN (little-endian):  b"NNGOLDI1", int32 n, float32 lr,
                     float32 state[434602 + 384]   params in state_dict order, then BN buffers
                     int64 tracked[3], float32 x[n*3*64*64], uint8 labels[n]
OUT (little-endian): b"NNGOLDO1", float32 loss, float32 logits[n*10],
                     float32 grads[434602], float32 buffers[384] (after the training forward),
                     int64 tracked[3], float32 params[434602] (after the Adam step),
                     float32 eval_logits[n*10] (eval mode, after the step)
The flat layout is derived here from model.state_dict() itself (parameters in order, then
running_mean/running_var in order), independently of ml/nn.c's view table.
"""
import struct
import sys

try:
    import numpy as np
    import torch
    import os

    import torch.nn.functional as F

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
    from eurosat_cnn import EuroSatCNN
except ImportError as e:  # the C test turns this into a ctest SKIP
    print(f"torch_ref.py: cannot import torch/numpy: {e}", file=sys.stderr)
    sys.exit(77)

N_PARAMS = 434602
N_BUFFERS = 384


def layout(model):
    """(name, kind, offset, shape) in state_dict order; kind is param, buffer or tracked."""
    params = dict(model.named_parameters())
    out, p_off, b_off, t_off = [], 0, N_PARAMS, 0
    for name, t in model.state_dict().items():
        if name in params:
            out.append((name, "param", p_off, tuple(t.shape)))
            p_off += t.numel()
        elif name.endswith("num_batches_tracked"):
            out.append((name, "tracked", t_off, ()))
            t_off += 1
        else:
            out.append((name, "buffer", b_off, tuple(t.shape)))
            b_off += t.numel()
    if p_off != N_PARAMS or b_off != N_PARAMS + N_BUFFERS or t_off != 3:
        raise SystemExit(f"torch_ref.py: unexpected layout {p_off} {b_off} {t_off}")
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    data = open(sys.argv[1], "rb").read()
    if data[:8] != b"NNGOLDI1":
        print("torch_ref.py: bad magic", file=sys.stderr)
        return 2
    n, lr = struct.unpack_from("<if", data, 8)
    at = 16
    state = np.frombuffer(data, "<f4", N_PARAMS + N_BUFFERS, at)
    at += 4 * (N_PARAMS + N_BUFFERS)
    tracked = np.frombuffer(data, "<i8", 3, at)
    at += 24
    x = np.frombuffer(data, "<f4", n * 3 * 64 * 64, at).reshape(n, 3, 64, 64)
    at += 4 * x.size
    labels = np.frombuffer(data, "u1", n, at)
    at += n
    if at != len(data):
        print(f"torch_ref.py: {len(data) - at} trailing bytes", file=sys.stderr)
        return 2

    model = EuroSatCNN()
    lay = layout(model)
    sd = {}
    for name, kind, off, shape in lay:
        if kind == "tracked":
            sd[name] = torch.tensor(int(tracked[off]), dtype=torch.int64)
        else:
            cnt = int(np.prod(shape))
            sd[name] = torch.from_numpy(state[off:off + cnt].copy().reshape(shape))
    model.load_state_dict(sd)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=float(lr), foreach=False)
    xt = torch.from_numpy(x.copy())
    yt = torch.from_numpy(labels.astype(np.int64))
    opt.zero_grad()
    logits = model(xt)
    loss = F.cross_entropy(logits, yt)
    loss.backward()
    grads = np.concatenate([p.grad.detach().numpy().ravel() for p in model.parameters()])
    after = model.state_dict()
    buffers = np.concatenate([after[name].numpy().ravel() for name, kind, _, _ in lay
                              if kind == "buffer"])
    trk = np.array([int(after[name]) for name, kind, _, _ in lay if kind == "tracked"], "<i8")
    opt.step()
    params = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    model.eval()
    with torch.no_grad():
        eval_logits = model(xt)

    out = bytearray(b"NNGOLDO1")
    out += struct.pack("<f", float(loss))
    for arr, dt in ((logits.detach().numpy(), "<f4"), (grads, "<f4"), (buffers, "<f4"),
                    (trk, "<i8"), (params, "<f4"), (eval_logits.numpy(), "<f4")):
        out += np.ascontiguousarray(arr, dtype=dt).tobytes()
    with open(sys.argv[2], "wb") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
