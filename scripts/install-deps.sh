#!/usr/bin/env bash
# Install the Debian 12 packages fligru builds and tests with.
# Idempotent: when every package is present it only runs dpkg-query (well under
# a second) and touches nothing. Needs root (or sudo) only when something is missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config ninja-build zlib1g-dev
  libopenblas-dev          # float GRU / training GEMMs
  libcriterion-dev         # unit tests
  libyaml-dev              # YAML configs (event parser keeps line numbers for errors)
  libcjson-dev             # JSON output and safetensors headers
  verilator                # RTL simulation
  libsystemc-dev           # cycle-accurate model
  yosys                    # resource estimates
  gnuplot-nox              # plots
  libgsl-dev               # iterative-reconvolution fits (the classical baseline)
  clang libclang-rt-14-dev libomp-dev   # libFuzzer harnesses (tests/fuzz, make fuzz)
  slurm-wlm munge          # fligru sweep --executor slurm (and its single-node test)
  python3-torch python3-h5py  # scripts/convert-torch.py, convert-keras.py and their tests (/usr/bin/python3)
)

missing=()
for p in "${PKGS[@]}"; do
  # dpkg-query prints "install ok installed" only for fully configured packages
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
