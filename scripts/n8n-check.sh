#!/usr/bin/env bash
# `make n8n-check`: installs n8n (N8N_VERSION, npm) into .n8n-runtime/ when it is missing, then runs
# integrations/n8n/check.py (the workflow in that n8n against the Evolution double).
set -euo pipefail
cd "$(dirname "$0")/.."

N8N_VERSION=2.8.4  # the newest n8n for Node 20
RUNTIME=.n8n-runtime
PYTHON=${PYTHON:-.venv/bin/python}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "n8n-check needs Node.js 20 and npm (Debian: apt-get install nodejs npm)." >&2
  exit 1
fi
installed() {
  [ "$(node -p "require('./$RUNTIME/node_modules/n8n/package.json').version" 2>/dev/null)" = "$N8N_VERSION" ]
}
if ! installed; then
  echo "n8n-check: installing n8n $N8N_VERSION into $RUNTIME/ (npm; the first time takes minutes and 2.3 GB)"
  started=$SECONDS
  mkdir -p "$RUNTIME"
  # xlsx: n8n pins a tarball on a CDN that is not reachable from here; 0.18.5 is the same
  # library from the npm registry.
  cat > "$RUNTIME/package.json" <<EOF
{"name": "n8n-runtime", "private": true, "dependencies": {"n8n": "$N8N_VERSION"}, "overrides": {"xlsx": "0.18.5"}}
EOF
  (cd "$RUNTIME" && npm install --no-audit --no-fund --loglevel=error)
  echo "n8n-check: npm install took $((SECONDS - started)) s"
fi
# n8n keeps its data in SQLite through the sqlite3 package, whose native binding comes from its
# install script; an npm that skipped install scripts leaves it out: build it now.
if ! (cd "$RUNTIME" && node -e "new (require('sqlite3').Database)(':memory:').close()") 2>/dev/null; then
  echo "n8n-check: building sqlite3's native binding (npm rebuild sqlite3)"
  (cd "$RUNTIME" && npm rebuild sqlite3 --loglevel=error)
  (cd "$RUNTIME" && node -e "new (require('sqlite3').Database)(':memory:').close()")
fi
echo "n8n-check: n8n $("$RUNTIME/node_modules/.bin/n8n" --version), Node $(node --version)"
exec "$PYTHON" -m integrations.n8n.check --n8n "$RUNTIME/node_modules/.bin/n8n"
