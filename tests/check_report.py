#!/usr/bin/python3
"""check_report.py [--threads N] REPORT.json... - checks a constsim report (docs/report.md)
independently of the C code: the required fields of ../shared/spec/REPORT.md, the machine the
report was made on (machine.threads must be N when given), the trace's event count, its sessions,
antennas and selections (check_trace_audit), and every byte count and cost recomputed from the payload size, the per-station transfer counts, partial
bytes, contact minutes and the station prices of the report's own scenario. Sums are recomputed
in the order the simulator uses, so floating-point results must match exactly. Exit status 0
when every report passes, 1 otherwise.
"""
import json
import sys

REQUIRED_TOP = ["format", "constsim_version", "scenario", "model", "contacts", "runs"]
REQUIRED_RUN = ["precision", "payload_bytes", "compression_ratio", "rounds", "final"]
REQUIRED_ROUND = ["round", "sim_time_s", "clients_reported", "accuracy", "loss", "bytes_to_sat",
                  "bytes_to_ground", "cost_usd"]
REQUIRED_FINAL = ["accuracy", "loss", "accuracy_drop_pct", "bytes_to_sat", "bytes_to_ground",
                  "bytes_total", "cost_usd", "rounds_completed", "sim_time_s", "wall_time_s",
                  "model_path"]
REQUIRED_PTQ = ["accuracy", "loss", "file_bytes", "compression_ratio", "accuracy_drop_pct", "path"]
REQUIRED_MACHINE = ["constsim_version", "threads", "cores", "cpu", "blas", "conv_kernels"]
CONV_KERNELS = ("direct-avx512", "im2col-sgemm", "mixed")
REQUIRED_BLAS = ["library", "config", "core", "threads"]


class Checker:
    def __init__(self, path):
        self.path = path
        self.errors = []

    def fail(self, where, msg):
        self.errors.append(f"{self.path}: {where}: {msg}")

    def eq(self, where, got, want):
        if got != want:
            self.fail(where, f"{got!r} != {want!r}")

    def has(self, obj, keys, where):
        for k in keys:
            if k not in obj:
                self.fail(where, f"missing field {k!r}")

    def text(self, where, x):
        if not isinstance(x, str) or not x.strip():
            self.fail(where, f"expected a non-empty string, got {x!r}")

    def count(self, where, x, least):
        if not isinstance(x, int) or isinstance(x, bool) or x < least:
            self.fail(where, f"expected an integer >= {least}, got {x!r}")


def check_machine(chk, m, threads):
    """The machine object: where the report was made (docs/report.md)."""
    if not isinstance(m, dict):
        chk.fail("machine", f"expected an object, got {m!r}")
        return
    chk.has(m, REQUIRED_MACHINE, "machine")
    chk.text("machine.constsim_version", m.get("constsim_version"))
    chk.count("machine.threads", m.get("threads"), 1)
    if threads is not None:
        chk.eq("machine.threads", m.get("threads"), threads)
    chk.count("machine.cores", m.get("cores"), 1)
    chk.text("machine.cpu", m.get("cpu"))
    if m.get("conv_kernels") not in CONV_KERNELS:
        chk.fail("machine.conv_kernels", f"expected one of {CONV_KERNELS}, got {m.get('conv_kernels')!r}")
    blas = m.get("blas")
    if not isinstance(blas, dict):
        chk.fail("machine.blas", f"expected an object, got {blas!r}")
        return
    chk.has(blas, REQUIRED_BLAS, "machine.blas")
    for k in ("library", "config", "core"):
        chk.text("machine.blas." + k, blas.get(k))
    chk.count("machine.blas.threads", blas.get("threads"), 1)


def check_trace(chk, w, trace):
    """The trace's own counts; returns True when it holds every event of the run."""
    chk.eq(w + ".trace.events_recorded", trace.get("events_recorded"), len(trace["events"]))
    if "truncated" not in trace and "events_dropped" not in trace:
        return True
    truncated, dropped = trace.get("truncated"), trace.get("events_dropped")
    if not isinstance(truncated, bool):
        chk.fail(w + ".trace.truncated", f"expected true or false, got {truncated!r}")
    chk.count(w + ".trace.events_dropped", dropped, 0)
    chk.eq(w + ".trace.truncated", truncated, dropped != 0)
    return truncated is False


def check_trace_audit(chk, w, run, stations):
    """What an auditor replays from a complete trace: each up/down_start is closed by the next
    up/down_end of its satellite on the same station, antenna and round; an antenna the station
    has serves one session at a time; other events carry antenna -1 (reports that record it);
    each round's select events follow its round_start and count clients_selected and deferred."""
    trace = run["trace"]
    has_antenna = "antenna" in trace.get("fields", [])
    records = {rd["round"]: rd for rd in run["rounds"]}
    if run.get("unfinished_round"):
        records[run["unfinished_round"]["round"]] = run["unfinished_round"]
    sessions, holder = {}, {}
    selected, deferred = {}, {}
    prev = None
    for i, e in enumerate(trace["events"]):
        where = f"{w}.trace.events[{i}]"
        name, rnd, sat, st = e[1], e[2], e[3], e[4]
        ant = e[7] if has_antenna else None
        if name in ("up_start", "down_start"):
            if has_antenna and not 0 <= ant < stations[st].get("antennas", 1):
                chk.fail(where, f"antenna {ant!r} of a station with "
                         f"{stations[st].get('antennas', 1)}")
            if sat in sessions:
                chk.fail(where, f"satellite {sat} already in a session")
            if has_antenna and (st, ant) in holder:
                chk.fail(where, f"antenna {ant} of station {st} serves satellite "
                         f"{holder[(st, ant)]}")
            sessions[sat] = (name[:-6], st, ant, rnd)
            holder[(st, ant)] = sat
        elif name in ("up_end", "down_end"):
            if sessions.pop(sat, None) != (name[:-4], st, ant, rnd):
                chk.fail(where, "does not end the session its satellite began last")
            holder.pop((st, ant), None)
        elif has_antenna and ant != -1:
            chk.fail(where, f"antenna {ant!r} on a {name} event")
        if name == "select":
            if not prev or prev[1] not in ("round_start", "select") or prev[2] != rnd:
                chk.fail(where, "select not right after its round's round_start")
            selected[rnd] = selected.get(rnd, 0) + 1
            deferred[rnd] = deferred.get(rnd, 0) + (e[6] == 1)
        prev = e
    if sessions:
        chk.fail(w + ".trace", f"sessions never ended: satellites {sorted(sessions)}")
    if not selected:
        return  # a report from before the select events
    for rnd, rd in records.items():
        chk.eq(f"{w} trace selects of round {rnd}", selected.get(rnd, 0), rd["clients_selected"])
        chk.eq(f"{w} trace deferred selects of round {rnd}", deferred.get(rnd, 0), rd["deferred"])


FIXED_SIZE = ("fp32", "fp16", "int8")  # every payload of a run the same size


def trace_whole(chk, where, run):
    """{(round, station, dir): [bytes, count]} of the transfers delivered in one session (the
    report's transfers; resumed ones count as partial bytes), from the trace: a transfer's size
    is the bytes of the satellite's last uplink_wait (dir 0) or train_end (its update, dir 1)
    before the session that delivers it (an up_end/down_end with value 0), and its sessions
    since then must have moved exactly that."""
    whole, size, moved = {}, {}, {}
    trace = run.get("trace") or {}
    for ev in trace.get("events", []):
        name, rnd, sat, st, nbytes, value = ev[1], ev[2], ev[3], ev[4], ev[5], ev[6]
        if name in ("uplink_wait", "train_end"):
            key = (sat, 0 if name == "uplink_wait" else 1)
            size[key] = nbytes
            moved[key] = 0
        elif name in ("up_end", "down_end"):
            key = (sat, 0 if name == "up_end" else 1)
            moved[key] = moved.get(key, 0) + nbytes
            if value == 0:
                chk.eq(f"{where} trace: bytes of the transfer delivered at t={ev[0]}",
                       moved[key], size.get(key, 0))
                moved[key] = 0
                if nbytes == size.get(key, 0):
                    e = whole.setdefault((rnd, st, key[1]), [0, 0])
                    e[0] += nbytes
                    e[1] += 1
    return whole


def round_cost(chk, where, rd, stations, payload, totals, whole=None):
    """Checks one round's per-station numbers; returns its cost recomputed. payload: the size of
    every transfer (0: sizes vary); whole: trace_whole() of the run (None: no trace)."""
    up = down = minutes = 0
    cost = 0.0
    per = rd.get("stations", [])
    chk.eq(where + ".stations length", len(per), len(stations))
    for k, (s, cfg) in enumerate(zip(per, stations)):
        w = f"{where}.stations[{k}]"
        chk.eq(w + ".station", s["station"], cfg["name"])
        if payload:
            chk.eq(w + ".bytes_to_sat", s["bytes_to_sat"],
                   payload * s["transfers_to_sat"] + s["partial_bytes_to_sat"])
            chk.eq(w + ".bytes_to_ground", s["bytes_to_ground"],
                   payload * s["transfers_to_ground"] + s["partial_bytes_to_ground"])
        if whole is not None:
            for d, key in ((0, "sat"), (1, "ground")):
                b, n = whole.get((rd["round"], k, d), [0, 0])
                chk.eq(f"{w}.bytes_to_{key} (trace)", s[f"bytes_to_{key}"],
                       b + s[f"partial_bytes_to_{key}"])
                chk.eq(f"{w}.transfers_to_{key} (trace)", s[f"transfers_to_{key}"], n)
        up += s["bytes_to_sat"]
        down += s["bytes_to_ground"]
        minutes += s["contact_minutes"]
        cost += (s["bytes_to_sat"] + s["bytes_to_ground"]) * cfg["cost_per_mb"] / 1e6
        cost += s["contact_minutes"] * cfg["cost_per_minute"]
        t = totals[k]
        t[0] += s["bytes_to_sat"]
        t[1] += s["bytes_to_ground"]
        t[2] += s["contact_minutes"]
    chk.eq(where + ".bytes_to_sat", rd["bytes_to_sat"], up)
    chk.eq(where + ".bytes_to_ground", rd["bytes_to_ground"], down)
    chk.eq(where + ".contact_minutes", rd["contact_minutes"], minutes)
    chk.eq(where + ".cost_usd", rd["cost_usd"], cost)
    return cost


def check(path, threads=None):
    chk = Checker(path)
    with open(path) as f:
        r = json.load(f)
    chk.has(r, REQUIRED_TOP, "report")
    check_machine(chk, r.get("machine"), threads)
    chk.eq("format", r.get("format"), "constsim-report/1")
    stations = r["scenario"]["ground_stations"]
    chk.has(r["contacts"], ["windows", "total_s", "per_station"], "contacts")
    chk.eq("contacts.per_station length", len(r["contacts"]["per_station"]), len(stations))
    chk.eq("contacts.windows", r["contacts"]["windows"],
           sum(s["windows"] for s in r["contacts"]["per_station"]))
    fp32 = [run for run in r["runs"] if run["precision"] == "fp32"]
    for i, run in enumerate(r["runs"]):
        w = f"runs[{i}] ({run.get('precision')})"
        chk.has(run, REQUIRED_RUN, w)
        chk.has(run["final"], REQUIRED_FINAL, w + ".final")
        payload = run["payload_bytes"]
        if fp32:
            chk.eq(w + ".compression_ratio", run["compression_ratio"],
                   fp32[0]["payload_bytes"] / payload)
            chk.eq(w + ".final.accuracy_drop_pct", run["final"]["accuracy_drop_pct"],
                   (fp32[0]["final"]["accuracy"] - run["final"]["accuracy"]) * 100.0)
        totals = [[0, 0, 0] for _ in stations]
        if run["precision"] not in FIXED_SIZE:
            payload = 0
        whole = trace_whole(chk, w, run) if run.get("trace") and not run["trace"].get("events_dropped") else None
        up = down = minutes = 0
        cost = 0.0
        for j, rd in enumerate(run["rounds"]):
            rw = f"{w}.rounds[{j}]"
            chk.has(rd, REQUIRED_ROUND, rw)
            chk.eq(rw + ".round", rd["round"], j + 1)
            c = round_cost(chk, rw, rd, stations, payload, totals, whole)
            up += rd["bytes_to_sat"]
            down += rd["bytes_to_ground"]
            minutes += rd["contact_minutes"]
            cost += c
        f = run["final"]
        chk.eq(w + ".final.bytes_to_sat", f["bytes_to_sat"], up)
        chk.eq(w + ".final.bytes_to_ground", f["bytes_to_ground"], down)
        chk.eq(w + ".final.bytes_total", f["bytes_total"], up + down)
        chk.eq(w + ".final.contact_minutes", f["contact_minutes"], minutes)
        chk.eq(w + ".final.cost_usd", f["cost_usd"], cost)
        chk.eq(w + ".final.rounds_completed", f["rounds_completed"], len(run["rounds"]))
        if run["rounds"]:
            chk.eq(w + ".final.sim_time_s", f["sim_time_s"], run["rounds"][-1]["sim_time_s"])
            chk.eq(w + ".final.accuracy", f["accuracy"], run["rounds"][-1]["accuracy"])
        if run.get("unfinished_round"):
            round_cost(chk, w + ".unfinished_round", run["unfinished_round"], stations, payload,
                       totals, whole)
        for k, s in enumerate(run.get("stations", [])):
            sw = f"{w}.stations[{k}]"
            chk.eq(sw + ".bytes_to_sat", s["bytes_to_sat"], totals[k][0])
            chk.eq(sw + ".bytes_to_ground", s["bytes_to_ground"], totals[k][1])
            chk.eq(sw + ".contact_minutes", s["contact_minutes"], totals[k][2])
        trace = run.get("trace")
        # counts of a truncated trace cannot agree with the rounds
        if trace and check_trace(chk, w, trace):
            names = [e[1] for e in trace["events"]
                     if 1 <= e[2] <= len(run["rounds"])]
            chk.eq(w + " trace updates", names.count("update"),
                   sum(rd["clients_reported"] for rd in run["rounds"]))
            chk.eq(w + " trace evals", names.count("eval"), len(run["rounds"]))
            times = [e[0] for e in trace["events"]]
            if any(b < a for a, b in zip(times, times[1:])):
                chk.fail(w + ".trace", "times go back")
            check_trace_audit(chk, w, run, stations)
    ptq = r.get("ptq")
    if ptq:
        for p in ("fp32", "fp16", "int8"):
            chk.has(ptq[p], REQUIRED_PTQ, "ptq." + p)
            chk.eq(f"ptq.{p}.compression_ratio", ptq[p]["compression_ratio"],
                   ptq["fp32"]["file_bytes"] / ptq[p]["file_bytes"])
    return chk.errors


def main():
    args = sys.argv[1:]
    threads = None
    if len(args) >= 2 and args[0] == "--threads":
        if not args[1].isdigit():
            print(__doc__.strip(), file=sys.stderr)
            return 2
        threads = int(args[1])
        args = args[2:]
    if not args:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    bad = 0
    for path in args:
        errors = check(path, threads)
        for e in errors:
            print(e, file=sys.stderr)
        bad += bool(errors)
        if not errors:
            print(f"{path}: ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
