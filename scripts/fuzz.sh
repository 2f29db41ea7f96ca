#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ (clang, ASan + UBSan) in build-fuzz/ and runs each for
# SECONDS seconds or 10^6 executions, whichever comes first, up to nproc at a time
# (docs/fuzz.md). Prints executions, exec/s, coverage, seconds taken and the result per harness;
# exits 1 on any crash, leak, timeout or sanitizer report, naming the reproducer in
# build-fuzz/artifacts/.
#
#   bash scripts/fuzz.sh [SECONDS]        (default 60)
#
# Environment: FUZZ_JOBS (harnesses at a time, default nproc), FUZZ_RUNS (default 1000000),
# FUZZ_TIMEOUT (seconds one input may take before it counts as a hang, default 10),
# FUZZ_TARGETS (a space-separated subset of: scn tle st codec compare eval_list),
# FUZZ_BUILD (build folder, default build-fuzz).
# The working corpora (build-fuzz/corpus/NAME) are seeded from tests/data, scenarios/ and
# fuzz_seeds on every run and keep what earlier runs found.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-60}
case $SECS in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac
RUNS=${FUZZ_RUNS:-1000000}
TIMEOUT=${FUZZ_TIMEOUT:-10}
JOBS=${FUZZ_JOBS:-$(nproc)}
B=${FUZZ_BUILD:-build-fuzz}
TARGETS=(${FUZZ_TARGETS:-scn tle st codec compare eval_list})

CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONSTSIM_FUZZ=ON \
  -DCONSTSIM_WERROR=ON -DCONSTSIM_VIZ=OFF -DCONSTSIM_MPI=OFF >/dev/null
cmake --build "$B" -j"$JOBS" --target fuzz >/dev/null

# ---- seed corpora ----------------------------------------------------------------------------
C=$B/corpus
mkdir -p "$B/artifacts" "$B/logs"
for t in "${TARGETS[@]}"; do mkdir -p "$C/$t"; done
seed() { # seed TARGET FILE... : copies the files in, named after their paths
  local t=$1 f
  shift
  [ -d "$C/$t" ] || return 0
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$C/$t/seed-$(echo "$f" | tr '/' '_')"; done
  return 0
}
seed scn tests/data/good/*.yaml tests/data/bad/*.yaml tests/data/sim/*.yaml scenarios/*.yaml
if [ -d "$C/scn" ]; then # the same scenarios with --set overrides after NUL bytes
  printf '\0federated.rounds=3\0wire.precision=fp16,int8' |
    cat tests/data/good/minimal.yaml - >"$C/scn/seed-minimal-sets"
  printf '\0constellation.select=SAT-B\0ground_stations.0.cost_per_mb=2' |
    cat tests/data/good/tle.yaml - >"$C/scn/seed-tle-sets"
  printf '\0federated.optimizer.name=sgd\0federated.optimizer.momentum=0.9\0dataset.partition=dirichlet' |
    cat tests/data/good/full.yaml - >"$C/scn/seed-full-sets"
fi
seed tle tests/data/tle/*.tle tests/data/good/sats.tle scenarios/tle/*.tle
VER=../shared/orbits/SGP4-VER.TLE # the verification sets, one per seed, cut to 69 columns
if [ -d "$C/tle" ] && [ -f "$VER" ]; then
  awk -v d="$C/tle" '/^1 /{l1=substr($0,1,69)}
    /^2 /{n++; f=sprintf("%s/seed-sgp4ver-%02d.tle", d, n); print l1 > f; print substr($0,1,69) > f; close(f)}' "$VER"
fi
seed compare tests/data/compare/*.json tests/data/compare/sweep/sweep.json \
  tests/data/compare/sweep/points/*.json tests/data/compare/bad/*.json \
  tests/data/compare/bad/*/sweep.json tests/data/plot/report.json
"$B/fuzz/fuzz_seeds" "$B/seeds"
for t in st codec eval_list; do
  [ -d "$C/$t" ] && cp "$B/seeds/$t"/* "$C/$t/"
done

# ---- runs ------------------------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
run() { # run TARGET: one libFuzzer run, its log in $B/logs/TARGET.log
  local t=$1 dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  [ "$t" = codec ] && dict=(-dict=fuzz/st.dict)
  set +e
  "$B/fuzz/fuzz_$t" -max_total_time="$SECS" -runs="$RUNS" -timeout="$TIMEOUT" \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" "${dict[@]}" \
    "$C/$t" >"$B/logs/$t.log" 2>&1
  echo $? >"$B/logs/$t.rc"
}
echo "fuzz: ${#TARGETS[@]} harnesses, ${SECS} s or $RUNS executions each, $JOBS at a time" >&2
for t in "${TARGETS[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  run "$t" &
done
wait

# ---- summary ---------------------------------------------------------------------------------
fail=0
printf '%-10s %10s %8s %7s %7s %7s %6s  %s\n' harness execs exec/s cov ft corpus secs result
for t in "${TARGETS[@]}"; do
  log=$B/logs/$t.log
  rc=$(cat "$B/logs/$t.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | grep ' cov: ' | tail -1 || true)
  cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  result=ok
  if [ "$rc" != 0 ] || grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: |ALARM: working on the last Unit|internal error: assertion' "$log"; then
    result="FAILED (exit $rc)"
    fail=1
  fi
  printf '%-10s %10s %8s %7s %7s %7s %6s  %s\n' "$t" "${execs:--}" "${eps:--}" "${cov:--}" \
    "${ft:--}" "${corp:--}" "${secs:--}" "$result"
done
if [ "$fail" != 0 ]; then
  for t in "${TARGETS[@]}"; do
    log=$B/logs/$t.log
    if [ "$(cat "$B/logs/$t.rc" 2>/dev/null || echo 1)" != 0 ]; then
      echo "--- $t: $log" >&2
      grep -E 'ERROR|runtime error:|SUMMARY|ALARM|assertion|Timeout' "$log" | head -20 >&2 ||
        tail -n 5 "$log" >&2
      sed -n "s|.*Test unit written to \(.*\)|reproduce: $B/fuzz/fuzz_$t \1|p" "$log" >&2
    fi
  done
  exit 1
fi
