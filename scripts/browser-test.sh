#!/usr/bin/env bash
# scripts/browser-test.sh [test-file...]: the headless-Chromium tests (tests/browser/*.test.mjs)
# against the csrd binary CSRD_BIN (default build/csrd) and the database DATABASE_URL: installs
# Debian's chromium and the npm packages of tests/browser (npm ci) when missing, runs each test
# file with node, and fails when one does. ctest runs it under the label browser; screenshots
# go to ARTIFACTS (default build/browser-artifacts).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CSRD_ROOT"
# chromium, and a font with Chinese and Korean glyphs for the screenshots; node and npm from
# Debian unless the machine already has them (from elsewhere, e.g. NodeSource's node, which
# carries its own npm and conflicts with Debian's npm package)
csrd_install_deps chromium fonts-wqy-zenhei
command -v node >/dev/null || csrd_install_deps nodejs
command -v npm >/dev/null || csrd_install_deps npm
[ -n "${DATABASE_URL:-}" ] || { echo "browser-test: DATABASE_URL must name the test database"; exit 2; }
export CSRD_BIN=${CSRD_BIN:-$CSRD_ROOT/build/csrd}
export ARTIFACTS=${ARTIFACTS:-$CSRD_ROOT/build/browser-artifacts}
mkdir -p "$ARTIFACTS"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/browser/*.test.mjs)
status=0
for f in "${files[@]}"; do
  [ -e "$f" ] || continue
  echo "--- $f"
  node "$f" || { echo "FAILED: $f"; status=1; }
done
exit $status
