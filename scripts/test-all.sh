#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls `npm test`, which calls this).
# Installs what is missing (npm packages, Debian packages of the services), then:
# buf lint, generated-code check, eslint, tsc, unit tests, integration + end-to-end tests against
# real NATS JetStream, Mosquitto, ClickHouse, Consul and Redis started by test/harness.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
step() { printf '\n== %s (t+%ss)\n' "$1" $((SECONDS - start)); }

step "bootstrap (npm packages, service packages)"
bash scripts/bootstrap.sh

step "buf lint"
npx buf lint

step "generated code matches proto/"
bash scripts/gen-check.sh

step "eslint (incl. dependency direction)"
npx eslint .

step "typecheck"
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p src/console-app

step "console app build (esbuild)"
node scripts/build-console.mjs

step "tests (unit, integration, end-to-end)"
mkdir -p .shoal
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=.shoal/vitest-report.json "$@"
rc=$?
set -e
node -e '
  const r = require("./.shoal/vitest-report.json");
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`\nsuites: ${r.numTotalTestSuites}, files failed: ${r.numFailedTestSuites}`);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
printf 'total time: %ss\n' $((SECONDS - start))
exit $rc
