#!/usr/bin/python3
"""Check a constsim contact plan against skyfield.

usage: /usr/bin/python3 bench/skyfield_contacts.py SCENARIO.yaml [PLAN.csv] [--constsim EXE]
                                                    [--tol-s 1.0] [--tol-el-deg 0.05]

Reads the scenario's epoch, duration, TLE file (constellation.tle, optional select) and ground
stations, and a contact plan in constsim's CSV format (satellite,station,start_utc,end_utc,
start_s,end_s,duration_s,max_elevation_deg). Without PLAN.csv it runs
`constsim contacts SCENARIO.yaml --format csv` (EXE from --constsim, $CONSTSIM_EXE or ./constsim).

Reference: skyfield 1.45 (offline: load.timescale(builtin=True)), EarthSatellite (SGP4, WGS-72),
wgs84.latlon stations, EarthSatellite.find_events for the passes. find_events locates rises and
sets to about half a second only, so every rise and set is then refined by bisection on skyfield's
own topocentric altitude to 0.1 ms. Skyfield's frame chain (TEME -> GCRS -> ITRS with its UT1
tables and nutation) is independent of constsim's (TEME -> PEF through IAU-82 GMST, UT1 = UTC).

Checks, per satellite-station pair: the same number of windows; every start and end within
--tol-s (default 1 s; windows open at the start or end of the horizon must be open in both);
the maximum elevation of windows that are not cut by the horizon within --tol-el-deg. Prints the
largest differences; exits 1 on any failure, 2 on bad input.
"""
import argparse
import csv
import datetime as dt
import io
import os
import subprocess
import sys

import numpy as np
import yaml
from skyfield.api import EarthSatellite, load, wgs84


def fail_input(msg):
    print(f"skyfield_contacts: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_duration(v):
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip()
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    if s and s[-1] in units:
        return float(s[:-1]) * units[s[-1]]
    return float(s)


def parse_epoch(v):
    if isinstance(v, dt.datetime):
        e = v
    else:
        s = str(v).strip().replace("Z", "+00:00").replace("z", "+00:00")
        e = dt.datetime.fromisoformat(s)
    if e.tzinfo is None:
        fail_input(f"epoch {v!r} has no time zone")
    return e.astimezone(dt.timezone.utc)


def load_tles(path):
    """2- and 3-line sets; returns [(name, line1, line2)]; 2-line sets are named by number."""
    with open(path) as f:
        lines = [l.rstrip("\r\n") for l in f]
    lines = [l for l in lines if l.strip() and not l.startswith("#")]
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("1 ") and i + 1 < len(lines) and lines[i + 1].startswith("2 "):
            l1, l2 = lines[i], lines[i + 1]
            out.append((l1[2:7].strip().lstrip("0") or "0", l1, l2))
            i += 2
        elif i + 2 < len(lines):
            name = lines[i].strip()
            if name.startswith("0 "):
                name = name[2:].strip()
            out.append((name, lines[i + 1], lines[i + 2]))
            i += 3
        else:
            fail_input(f"{path}: incomplete element set at the end")
    return out


def load_scenario(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(path))
    con = doc.get("constellation", {})
    if "tle" not in con:
        fail_input(f"{path}: constellation.tle is required for a skyfield comparison")
    prop = con.get("propagator", "sgp4")
    if prop != "sgp4":
        fail_input(f"{path}: propagator {prop!r}: only sgp4 can be compared with skyfield")
    tles = load_tles(os.path.join(base, con["tle"]))
    sel = con.get("select")
    if sel:
        by_name = {t[0]: t for t in tles}
        missing = [s for s in sel if s not in by_name]
        if missing:
            fail_input(f"{path}: selected satellites not in the TLE file: {missing}")
        tles = [by_name[s] for s in sel]
    stations = [
        dict(
            name=g["name"],
            lat=float(g["lat_deg"]),
            lon=float(g["lon_deg"]),
            alt=float(g.get("alt_m", 0.0)),
            mask=float(g.get("min_elevation_deg", 0.0)),
        )
        for g in doc["ground_stations"]
    ]
    return parse_epoch(doc["epoch"]), parse_duration(doc["duration"]), tles, stations


def read_plan(text):
    rows = list(csv.DictReader(io.StringIO(text)))
    want = ["satellite", "station", "start_utc", "end_utc", "start_s", "end_s", "duration_s",
            "max_elevation_deg"]
    if rows and list(rows[0].keys()) != want:
        fail_input(f"plan columns {list(rows[0].keys())} != {want}")
    plan = {}
    for r in rows:
        plan.setdefault((r["satellite"], r["station"]), []).append(
            (float(r["start_s"]), float(r["end_s"]), float(r["max_elevation_deg"])))
    for v in plan.values():
        v.sort()
    return plan


class Pair:
    """Skyfield altitude of one satellite from one station at offsets (s) from the epoch."""

    def __init__(self, ts, epoch, sat, st):
        self.ts, self.epoch, self.sat = ts, epoch, sat
        self.topos = wgs84.latlon(st["lat"], st["lon"], elevation_m=st["alt"])
        self.diff = sat - self.topos
        self.mask = st["mask"]

    def times(self, offsets_s):
        e = self.epoch
        sec = e.second + e.microsecond * 1e-6 + np.asarray(offsets_s, dtype=float)
        return self.ts.utc(e.year, e.month, e.day, e.hour, e.minute, sec)

    def alt(self, offsets_s):
        return self.diff.at(self.times(offsets_s)).altaz()[0].degrees

    def offset_of(self, t):
        t0 = self.times(0.0)
        return ((t.whole - t0.whole) + (t.tt_fraction - t0.tt_fraction)) * 86400.0

    def refine(self, guesses, rising):
        """Bisection of altitude - mask around each guess, to 1e-4 s."""
        g = np.asarray(guesses, dtype=float)
        if g.size == 0:
            return g
        lo, hi = g - 2.0, g + 2.0
        for widen in (2.0, 10.0, 60.0):
            lo, hi = g - widen, g + widen
            flo = self.alt(lo) - self.mask
            fhi = self.alt(hi) - self.mask
            ok = (flo < 0) & (fhi >= 0) if rising else (flo >= 0) & (fhi < 0)
            if ok.all():
                break
        else:
            raise RuntimeError("could not bracket a skyfield crossing")
        while (hi - lo).max() > 1e-4:
            mid = 0.5 * (lo + hi)
            fm = self.alt(mid) - self.mask
            up = fm >= 0
            # rising: above at mid -> crossing is before mid
            move_hi = up if rising else ~up
            hi = np.where(move_hi, mid, hi)
            lo = np.where(move_hi, lo, mid)
        return 0.5 * (lo + hi)

    def windows(self, duration_s):
        t0, t1 = self.times(0.0), self.times(duration_s)
        t, ev = self.sat.find_events(self.topos, t0, t1, altitude_degrees=self.mask)
        off = self.offset_of(t) if len(ev) else np.zeros(0)
        rises = self.refine(off[ev == 0], True)
        sets = self.refine(off[ev == 2], False)
        culm = off[ev == 1]
        culm_alt = self.alt(culm) if len(culm) else np.zeros(0)
        marks = sorted([(x, 0) for x in rises] + [(x, 2) for x in sets])
        inside = self.alt(0.0) >= self.mask
        out, start = [], 0.0
        for x, kind in marks:
            if kind == 0 and not inside:
                start, inside = x, True
            elif kind == 2 and inside:
                out.append([start, x])
                inside = False
        if inside:
            out.append([start, duration_s])
        for w in out:  # highest culmination within the window
            inw = (culm >= w[0]) & (culm <= w[1])
            w.append(float(culm_alt[inw].max()) if inw.any() else float("nan"))
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("plan", nargs="?")
    ap.add_argument("--constsim", default=os.environ.get("CONSTSIM_EXE", "./constsim"))
    ap.add_argument("--tol-s", type=float, default=1.0)
    ap.add_argument("--tol-el-deg", type=float, default=0.05)
    ap.add_argument("--tol-eq-s", type=float, default=0.05,
                    help="tolerance of the second comparison, with skyfield's UT1 = UTC")
    a = ap.parse_args()

    epoch, duration, tles, stations = load_scenario(a.scenario)
    if a.plan:
        with open(a.plan) as f:
            text = f.read()
    else:
        cmd = [a.constsim, "contacts", a.scenario, "--format", "csv"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr, end="")
            print(f"skyfield_contacts: {' '.join(cmd)} exited {r.returncode}", file=sys.stderr)
            return 1
        text = r.stdout
    plan = read_plan(text)

    ts = load.timescale(builtin=True)
    r1 = compare(ts, epoch, duration, tles, stations, plan, a.tol_s, a.tol_el_deg)
    # Same again with UT1 = UTC (constant Delta T = TAI - UTC + 32.184 s), as constsim assumes:
    # what remains is the difference of the frame chains themselves.
    jd_utc = 2440587.5 + epoch.timestamp() / 86400.0  # Unix epoch = JD 2440587.5
    tai_utc = float(ts.leap_offsets[np.searchsorted(ts.leap_dates, jd_utc, side="right") - 1])
    ts_eq = load.timescale(delta_t=tai_utc + 32.184)
    r2 = compare(ts_eq, epoch, duration, tles, stations, plan, a.tol_eq_s, a.tol_el_deg)
    known = {(t[0], s["name"]) for t in tles for s in stations}
    failures = r1["failures"] + [f"(UT1 = UTC) {f}" for f in r2["failures"]]
    for k in plan:
        if k not in known:
            failures.append(f"plan has windows for unknown pair {k}")
    print(f"skyfield_contacts: {len(tles)} satellites x {len(stations)} stations over "
          f"{duration:g} s: {r1['n_win']} windows (skyfield), "
          f"{sum(map(len, plan.values()))} (constsim)")
    print(f"max |start/end difference| = {r1['worst_t'] * 1e3:.3f} ms ({r1['worst_t_at']}); "
          f"tolerance {a.tol_s:g} s")
    print(f"max |max-elevation difference| = {r1['worst_el']:.5f} deg ({r1['worst_el_at']})")
    print(f"with skyfield's UT1 set to UTC as in constsim: max |start/end difference| = "
          f"{r2['worst_t'] * 1e3:.3f} ms ({r2['worst_t_at']}); tolerance {a.tol_eq_s:g} s; "
          f"max |max-elevation difference| = {r2['worst_el']:.5f} deg")
    if failures:
        for f in failures[:50]:
            print("FAIL: " + f)
        print(f"skyfield_contacts: FAILED ({len(failures)} problems)")
        return 1
    print("skyfield_contacts: OK")
    return 0


def compare(ts, epoch, duration, tles, stations, plan, tol_s, tol_el_deg):
    failures, n_win = [], 0
    worst_t, worst_t_at, worst_el, worst_el_at = 0.0, "", 0.0, ""
    for name, l1, l2 in tles:
        sat = EarthSatellite(l1, l2, name, ts)
        for st in stations:
            ref = Pair(ts, epoch, sat, st).windows(duration)
            got = plan.get((name, st["name"]), [])
            n_win += len(ref)
            if len(got) != len(ref):
                failures.append(f"{name} / {st['name']}: {len(got)} windows, skyfield has "
                                f"{len(ref)}: constsim {[(round(g[0]), round(g[1])) for g in got]}"
                                f" skyfield {[(round(r[0]), round(r[1])) for r in ref]}")
                continue
            for g, r in zip(got, ref):
                for k, what in ((0, "start"), (1, "end")):
                    d = abs(g[k] - r[k])
                    if d > worst_t:
                        worst_t = d
                        worst_t_at = f"{name} / {st['name']} {what} at {r[k]:.3f} s"
                    if d > tol_s:
                        failures.append(f"{name} / {st['name']}: {what} {g[k]:.3f} s vs "
                                        f"skyfield {r[k]:.3f} s")
                cut = r[0] <= 0.0 or r[1] >= duration
                if not cut and not np.isnan(r[2]):
                    de = abs(g[2] - r[2])
                    if de > worst_el:
                        worst_el = de
                        worst_el_at = f"{name} / {st['name']} at {r[0]:.0f} s"
                    if de > tol_el_deg:
                        failures.append(f"{name} / {st['name']}: max elevation {g[2]:.4f} vs "
                                        f"skyfield {r[2]:.4f} deg")
    return dict(failures=failures, n_win=n_win, worst_t=worst_t, worst_t_at=worst_t_at,
                worst_el=worst_el, worst_el_at=worst_el_at)


if __name__ == "__main__":
    sys.exit(main())
