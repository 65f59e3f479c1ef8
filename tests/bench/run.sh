#!/usr/bin/env bash
# Benchmark (not a test): csrd against PostgreSQL itself, in one run on one machine.
# Loads 100,000 customers, then measures
#   wrk  GET  /v1/customers/{random id}   vs  pgbench -M prepared: the same SELECT by a unique key
#   wrk  POST /v1/customers               vs  pgbench -M prepared: the same INSERT ... RETURNING
# (pgbench's SELECT looks the row up by its unique external_ref instead of the id, an
# equally cheap unique-index lookup; its INSERT is csrd's own prepared statement)
# and prints requests/s, p50/p99 latency, csrd's peak RSS and the ratios csrd/pgbench.
# Usage: tests/bench/run.sh [seconds per run, default 20] [connections, default 64]
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$CSRD_ROOT"
secs=${1:-20}
conns=${2:-64}
csrd_install_deps wrk
csrd_build build

work=$(mktemp -d /tmp/csrd-bench.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work"
pgport=$(csrd_free_port)
cleanup() {
  [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  csrd_pg_stop "$work/pg"; rm -rf "$work"
}
trap cleanup EXIT
export DATABASE_URL=$(csrd_pg_start "$work/pg" "$pgport")
psql=("$PG_BIN/psql" "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1)

port=$(csrd_free_port)
export CSRD_ADMIN_TOKEN="bench-admin-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
CSRD_LISTEN=127.0.0.1:$port CSRD_LOG_LEVEL=warn ./build/csrd >"$work/csrd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

echo "loading 100,000 customers..."
"${psql[@]}" <<'SQL'
INSERT INTO customers (id, kind, name, email, phone, tier, status, tags, external_ref, address)
SELECT gen_random_uuid(), CASE WHEN n % 5 = 0 THEN 'organization' ELSE 'person' END,
       'Customer ' || n, 'c' || n || '@example.com', '+86 138 ' || lpad(n::text, 8, '0'),
       (ARRAY['vip','key','regular','minor'])[1 + n % 4], 'active', ARRAY['seed'],
       'bench-' || n, jsonb_build_object('city', 'City ' || (n % 50), 'country', 'CN')
FROM generate_series(1, 100000) AS n;
ANALYZE customers;
SQL
"${psql[@]}" -c "SELECT id FROM customers WHERE external_ref LIKE 'bench-%'" >"$work/ids.txt"

# pgbench's INSERT is csrd's own statement (from `csrd statements`), with the body wrk sends.
{
  echo '\set n random(1, 1000000000)'
  ./build/csrd statements | awk -F'\t' '$1 == "customers_insert" {print $2}' |
    sed -e 's/\$1::uuid/gen_random_uuid()/' \
        -e "s/\\\$2::jsonb/('{\"kind\":\"person\",\"name\":\"Bench ' || :n || '\",\"email\":\"b' || :n || '@example.com\",\"tier\":\"regular\",\"tags\":[\"bench\"]}')::jsonb/"
} >"$work/insert.sql"
grep -q gen_random_uuid "$work/insert.sql" && grep -q "Bench" "$work/insert.sql" ||
  { echo "could not build the pgbench INSERT script"; exit 1; }
export CSRD_BENCH_IDS="$work/ids.txt" CSRD_BENCH_TOKEN="$CSRD_ADMIN_TOKEN"

# wrk: requests/s and latency percentiles
run_wrk() { # script
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "tests/bench/$1" "http://127.0.0.1:$port" >"$work/wrk-$1.txt"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/wrk-$1.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk-$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk-$1.txt")
  local non2xx; non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk-$1.txt")
  echo "$rps $p50 $p99 ${non2xx:-0}"
}
run_pgbench() { # script path
  "$PG_BIN/pgbench" -n -M prepared -c 16 -j 2 -T "$secs" -f "$1" "$DATABASE_URL" 2>/dev/null >"$work/pgb-$(basename "$1").txt"
  local tps lat
  tps=$(awk -F'= ' '/^tps/ {split($2, a, " "); printf "%.0f", a[1]}' "$work/pgb-$(basename "$1").txt")
  lat=$(awk -F'= ' '/latency average/ {split($2, a, " "); print a[1]}' "$work/pgb-$(basename "$1").txt")
  echo "$tps ${lat}ms"
}

echo "warming up..."
wrk -t2 -c"$conns" -d3s -s tests/bench/get.lua "http://127.0.0.1:$port" >/dev/null
read -r get_rps get_p50 get_p99 get_bad <<<"$(run_wrk get.lua)"
read -r sel_tps sel_lat <<<"$(run_pgbench tests/bench/select.sql)"
read -r post_rps post_p50 post_p99 post_bad <<<"$(run_wrk post.lua)"
read -r ins_tps ins_lat <<<"$(run_pgbench "$work/insert.sql")"
rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
cat <<REPORT

csrd benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${secs}s per run
csrd: $conns keep-alive connections (wrk -t2), default threads/pool, log level warn
pgbench: -M prepared, 16 clients, -j 2, same database, same run

                          req/s      p50        p99       non-2xx
csrd GET  /customers/{id} $(printf '%-10s %-10s %-9s %s' "$get_rps" "$get_p50" "$get_p99" "$get_bad")
csrd POST /customers      $(printf '%-10s %-10s %-9s %s' "$post_rps" "$post_p50" "$post_p99" "$post_bad")
pgbench SELECT            $(printf '%-10s avg %s' "$sel_tps" "$sel_lat")
pgbench INSERT            $(printf '%-10s avg %s' "$ins_tps" "$ins_lat")

ratio GET/SELECT   $(ratio "$get_rps" "$sel_tps")   (target >= 0.6)
ratio POST/INSERT  $(ratio "$post_rps" "$ins_tps")   (target >= 0.8)
csrd peak RSS      $((rss_kb / 1024)) MiB   (target < 64 MiB)
REPORT
