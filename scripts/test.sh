#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the release, Debug (-O0, no inlining: it
# catches link errors that inlining hides) and ASan+UBSan configurations, starts a throw-away
# PostgreSQL cluster on a free loopback port, runs the whole ctest suite (unit, database
# layer, black-box HTTP) against each build, runs the HTTP suite once more with csrd under
# valgrind (memcheck; any error or definite/indirect leak fails the test through csrd's exit
# status), stops the cluster, and ends with ctest's summary.
# Exit status: 0 only if all four runs pass.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CSRD_ROOT"

csrd_install_deps valgrind openssl haproxy clang libclang-rt-14-dev  # libFuzzer: only recommended by clang
jobs=$(nproc)
csrd_log "building build/ (release), build-debug/ and build-asan/ (AddressSanitizer + UBSan)"
csrd_build build
csrd_build build-debug -DCMAKE_BUILD_TYPE=Debug
csrd_build build-asan -DCSRD_SANITIZE=ON

pgdir=$(mktemp -d /tmp/csrd-test-pg.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pgdir"
port=$(csrd_free_port)
cleanup() { csrd_pg_stop "$pgdir/data"; rm -rf "$pgdir"; }
trap cleanup EXIT
export DATABASE_URL=$(csrd_pg_start "$pgdir/data" "$port")
csrd_log "test database: $DATABASE_URL"
# the fault-injection test restarts the cluster through this command
export CSRD_TEST_PG_CTL="$CSRD_ROOT/scripts/pg-ctl.sh $pgdir/data $port"

# LeakSanitizer runs at exit of every test program and of csrd itself. The suppressions
# file names only libmicrohttpd 0.9.75's known pool issue (see tests/asan.supp).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=86"
export LSAN_OPTIONS="suppressions=$CSRD_ROOT/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The fuzzer's requests follow its seed: a fixed one keeps CI repeatable (a failure replays
# with the same seed); explore with other seeds by hand (tests/fuzz/README.md).
export CSRD_FUZZ_SEED=${CSRD_FUZZ_SEED:-20261201}

status=0
csrd_log "ctest: release build"
# the harness notes which operation answered what, and the JSON answers, in
# CSRD_TEST_COVERAGE_DIR; afterwards (label coverage) every operation of the spec must have had
# a 2xx, and the spec, a typed client and every answer are checked by standard tools
mkdir -p "$pgdir/coverage"
(cd build && CSRD_TEST_COVERAGE_DIR="$pgdir/coverage" ctest --output-on-failure -j "$jobs" \
  -LE 'fuzz|containers|coverage|browser') || status=1
(cd build && CSRD_TEST_COVERAGE_DIR="$pgdir/coverage" ctest --output-on-failure -L coverage) ||
  status=1
csrd_log "ctest: the /docs page and examples/web in headless Chromium (label browser)"
(cd build && ctest --output-on-failure -L browser) || status=1
csrd_log "ctest: Debug build"
(cd build-debug && ctest --output-on-failure -j "$jobs" -LE 'fuzz|containers|coverage|browser') ||
  status=1
csrd_log "ctest: sanitizer build (with the HTTP fuzzer, label fuzz, ${CSRD_FUZZ_SECONDS:-60} s)"
(cd build-asan && ctest --output-on-failure -j "$jobs" -LE 'containers|coverage|browser') ||
  status=1
csrd_log "ctest: HTTP tests with csrd under valgrind"
(cd build && ASAN_OPTIONS= CSRD_TEST_WRAPPER="valgrind -q --leak-check=full \
  --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
  --error-exitcode=99" ctest --output-on-failure -j "$jobs" -L http) || status=1
# libFuzzer harnesses of the parsers (tests/fuzz/lib; clang, no database): one harness at a
# time for ${CSRD_LIBFUZZER_SECONDS:-30} s each, about 3 minutes for the six.
csrd_log "ctest: libFuzzer harnesses (label libfuzzer, ${CSRD_LIBFUZZER_SECONDS:-30} s each)"
if CC=clang cmake -S "$CSRD_ROOT" -B build-libfuzzer -DCMAKE_BUILD_TYPE=Debug \
     -DCSRD_LIBFUZZER=ON >/dev/null &&
   cmake --build build-libfuzzer -j "$jobs" --target libfuzzer_harnesses >/dev/null; then
  (cd build-libfuzzer && ctest --output-on-failure -L libfuzzer) || status=1
else
  csrd_log "build-libfuzzer: configure or build failed"; status=1
fi
# The docker/ files with Podman (scripts/container-test.sh): image, compose, about 6 minutes
# on a machine that has not built the images before.
csrd_log "ctest: containers (label containers)"
(cd build && ctest --output-on-failure -L containers) || status=1
exit $status
