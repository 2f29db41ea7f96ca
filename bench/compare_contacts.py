#!/usr/bin/python3
"""Compare the contact plans of two builds of constsim window for window.

    /usr/bin/python3 bench/compare_contacts.py [--old /work/base] [--new .] [--quick]

Each ROOT is a source tree with its build in ROOT/build (cmake --build). The script compiles
bench/contacts_dump.c against each build's libraries (full-precision windows, the search on one
thread) and runs both on the same inputs:

  - walker-1584-sgp4: 72 x 22 Walker-delta at 550 km / 53 deg, 100 Fibonacci stations (mask
    10 deg), 1 day: the case of `constsim bench contacts`; the same with J2 and Kepler;
  - walker-5976-sgp4: 72 x 83 (what `constsim bench contacts --satellites 6000` builds);
  - walker-1200-polar: 40 x 30 at 1200 km / 87.9 deg, 100 stations at a 25-deg mask;
  - every scenarios/*.yaml, as `constsim contacts` computes it;
  - eccentric-tle: a generated TLE file (Molniya, GTO, 12-h and 24-h deep-space orbits, an
    eccentric LEO and an ISS-like orbit with drag) against 8 stations over 3 days.

Per case: windows in each plan, satellite-station pairs whose window counts differ (with the
windows found by one build only), and over the windows matched in order within each pair the
largest |difference| of start, end, time of maximum and maximum elevation, and differing flags.
Then `constsim contacts` of both builds on scenarios/*.yaml (CSV, millisecond precision): counts
and the largest difference of the printed times. Exit 1 if a case has rise/set differences
above --tol-s (1 ms), elevation differences above --tol-deg (0.001), differing flags, a window
only the old build found, or a window only the new build found whose peak clears its mask by
more than --graze-deg (0.001: the passes the earlier search could miss, docs/orbits.md).
"""
import argparse
import glob
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def build_dump(root, out):
    b = os.path.join(root, "build")
    inc = [f"-I{root}/{d}" for d in ("common", "orbits", "ml", "sim")]
    libs = [f"{b}/libcs_{m}.a" for m in ("sim", "ml", "orbits", "common")]
    cmd = (["cc", "-O2", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE"] + inc +
           [os.path.join(HERE, "contacts_dump.c")] + libs + [f"{b}/cs_version.c"] +
           ["-lgsl", "-lgslcblas", "-lyaml", "-lcjson", "-lopenblas", "-ljpeg", "-lm", "-lpthread",
            "-fopenmp", "-o", out])
    subprocess.run(cmd, check=True)


def run_dump(exe, args, cwd):
    t0 = time.time()
    p = subprocess.run([exe] + args, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{exe} {' '.join(args)}: {p.stderr.strip()}")
    rows, info = [], ""
    for line in p.stdout.splitlines():
        if line.startswith("#"):
            info = line[2:]
            continue
        f = line.split()
        rows.append((int(f[0]), int(f[1]), float(f[2]), float(f[3]), float(f[4]), float(f[5]),
                     int(f[6]), float(f[7])))
    return rows, info, time.time() - t0


def by_pair(rows):
    d = {}
    for r in rows:
        d.setdefault((r[0], r[1]), []).append(r)
    for v in d.values():
        v.sort(key=lambda r: r[2])
    return d


def match_unequal(a, b):
    """Pairs windows of two lists by overlap; returns (matched pairs, only in a, only in b)."""
    used, pairs, only_a = set(), [], []
    for wa in a:
        best, bo = None, 0.0
        for j, wb in enumerate(b):
            if j in used:
                continue
            ov = min(wa[3], wb[3]) - max(wa[2], wb[2])
            if ov > bo or (best is None and ov >= 0.0 and wa[3] > wa[2]):
                best, bo = j, ov
        if best is None:
            only_a.append(wa)
        else:
            used.add(best)
            pairs.append((wa, b[best]))
    return pairs, only_a, [wb for j, wb in enumerate(b) if j not in used]


def compare(old, new):
    po, pn = by_pair(old), by_pair(new)
    res = {"n_old": len(old), "n_new": len(new), "pairs_diff": 0, "only_old": [], "only_new": [],
           "flags": 0}
    d0, d1, dm, de = [], [], [], []
    for key in sorted(set(po) | set(pn)):
        a, b = po.get(key, []), pn.get(key, [])
        if len(a) == len(b):
            pairs = list(zip(a, b))
        else:
            res["pairs_diff"] += 1
            pairs, oa, ob = match_unequal(a, b)
            res["only_old"] += oa
            res["only_new"] += ob
        for wa, wb in pairs:
            d0.append(abs(wa[2] - wb[2]))
            d1.append(abs(wa[3] - wb[3]))
            dm.append(abs(wa[4] - wb[4]))
            de.append(abs(wa[5] - wb[5]))
            res["flags"] += wa[6] != wb[6]
    arr = lambda x: np.array(x) if x else np.zeros(1)
    d0, d1, dm, de = arr(d0), arr(d1), arr(dm), arr(de)
    dt = np.maximum(d0, d1)
    res.update(max_dt=dt.max(), p99_dt=np.percentile(dt, 99), max_dtmax=dm.max(), max_del=de.max(),
               p99_del=np.percentile(de, 99), over_1ms=int((dt > 1e-3).sum()))
    return res


TLE_SETS = [
    # name, catalogue number, inclination, RAAN, eccentricity, arg. perigee, mean anomaly,
    # mean motion (rev/day), bstar
    ("MOLNIYA-LIKE", 90001, 63.40, 120.0, 0.7200, 270.0, 10.0, 2.00600, 0.0),
    ("GTO-LIKE", 90002, 27.00, 45.0, 0.7300, 178.0, 20.0, 2.25600, 0.0),
    ("GPS-LIKE", 90003, 55.00, 200.0, 0.0100, 30.0, 300.0, 2.00561, 0.0),
    ("GEO-LIKE", 90004, 0.05, 75.0, 0.0002, 90.0, 250.0, 1.00273, 0.0),
    ("ECC-LEO", 90005, 63.00, 10.0, 0.0900, 45.0, 100.0, 12.80000, 1.2e-4),
    ("ISS-LIKE", 90006, 51.64, 300.0, 0.0005, 60.0, 150.0, 15.50000, 3.0e-4),
]


def tle_checksum(line):
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def tle_exp(x):
    """TLE's assumed-decimal exponent field: ' 12345-4' for 1.2345e-4."""
    if x == 0.0:
        return " 00000-0"
    e = math.floor(math.log10(abs(x))) + 1
    m = round(abs(x) / 10.0 ** e * 1e5)
    if m >= 100000:
        m //= 10
        e += 1
    return f"{'-' if x < 0 else ' '}{m:05d}{'-' if e < 0 else '+'}{abs(e)}"


def write_tle_case(d):
    lines = []
    for name, num, inc, raan, ecc, argp, ma, mm, bstar in TLE_SETS:
        l1 = (f"1 {num:05d}U 26001A   25365.50000000  .00000000  00000-0 {tle_exp(bstar)} 0  999")
        l2 = (f"2 {num:05d} {inc:8.4f} {raan:8.4f} {round(ecc * 1e7):07d} {argp:8.4f} {ma:8.4f} "
              f"{mm:11.8f}    1")
        l1 += str(tle_checksum(l1))
        l2 += str(tle_checksum(l2))
        assert len(l1) == 69 and len(l2) == 69, (l1, l2)
        lines += [name, l1, l2]
    with open(os.path.join(d, "ecc.tle"), "w") as f:
        f.write("\n".join(lines) + "\n")
    stations = [("Svalbard", 78.23, 15.41, 450, 5), ("Matera", 40.65, 16.70, 540, 10),
                ("Hartebeesthoek", -25.89, 27.69, 1415, 10), ("Quito", -0.18, -78.47, 2850, 0),
                ("McMurdo", -77.85, 166.67, 10, 5), ("Tokyo", 35.68, 139.69, 40, 20),
                ("Hawaii", 19.82, -155.47, 4200, 15), ("Punta-Arenas", -53.16, -70.91, 30, 5)]
    st = "".join(f"""  - name: {n}
    lat_deg: {la}
    lon_deg: {lo}
    alt_m: {al}
    min_elevation_deg: {m}
    uplink_mbps: 10
    downlink_mbps: 50
""" for n, la, lo, al, m in stations)
    src = open(os.path.join(HERE, "..", "scenarios", "eo-tle.yaml")).read()
    tail = src[src.index("\nlinks:"):]
    body = f"""name: eccentric-tle
seed: 7
epoch: 2026-01-01T00:00:00Z
duration: 3d

constellation:
  tle: ecc.tle
  propagator: sgp4

ground_stations:
{st}{tail}"""
    path = os.path.join(d, "eccentric-tle.yaml")
    with open(path, "w") as f:
        f.write(body)
    return path


def csv_rows(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            f_ = line.rstrip("\n").rsplit(",", 6)
            rows.append((f_[0], float(f_[3]), float(f_[4]), float(f_[6])))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", default="/work/base", help="tree of the reference build")
    ap.add_argument("--new", default=os.path.dirname(HERE), help="tree of the build to check")
    ap.add_argument("--quick", action="store_true", help="skip the 5976-satellite case")
    ap.add_argument("--tol-s", type=float, default=1e-3)
    ap.add_argument("--tol-deg", type=float, default=1e-3)
    ap.add_argument("--graze-deg", type=float, default=1e-3)
    a = ap.parse_args()
    os.environ.setdefault("CONSTSIM_SHARED", os.path.join(os.path.dirname(a.new), "shared"))
    tmp = tempfile.mkdtemp(prefix="compare-contacts-")
    exe = {}
    for tag, root in (("old", a.old), ("new", a.new)):
        exe[tag] = os.path.join(tmp, f"dump-{tag}")
        build_dump(os.path.abspath(root), exe[tag])
    cwd = os.path.abspath(a.new)
    cases = [("walker-1584-sgp4", ["walker", "72", "22", "550", "53", "sgp4", "24", "100", "10"]),
             ("walker-1584-j2", ["walker", "72", "22", "550", "53", "j2", "24", "100", "10"]),
             ("walker-1584-kepler", ["walker", "72", "22", "550", "53", "kepler", "24", "100",
                                     "10"]),
             ("walker-1200-polar", ["walker", "40", "30", "1200", "87.9", "sgp4", "24", "100",
                                    "25"])]
    if not a.quick:
        cases.append(("walker-5976-sgp4", ["walker", "72", "83", "550", "53", "sgp4", "24", "100",
                                           "10"]))
    scen = sorted(glob.glob(os.path.join(cwd, "scenarios", "*.yaml")))
    cases += [(os.path.basename(s), ["scenario", s]) for s in scen]
    cases.append(("eccentric-tle", ["scenario", write_tle_case(tmp)]))

    print(f"old: {os.path.abspath(a.old)}   new: {cwd}")
    hdr = (f"{'case':22} {'windows old/new':>17} {'pairs':>5} {'max|dt| s':>10} "
           f"{'p99|dt| s':>10} {'>1ms':>5} {'max|del| deg':>12} {'max|dtmax| s':>12} "
           f"{'flags':>5} {'wall old/new s':>15}")
    print(hdr)
    bad, notes, n_only_old, only_new = 0, [], 0, []
    for name, args in cases:
        ro, io, wo = run_dump(exe["old"], args, cwd)
        rn, inn, wn = run_dump(exe["new"], args, cwd)
        r = compare(ro, rn)
        print(f"{name:22} {r['n_old']:>8}/{r['n_new']:<8} {r['pairs_diff']:>5} "
              f"{r['max_dt']:10.2e} {r['p99_dt']:10.2e} {r['over_1ms']:>5} {r['max_del']:12.2e} "
              f"{r['max_dtmax']:12.2e} {r['flags']:>5} {wo:7.2f}/{wn:<7.2f}")
        for tag, lst in (("old", r["only_old"]), ("new", r["only_new"])):
            for w in lst:
                notes.append(f"  {name}: only in {tag}: sat {w[0]} station {w[1]} start "
                             f"{w[2]:.3f} s, {w[3] - w[2]:.3f} s long, max {w[5]:.7f} deg "
                             f"({w[5] - w[7]:.1e} above the mask)")
        n_only_old += len(r["only_old"])
        only_new += [w[5] - w[7] for w in r["only_new"]]
        if (r["only_old"] or any(w[5] - w[7] > a.graze_deg for w in r["only_new"]) or
                r["max_dt"] > a.tol_s or r["max_del"] > a.tol_deg or r["flags"]):
            bad += 1
        notes.append(f"  {name}: old {io}\n  {' ' * len(name)}  new {inn}")
    print("\n".join(notes))
    print(f"\nwindows only in old: {n_only_old}; only in new: {len(only_new)}"
          + (f", peaking {min(only_new):.1e} to {max(only_new):.1e} deg above their masks"
             if only_new else ""))

    # The command line: constsim contacts of both builds, CSV (millisecond precision).
    print("\nconstsim contacts (CSV, ms):")
    for s in scen:
        out = {}
        for tag, root in (("old", a.old), ("new", a.new)):
            path = os.path.join(tmp, f"{tag}-{os.path.basename(s)}.csv")
            subprocess.run([os.path.join(os.path.abspath(root), "build", "constsim"), "contacts", s,
                            "-o", path], cwd=cwd, check=True, capture_output=True)
            out[tag] = csv_rows(path)
        o, n = out["old"], out["new"]
        same = len(o) == len(n)
        dmax = max((max(abs(x[1] - y[1]), abs(x[2] - y[2])) for x, y in zip(o, n)), default=0.0)
        demax = max((abs(x[3] - y[3]) for x, y in zip(o, n)), default=0.0)
        print(f"  {os.path.basename(s):24} {len(o):>7}/{len(n):<7} windows, "
              f"{'same order' if same and all(x[0] == y[0] for x, y in zip(o, n)) else 'DIFFER'}"
              f", max |dt| {dmax * 1e3:.0f} ms, max |del| {demax:.3f} deg")
        if not same or dmax > a.tol_s + 1e-6:  # printed to the ms: a true 0.1 ms may show as 1
            bad += 1
    print("\nresult:", "OK" if bad == 0 else f"{bad} case(s) outside the tolerances")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
