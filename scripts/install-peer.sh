#!/usr/bin/env bash
# Install what bench/speed/peer_torch.py needs: Debian's PyTorch (1.13) and NumPy for
# /usr/bin/python3. Only the PyTorch peer benchmark uses them; `make test` never
# does, so scripts/install-deps.sh leaves them out (python3-torch pulls in a few
# hundred MB). Idempotent: returns at once when both are installed.
set -euo pipefail

PKGS=(python3-numpy python3-torch)

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -ne 0 ]; then
  echo "install-peer: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# A `python3` on PATH may be another interpreter (pyenv, venv): Debian's
# packages live in /usr/bin/python3's dist-packages.
/usr/bin/python3 -c 'import numpy, torch; print("install-peer: numpy", numpy.__version__, "torch", torch.__version__)'
