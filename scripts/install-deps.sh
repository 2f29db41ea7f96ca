#!/usr/bin/env bash
# Installs everything constsim's build, tests and benchmarks need, from Debian packages.
# Idempotent: does nothing (and needs no network) when all packages are already there.
set -euo pipefail

PKGS=(
  build-essential clang cmake pkg-config git time
  libclang-rt-14-dev # libFuzzer and the sanitizer runtimes of clang 14 (scripts/fuzz.sh)
  libgsl-dev libopenblas-dev libyaml-dev libcjson-dev libsdl2-dev libjpeg62-turbo-dev
  libsdl2-ttf-dev zlib1g-dev fonts-dejavu-core
  python3 python3-numpy python3-torch python3-skyfield python3-pil
  libopenmpi-dev openmpi-bin gnuplot-nox
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
