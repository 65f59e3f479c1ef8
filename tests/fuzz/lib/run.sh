#!/usr/bin/env bash
# ctest wrapper for one libFuzzer harness: run.sh HARNESS SEED_CORPUS SCRATCH_DIR.
# Fuzzes a fresh copy of the seed corpus (new inputs land in the build tree, never in the
# repository) for ${CSRD_LIBFUZZER_SECONDS:-30} seconds. libFuzzer exits non-zero on a crash,
# a leak, a sanitizer report (-fno-sanitize-recover=all), an input slower than -timeout or an
# RSS over -rss_limit_mb; the input that did it is kept in SCRATCH_DIR/artifacts/.
set -euo pipefail
harness=$1 seeds=$2 scratch=$3
rm -rf "$scratch"
mkdir -p "$scratch/corpus" "$scratch/artifacts"
cp "$seeds"/* "$scratch/corpus/"
# leaks are errors; -fno-sanitize-recover makes UBSan abort, ASan already does
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"
status=0
"$harness" -max_total_time="${CSRD_LIBFUZZER_SECONDS:-30}" -rss_limit_mb=2048 -timeout=20 \
  -print_final_stats=1 -artifact_prefix="$scratch/artifacts/" "$scratch/corpus" || status=$?
if [ "$status" -ne 0 ]; then
  echo "libfuzzer: $(basename "$harness") failed (exit $status); reproduce with:" >&2
  for a in "$scratch"/artifacts/*; do
    [ -e "$a" ] && echo "  $harness $a" >&2
  done
fi
exit "$status"
