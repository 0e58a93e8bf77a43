#!/usr/bin/env bash
# First step of the Quick start (`npm start`): npm dependencies, then the local services.
# Idempotent and quick when nothing changed. Works on a fresh Debian/Ubuntu box with Node 20
# (as root, or prints the one sudo command to run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf 'bootstrap: %s\n' "$*"; }

command -v node >/dev/null || { echo "bootstrap: node not found: install Node.js >= 20.19 (e.g. the nodesource or Debian package)" >&2; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || { echo "bootstrap: Node.js $(node -v) is too old: Shoal needs >= 20.19" >&2; exit 1; }

# npm writes node_modules/.package-lock.json on every install: older than package-lock.json
# means the lock changed since (a pull, a rebase).
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
else
  step "npm dependencies up to date"
fi

step "local services (deploy/local/stack.sh install)"
bash deploy/local/stack.sh install

step "console app (npm run build:console, when missing or older than its sources)"
node scripts/build-console.mjs --if-missing
