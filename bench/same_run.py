#!/usr/bin/env python3
"""same_run.py - are two reports of the same scenario and seed the same run?

    python3 bench/same_run.py [--strict] BEFORE.json AFTER.json

Compares every field of the two reports except what may differ between builds and machines:
wall times (any key containing "wall"), the machine description (`machine`) and the version
(`constsim_version`). Fields that only AFTER has are new fields of a later build: they are
listed, not counted (with --strict they count). Paths of model files are compared by file name,
and the files themselves byte for byte (every run's final model and every PTQ file). Prints
each difference; exits 0 when there is none, 1 otherwise, 2 on bad input.
"""
import json
import os
import sys

IGNORED_KEYS = {"machine", "constsim_version"}
PATH_KEYS = {"model_path", "path"}


def differences(a, b, where, out, files, new):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in IGNORED_KEYS or "wall" in k:
                continue
            if k not in a:
                new.append(f"{where}.{k}")
                continue
            if k not in b:
                out.append(f"{where}.{k}: only in before")
                continue
            if k in PATH_KEYS and isinstance(a[k], str) and isinstance(b[k], str) \
                    and where != ".scenario.report":
                if os.path.basename(a[k]) != os.path.basename(b[k]):
                    out.append(f"{where}.{k}: {a[k]!r} != {b[k]!r}")
                elif a[k] and b[k]:
                    files.append((f"{where}.{k}", a[k], b[k]))
                continue
            differences(a[k], b[k], f"{where}.{k}", out, files, new)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} items != {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b)):
            differences(x, y, f"{where}[{i}]", out, files, new)
    elif type(a) is not type(b) or a != b:
        out.append(f"{where}: {a!r} != {b!r}")


def main(argv):
    strict = "--strict" in argv[1:]
    argv = [a for a in argv if a != "--strict"]
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            before = json.load(f)
        with open(argv[2]) as f:
            after = json.load(f)
    except (OSError, ValueError) as e:
        print(f"same_run.py: error: {e}", file=sys.stderr)
        return 2
    out, files, new = [], [], []
    differences(before, after, "", out, files, new)
    if strict:
        out += [f"{w}: only in after" for w in new]
    elif new:
        print(f"new fields in after (not compared): {', '.join(new)}")
    for where, pa, pb in files:
        try:
            with open(pa, "rb") as f:
                da = f.read()
            with open(pb, "rb") as f:
                db = f.read()
        except OSError as e:
            out.append(f"{where}: {e}")
            continue
        if da != db:
            out.append(f"{where}: {pa} and {pb} differ ({len(da)} and {len(db)} bytes)")
    for line in out:
        print(line)
    n_fields = len(json.dumps(before))
    print(f"{'same run' if not out else f'{len(out)} difference(s)'}: "
          f"{argv[1]} vs {argv[2]} ({len(files)} model files compared byte for byte, "
          f"{n_fields} bytes of JSON)")
    return 0 if not out else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
