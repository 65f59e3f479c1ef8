#!/usr/bin/env bash
# ctest wrapper for the HTTP fuzzer (test fuzz.http): starts csrd on a free loopback port against
# $DATABASE_URL, runs http_fuzz for ${CSRD_FUZZ_SECONDS:-60} s, stops csrd with SIGTERM, and fails
# if the fuzzer failed, csrd exited non-zero, or csrd's stderr holds a sanitizer report.
# usage: run_fuzz.sh CSRD_BINARY HTTP_FUZZ_BINARY WORK_DIR
set -u
csrd=$1 fuzz=$2 work=$3

if [ -z "${DATABASE_URL:-}" ]; then
    echo "DATABASE_URL must name the test database (scripts/test.sh sets it)" >&2
    exit 1
fi
mkdir -p "$work"
log=$work/csrd.stderr
rm -rf "$work/failures"

free_port() {
    python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# GET /healthz over bash's /dev/tcp: true on a 200.
healthy() {
    local line=""
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
    IFS= read -r -t 5 line <&3
    exec 3<&- 3>&-
    [[ $line == "HTTP/1.1 200"* ]]
}

pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
    fi
}
trap cleanup EXIT

token=fuzz-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
started=0
for attempt in 1 2 3; do
    port=$(free_port)
    CSRD_LISTEN=127.0.0.1:$port CSRD_ADMIN_TOKEN=$token CSRD_LOG_LEVEL=warn \
        "$csrd" >/dev/null 2>"$log" &
    pid=$!
    for _ in $(seq 600); do
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        if healthy 2>/dev/null; then
            started=1
            break
        fi
        sleep 0.1
    done
    [ $started = 1 ] && break
    echo "run_fuzz: csrd did not start on port $port (attempt $attempt):" >&2
    tail -n 20 "$log" >&2
    cleanup
    wait "$pid" 2>/dev/null
    pid=""
done
if [ $started != 1 ]; then
    exit 1
fi
echo "run_fuzz: csrd (pid $pid) listening on 127.0.0.1:$port"

status=0
"$fuzz" --port "$port" --token "$token" --seconds "${CSRD_FUZZ_SECONDS:-60}" \
    ${CSRD_FUZZ_SEED:+--seed "$CSRD_FUZZ_SEED"} --save-dir "$work/failures" || status=1

# SIGTERM: csrd stops accepting, drains and exits; a sanitizer report makes its status non-zero.
kill -TERM "$pid"
for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
    echo "run_fuzz: FAIL: csrd did not exit within 30 s of SIGTERM" >&2
    kill -KILL "$pid"
    status=1
fi
wait "$pid"
csrd_status=$?
pid=""
echo "run_fuzz: csrd exited with status $csrd_status"
if [ "$csrd_status" != 0 ]; then
    echo "run_fuzz: FAIL: csrd's exit status is $csrd_status" >&2
    status=1
fi
if grep -q -e "runtime error" -e "AddressSanitizer" -e "LeakSanitizer" "$log"; then
    echo "run_fuzz: FAIL: sanitizer report in csrd's stderr ($log):" >&2
    grep -n -m1 -A60 -e "runtime error" -e "ERROR: AddressSanitizer" -e "ERROR: LeakSanitizer" \
        "$log" >&2
    status=1
fi
echo "run_fuzz: csrd's stderr, most frequent lines without times and ids ($log):"
sed -E -e 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z //' \
    -e 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<id>/g' \
    -e 's/fuzz-[0-9]+-[0-9]+/<id>/g' -e 's/[0-9.]+ms/<t>/g' "$log" |
    cut -c1-160 | sort | uniq -c | sort -rn | head -n 15
exit $status
