#!/usr/bin/env bash
# System packages, installed with apt-get when missing and we are root; otherwise says what to do.
#   install-system-deps.sh venv   what creating the virtualenv needs (Debian ships Python without
#                                 venv/ensurepip: python3-venv), for `make run` and `make test`
#   install-system-deps.sh        what the test suite needs: Debian's Chromium (the benchmarks) and
#                                 its headless shell (browser tests), PostgreSQL 15 (RLS tests)
set -euo pipefail

missing=()
if [ "${1:-}" = venv ]; then
  "${PYTHON:-python3}" -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
else
  [ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)
  [ -x /usr/bin/chromium-headless-shell ] || missing+=(chromium-headless-shell)
  [ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]} with apt-get…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
