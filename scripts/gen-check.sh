#!/usr/bin/env bash
# Fails when the committed generated code differs from what `npm run gen` produces.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent gen
if ! git diff --quiet --exit-code -- src/gen || [ -n "$(git ls-files --others --exclude-standard src/gen)" ]; then
  echo "gen-check: src/gen differs from proto/ (run 'npm run gen' and commit):" >&2
  git status --short src/gen >&2
  exit 1
fi
echo "gen-check: src/gen matches proto/"
