#!/usr/bin/python3
"""Checks constsim model files against PyTorch (torch 1.13; no safetensors package needed).

    /usr/bin/python3 bench/torch_load_check.py MODEL_fp32.safetensors
        [--fp16 MODEL_fp16.safetensors] [--int8 MODEL_int8.safetensors] [--out ROUNDTRIP.safetensors]

- parses the safetensors files with json + numpy (format: 8-byte little-endian header length,
  JSON header, raw little-endian data);
- loads the FP32 file into the equivalent torch module with load_state_dict(strict=True) and
  checks that the module's state_dict() gives back every tensor bit for bit;
- with --fp16: every float tensor must be F16 and equal, bit for bit, to torch's own
  float32 -> float16 conversion of the FP32 file's tensor; counters stay I64;
- with --int8: every conv/linear weight must be I8 with an F32 "<name>.scale" equal to
  float32(max|w|) / 127 per output channel and q = round-half-even(w / scale) clamped to
  [-127, 127] (computed here with numpy); other tensors equal the FP32 file; the dequantised
  state (q * scale) must load with strict=True;
- with --out: writes the module's state_dict() as a safetensors file (written here), which
  constsim must read back to the same values.
Prints one JSON object; exit code 0 if every check passed, 1 otherwise, 2 on bad usage.
"""
import argparse
import json
import struct
import sys

import numpy as np
import torch

from eurosat_cnn import EuroSatCNN

DTYPES = {"F32": np.float32, "F16": np.float16, "I8": np.int8, "I64": np.int64}


def read_safetensors(path):
    """Returns (metadata dict, {name: numpy array}) in header order, validating the layout."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError(f"{path}: shorter than 8 bytes")
    (hlen,) = struct.unpack("<Q", buf[:8])
    if hlen > len(buf) - 8:
        raise ValueError(f"{path}: header length {hlen} beyond the file")
    header = json.loads(buf[8 : 8 + hlen].decode("utf-8"))
    data = buf[8 + hlen :]
    meta = header.pop("__metadata__", {})
    tensors = {}
    spans = []
    for name, info in header.items():
        dt = DTYPES[info["dtype"]]
        shape = tuple(info["shape"])
        b, e = info["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if e - b != count * np.dtype(dt).itemsize or e > len(data):
            raise ValueError(f"{path}: {name}: data_offsets do not match the shape")
        arr = np.frombuffer(data, dtype=np.dtype(dt).newbyteorder("<"), count=count, offset=b)
        tensors[name] = arr.reshape(shape).copy()
        spans.append((b, e))
    spans.sort()
    cursor = 0
    for b, e in spans:
        if b != cursor:
            raise ValueError(f"{path}: data section not covered exactly")
        cursor = e
    if cursor != len(data):
        raise ValueError(f"{path}: trailing data")
    return meta, tensors


def write_safetensors(path, tensors, meta):
    names = {np.float32: "F32", np.float16: "F16", np.int8: "I8", np.int64: "I64"}
    header = {"__metadata__": meta}
    chunks = []
    off = 0
    for name, arr in tensors.items():
        arr = np.array(arr, order="C")  # (ascontiguousarray would turn a 0-d counter into 1-d)
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": names[arr.dtype.type],
            "shape": list(arr.shape),
            "data_offsets": [off, off + len(raw)],
        }
        chunks.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


def bits_equal(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fp32")
    ap.add_argument("--fp16")
    ap.add_argument("--int8")
    ap.add_argument("--out")
    args = ap.parse_args()
    failures = []
    report = {"torch": torch.__version__}

    _, t32 = read_safetensors(args.fp32)
    model = EuroSatCNN()
    report["parameters"] = sum(p.numel() for p in model.parameters())
    if report["parameters"] != 434602:
        failures.append(f"torch module has {report['parameters']} parameters")
    sd = {k: torch.from_numpy(v) for k, v in t32.items()}
    res = model.load_state_dict(sd, strict=True)  # raises on missing/unexpected/wrong shape
    report["missing"] = list(res.missing_keys)
    report["unexpected"] = list(res.unexpected_keys)
    back = model.state_dict()
    report["tensors"] = len(back)
    if list(back.keys()) != list(t32.keys()):
        failures.append("tensor order differs from the torch state_dict order")
    for name, v in back.items():
        if not bits_equal(v.numpy(), t32[name]):
            failures.append(f"fp32 round trip: {name} differs")

    # A forward pass in eval mode must be finite (the loaded statistics are usable).
    model.eval()
    with torch.no_grad():
        x = torch.linspace(-1.0, 1.0, 2 * 3 * 64 * 64).reshape(2, 3, 64, 64)
        logits = model(x)
    if not torch.isfinite(logits).all():
        failures.append("forward pass gives non-finite logits")

    if args.fp16:
        _, t16 = read_safetensors(args.fp16)
        if set(t16) != set(t32):
            failures.append("fp16 file: tensor names differ from the fp32 file")
        bad = 0
        for name, ref in t32.items():
            got = t16.get(name)
            if got is None:
                continue
            if ref.dtype == np.int64:
                ok = bits_equal(got, ref)
            else:
                want = torch.from_numpy(ref).half().numpy()  # torch's conversion as the oracle
                ok = got.dtype == np.float16 and bits_equal(got.view(np.uint16), want.view(np.uint16))
            if not ok:
                bad += 1
                failures.append(f"fp16 file: {name} differs from torch's float16 conversion")
        report["fp16_tensors_checked"] = len(t32)
        report["fp16_mismatches"] = bad
        sd16 = {k: torch.from_numpy(v.astype(np.float32) if v.dtype == np.float16 else v) for k, v in t16.items()}
        model.load_state_dict(sd16, strict=True)

    if args.int8:
        _, t8 = read_safetensors(args.int8)
        weights = [k for k in t32 if k.endswith(".weight") and t32[k].ndim >= 2]
        want_names = set(t32) | {w + ".scale" for w in weights}
        if set(t8) != want_names:
            failures.append("int8 file: tensor names differ from fp32 names + <weight>.scale")
        bad = 0
        max_err_over_scale = 0.0
        deq = {}
        for name, ref in t32.items():
            got = t8.get(name)
            if got is None:
                continue
            if name in weights:
                rows = ref.reshape(ref.shape[0], -1)
                scale = (np.abs(rows).max(axis=1).astype(np.float32) / np.float32(127)).astype(np.float32)
                with np.errstate(divide="ignore", invalid="ignore"):
                    q = np.rint(rows.astype(np.float64) / scale.astype(np.float64)[:, None])
                q = np.where(scale[:, None] == 0, 0, np.clip(q, -127, 127)).astype(np.int8)
                s_got = t8.get(name + ".scale")
                if got.dtype != np.int8 or not bits_equal(got.reshape(q.shape), q):
                    bad += 1
                    failures.append(f"int8 file: {name}: q differs from round-half-even(w/scale)")
                if s_got is None or not bits_equal(s_got, scale):
                    bad += 1
                    failures.append(f"int8 file: {name}.scale differs from max|w|/127")
                d = (got.reshape(q.shape).astype(np.float32) * (s_got if s_got is not None else scale)[:, None])
                err = np.abs(d.astype(np.float64) - rows.astype(np.float64))
                nz = scale > 0
                if nz.any():
                    max_err_over_scale = max(max_err_over_scale, float((err[nz] / scale[nz, None]).max()))
                deq[name] = torch.from_numpy(d.reshape(ref.shape).astype(np.float32))
            else:
                if not bits_equal(got, ref):
                    bad += 1
                    failures.append(f"int8 file: {name} should equal the fp32 tensor")
                deq[name] = torch.from_numpy(got)
        report["int8_mismatches"] = bad
        report["int8_max_error_over_scale"] = max_err_over_scale
        if max_err_over_scale > 0.5 + 1e-6:
            failures.append(f"int8 error {max_err_over_scale} x scale > scale/2")
        model.load_state_dict(deq, strict=True)

    if args.out:
        fresh = EuroSatCNN()
        fresh.load_state_dict({k: torch.from_numpy(v) for k, v in t32.items()}, strict=True)
        write_safetensors(args.out, {k: v.numpy() for k, v in fresh.state_dict().items()}, {"format": "pt"})
        report["out"] = args.out

    report["failures"] = failures
    report["ok"] = not failures
    print(json.dumps(report, indent=1))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
