#!/usr/bin/python3
"""lowbit_check.py MODEL_fp32.safetensors --int4 F --ternary F --topk F

Reads constsim's INT4, ternary and top-k files of the model in MODEL_fp32 (full states, as
`nn_codec_save` writes them) with json + numpy only, following docs/formats.md ("The low
precisions") and nothing of constsim's code, and checks them against the FP32 weights:
- int4/ternary: for every group of constsim.group_size values of each weight (0: per output
  channel), scale == float32(max|w|) / qmax and q == round-half-even(w / scale) (in float64),
  q in [-qmax, qmax], |w - q*scale| <= scale/2; biases and BN tensors equal the FP32 ones;
- topk: the kept positions are the k = constsim.topk_k largest |w| over all weights together
  (ties: the lower index in state_dict order), the values float16(w), each weight's index stream
  the shorter of mask and LEB128 gaps.
Prints one line per file; exit status 0 when every check holds, 1 otherwise, 77 without numpy.
"""
import argparse
import json
import struct
import sys

try:
    import numpy as np
except ImportError:
    print("lowbit_check.py: numpy is not available", file=sys.stderr)
    sys.exit(77)

DTYPES = {"F32": np.float32, "F16": np.float16, "I8": np.int8, "I64": np.int64, "U8": np.uint8}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        b, en = e["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + en], dtype=DTYPES[e["dtype"]]).reshape(
            e["shape"])
    return meta, out, list(header.keys())


def weights(ref):
    """The conv/linear weights (ndim >= 2) in state_dict order."""
    return [k for k in ref if k.endswith(".weight") and ref[k].ndim >= 2]


def check_lowbit(path, ref, qmax, fails):
    meta, t, _ = read(path)
    G0 = int(meta["constsim.group_size"])
    worst = 0.0
    for name, w in ref.items():
        if name not in weights(ref):
            if name not in t or t[name].tobytes() != w.tobytes():
                fails.append(f"{path}: {name} differs from the fp32 tensor")
            continue
        shape = json.loads(meta["constsim.shape." + name])
        if list(shape) != list(w.shape):
            fails.append(f"{path}: constsim.shape.{name} is {shape}")
        flat = w.reshape(-1)
        n = flat.size
        b = t[name]
        if qmax == 7:
            q = np.empty(2 * b.size, np.int16)
            q[0::2] = b & 0xF
            q[1::2] = b >> 4
            q = np.where(q > 7, q - 16, q)[:n]
        else:
            codes = ((b[:, None] >> np.array([0, 2, 4, 6], np.uint8)) & 3).reshape(-1)[:n]
            q = np.select([codes == 1, codes == 3], [1, -1], 0).astype(np.int16)
        G = G0 or n // shape[0]
        scale = t[name + ".scale"]
        ng = (n + G - 1) // G
        if scale.size != ng:
            fails.append(f"{path}: {name}.scale has {scale.size} values, not {ng}")
            continue
        pad = np.zeros(ng * G, np.float32)
        pad[:n] = np.abs(flat)
        want_scale = pad.reshape(ng, G).max(axis=1).astype(np.float32) / np.float32(qmax)
        if not np.array_equal(scale, want_scale):
            fails.append(f"{path}: {name}.scale differs from max|w|/{qmax}")
        s = np.repeat(scale.astype(np.float64), G)[:n]
        with np.errstate(divide="ignore", invalid="ignore"):
            want_q = np.where(s > 0, np.rint(flat.astype(np.float64) / s), 0)
        want_q = np.clip(want_q, -qmax, qmax)
        if not np.array_equal(q, want_q.astype(np.int16)):
            fails.append(f"{path}: {name}: {int((q != want_q).sum())} codes differ from "
                         "round-half-even(w/scale)")
        err = np.abs(flat.astype(np.float64) - q * s)
        ok = s > 0
        if ok.any():
            worst = max(worst, float((err[ok] / s[ok]).max()))
    if worst > 0.5:
        fails.append(f"{path}: error {worst} x scale > scale/2")
    kind = "int4" if qmax == 7 else "ternary"
    return f"{path}: {kind} ok (group {G0}, max error {worst:.4f} x scale)"


def leb(values):
    out = bytearray()
    for v in values:
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
    return bytes(out)


def check_topk(path, ref, fails):
    meta, t, _ = read(path)
    k = int(meta["constsim.topk_k"])
    ws = weights(ref)
    flat = np.concatenate([ref[n].reshape(-1) for n in ws])
    # the k largest |w|, ties to the lower index: a stable sort of -|w|
    order = np.argsort(-np.abs(flat.astype(np.float64)), kind="stable")[:k]
    keep = np.zeros(flat.size, bool)
    keep[order] = True
    pos = 0
    for name in ws:
        n = ref[name].size
        kept = np.flatnonzero(keep[pos:pos + n])
        vals = t.get(name + ".values")
        if vals is None or vals.size != kept.size:
            fails.append(f"{path}: {name}.values: {None if vals is None else vals.size} values, "
                         f"want {kept.size}")
            pos += n
            continue
        if not np.array_equal(vals.view(np.uint16),
                              ref[name].reshape(-1)[kept].astype(np.float16).view(np.uint16)):
            fails.append(f"{path}: {name}.values are not float16 of the kept weights")
        mask = np.packbits(keep[pos:pos + n], bitorder="little")
        gaps = leb([int(kept[0])] + [int(d) - 1 for d in np.diff(kept)] if kept.size else [])
        if len(gaps) < mask.size:
            if name + ".gaps" not in t or t[name + ".gaps"].tobytes() != gaps:
                fails.append(f"{path}: {name}: expected the gap stream ({len(gaps)} bytes)")
        elif name + ".mask" not in t or not np.array_equal(t[name + ".mask"], mask):
            fails.append(f"{path}: {name}: expected the mask ({mask.size} bytes)")
        pos += n
    return f"{path}: topk ok (k {k} of {flat.size})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fp32")
    ap.add_argument("--int4")
    ap.add_argument("--ternary")
    ap.add_argument("--topk")
    a = ap.parse_args()
    _, ref, _ = read(a.fp32)
    fails = []
    lines = []
    if a.int4:
        lines.append(check_lowbit(a.int4, ref, 7, fails))
    if a.ternary:
        lines.append(check_lowbit(a.ternary, ref, 1, fails))
    if a.topk:
        lines.append(check_topk(a.topk, ref, fails))
    for f in fails:
        print(f, file=sys.stderr)
    if not fails:
        print("\n".join(lines))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
