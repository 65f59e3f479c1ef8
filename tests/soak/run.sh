#!/usr/bin/env bash
# Soak test (not part of the suite or CI): mixed reads and writes at 256 connections for
# ${1:-600} seconds against a release csrd and a PostgreSQL of its own, with the database
# restarted (pg_ctl restart -m fast) half-way. Passes when:
#   - no answer other than 200, 201 and 503 (no 5xx but 503, no 4xx);
#   - csrd's RSS and open file descriptors in the last sample under load are within 10 % (RSS)
#     and 16 fds of what they were one minute in (no growth once warm);
#   - every create answered 201 is in the database (acknowledged writes are never lost; a
#     create cut off by the restart may be stored and still answer 503, so more may be stored).
# Prints the samples and the verdict. Usage: tests/soak/run.sh [seconds] [connections]
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$CSRD_ROOT"
secs=${1:-600} conns=${2:-256}
csrd_install_deps wrk
csrd_build build
work=$(mktemp -d)
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work"
pgport=$(csrd_free_port) port=$(csrd_free_port)
pid="" wrk_pid=""
cleanup() {
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null || true
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  csrd_pg_stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT
export DATABASE_URL=$(csrd_pg_start "$work/pg" "$pgport")
psql=("$PG_BIN/psql" "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1)
./build/csrd migrate >/dev/null
"${psql[@]}" -c "INSERT INTO customers (id, kind, name, tags)
                 SELECT gen_random_uuid(), 'person', 'Soak seed ' || n, ARRAY['soak-seed']
                 FROM generate_series(1, 10000) AS n"
"${psql[@]}" -c "SELECT id FROM customers WHERE 'soak-seed' = ANY(tags)" >"$work/ids.txt"

export CSRD_ADMIN_TOKEN=soak-admin-token-0123456789abcdef
CSRD_LISTEN=127.0.0.1:$port CSRD_LOG_LEVEL=error ./build/csrd --no-migrate >"$work/csrd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
tag="soak-$(date +%s)"
sample() { # seconds-into-the-run
  printf '%5s s  RSS %6d KiB  fds %4d\n' "$1" "$(awk '/VmRSS/ {print $2}' /proc/$pid/status)" \
    "$(ls /proc/$pid/fd | wc -l)"
}
CSRD_BENCH_IDS="$work/ids.txt" CSRD_BENCH_TOKEN=$CSRD_ADMIN_TOKEN CSRD_SOAK_TAG=$tag \
  wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s -s tests/soak/mixed.lua "http://127.0.0.1:$port" \
  >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
start=$SECONDS restarted="" warm="" last=""
while kill -0 "$wrk_pid" 2>/dev/null; do
  sleep 10
  t=$((SECONDS - start))
  kill -0 "$wrk_pid" 2>/dev/null || break # compare samples under load only
  line=$(sample "$t"); echo "$line"
  [ -z "$warm" ] && [ "$t" -ge 60 ] && warm=$line
  last=$line
  if [ -z "$restarted" ] && [ "$t" -ge $((secs / 2)) ]; then
    echo "$t s: restarting PostgreSQL (pg_ctl restart -m fast)"
    csrd_as_pg "$PG_BIN/pg_ctl" -D "$work/pg" -m fast -w restart -o "-p $pgport" \
      -l "$work/pg/server.log" >/dev/null
    restarted=1
  fi
done
wait "$wrk_pid" || true
wrk_pid=""
echo "$(sample end) (after the load: idle connections closed)"
end=$last
cat "$work/wrk.txt"
read -r created ok unavailable other < <(awk '/^SOAK created=/ {
  for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  print v["created"], v["ok"], v["unavailable"], v["other"] }' "$work/wrk.txt")
stored=$("${psql[@]}" -c "SELECT count(*) FROM customers WHERE '$tag' = ANY(tags)")
rss0=$(awk '{print $4}' <<<"$warm") fd0=$(awk '{print $7}' <<<"$warm")
rss1=$(awk '{print $4}' <<<"$end") fd1=$(awk '{print $7}' <<<"$end")
echo "answers: 200 $ok, 201 $created, 503 $unavailable, other $other"
echo "creates answered 201: $created; stored with the run's tag: $stored"
echo "one minute in: RSS $rss0 KiB, $fd0 fds; last sample under load: RSS $rss1 KiB, $fd1 fds"
fail=0
[ "$other" -eq 0 ] || { echo "FAIL: $other answers other than 200/201/503"; fail=1; }
[ "$stored" -ge "$created" ] || { echo "FAIL: $((created - stored)) acknowledged creates missing"; fail=1; }
[ "$rss1" -le $((rss0 + rss0 / 10)) ] || { echo "FAIL: RSS grew from $rss0 to $rss1 KiB"; fail=1; }
[ "$fd1" -le $((fd0 + 16)) ] || { echo "FAIL: fds grew from $fd0 to $fd1"; fail=1; }
if [ "$fail" -ne 0 ]; then
  echo "csrd's log (errors only):"; tail -n 20 "$work/csrd.log"
fi
[ "$fail" -eq 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit "$fail"
