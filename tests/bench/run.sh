#!/usr/bin/env bash
# Benchmark (not a test): csrd against PostgreSQL itself, in one run on one machine.
# Loads 100,000 customers and 100,000 complaints, then measures
#   wrk  GET  /v1/customers/{random id}   vs  pgbench -M prepared: the same SELECT by a unique key
#   wrk  POST /v1/customers               vs  pgbench -M prepared: the same INSERT ... RETURNING
#   wrk  POST /v1/interactions            vs  pgbench: csrd's interaction INSERT
#   wrk  GET  /v1/complaints?status=in_progress&severity=high  vs  pgbench: the same page query
#   wrk  GET  /v1/customers/{id}/timeline of a customer with 100,000 interactions  vs  pgbench
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

work=$(mktemp -d)
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
echo "loading 100,000 complaints..."
"${psql[@]}" <<'SQL'
INSERT INTO complaints (id, customer_id, channel, category, severity, subject, status,
                        response_channel, first_response_due_at, resolution_due_at,
                        first_responded_at, resolution, created_at, updated_at)
SELECT gen_random_uuid(), c.id, 'phone',
       (ARRAY['product_quality','service_attitude','delivery','billing','after_sales','other'])[1 + n % 6],
       (ARRAY['low','medium','high','critical'])[1 + n % 4], 'Bench complaint ' || n,
       (ARRAY['new','acknowledged','in_progress','resolved','closed'])[1 + (n / 4) % 5], 'phone',
       now() - (n % 1000) * interval '1 hour' + interval '4 hours',
       now() - (n % 1000) * interval '1 hour' + interval '72 hours',
       CASE WHEN (n / 4) % 5 > 0 THEN now() - (n % 1000) * interval '1 hour' END,
       CASE WHEN (n / 4) % 5 >= 3 THEN 'done' END,
       now() - (n % 1000) * interval '1 hour' - n * interval '1 millisecond',
       now() - (n % 1000) * interval '1 hour'
FROM generate_series(1, 100000) AS n JOIN customers c ON c.external_ref = 'bench-' || n;
ANALYZE complaints;
SQL
echo "loading a customer with 100,000 interactions..."
heavy=$("${psql[@]}" <<'SQL'
INSERT INTO customers (id, kind, name) VALUES ('01a20c70-0000-7000-8000-00000000beef', 'person', 'Heavy history');
INSERT INTO interactions (id, customer_id, channel, direction, purpose, subject, occurred_at)
SELECT gen_random_uuid(), '01a20c70-0000-7000-8000-00000000beef', 'phone', 'inbound', 'support',
       'call ' || n, now() - n * interval '1 minute'
FROM generate_series(1, 100000) AS n;
ANALYZE interactions;
SELECT '01a20c70-0000-7000-8000-00000000beef';
SQL
)
export CSRD_BENCH_HEAVY=$heavy
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
# ... and csrd's interaction INSERT and complaint list statements, likewise
{
  echo '\set n random(1, 100000)'
  ./build/csrd statements | awk -F'\t' '$1 == "interactions_insert" {print $2}' |
    sed -e 's/\$1::uuid/gen_random_uuid()/' \
        -e "s/\\\$2::jsonb/jsonb_build_object('customer_id', (SELECT id FROM customers WHERE external_ref = 'bench-' || :n), 'channel', 'phone', 'direction', 'inbound', 'purpose', 'support', 'subject', 'Bench call', 'experience_score', 1)/"
} >"$work/interaction.sql"
./build/csrd statements | awk -F'\t' '$1 == "complaints_list_created_at_desc" {print $2}' |
  sed -e 's/\$11/51/g' -e 's/\$10/NULL/g' -e 's/\$9/NULL/g' -e 's/\$8/NULL/g' \
      -e 's/\$7/NULL/g' -e 's/\$6/NULL/g' -e 's/\$5/NULL/g' -e 's/\$4/NULL/g' \
      -e 's/\$3/NULL/g' -e "s/\\\$2/'high'/g" -e "s/\\\$1/'in_progress'/g" >"$work/complaints.sql"
./build/csrd statements | awk -F'\t' '$1 == "timeline_page" {print $2}' |
  sed -e "s/\\\$1/'$heavy'::uuid/g" -e 's/\$2/NULL/g' -e 's/\$3/NULL/g' -e 's/\$4/51/g' >"$work/timeline.sql"
grep -q "customer_id" "$work/interaction.sql" && grep -q "'in_progress'" "$work/complaints.sql" ||
  { echo "could not build the pgbench scripts for interactions and complaints"; exit 1; }
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
read -r pi_rps pi_p50 pi_p99 pi_bad <<<"$(run_wrk post_interaction.lua)"
read -r pgi_tps pgi_lat <<<"$(run_pgbench "$work/interaction.sql")"
read -r lc_rps lc_p50 lc_p99 lc_bad <<<"$(run_wrk list_complaints.lua)"
read -r pgl_tps pgl_lat <<<"$(run_pgbench "$work/complaints.sql")"
read -r tl_rps tl_p50 tl_p99 tl_bad <<<"$(run_wrk timeline.lua)"
read -r pgt_tps pgt_lat <<<"$(run_pgbench "$work/timeline.sql")"
# memory at 256 concurrent keep-alive connections
wrk -t2 -c256 -d5s -s tests/bench/get.lua "http://127.0.0.1:$port" >"$work/wrk-256.txt"
rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
cat <<REPORT

csrd benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${secs}s per run
csrd: $conns keep-alive connections (wrk -t2), default threads/pool, log level warn
pgbench: -M prepared, 16 clients, -j 2, same database, same run

                          req/s      p50        p99       non-2xx
csrd GET  /customers/{id} $(printf '%-10s %-10s %-9s %s' "$get_rps" "$get_p50" "$get_p99" "$get_bad")
csrd POST /customers      $(printf '%-10s %-10s %-9s %s' "$post_rps" "$post_p50" "$post_p99" "$post_bad")
csrd POST /interactions   $(printf '%-10s %-10s %-9s %s' "$pi_rps" "$pi_p50" "$pi_p99" "$pi_bad")
csrd GET  /complaints?... $(printf '%-10s %-10s %-9s %s' "$lc_rps" "$lc_p50" "$lc_p99" "$lc_bad")
csrd GET  timeline (100k) $(printf '%-10s %-10s %-9s %s' "$tl_rps" "$tl_p50" "$tl_p99" "$tl_bad")
pgbench SELECT            $(printf '%-10s avg %s' "$sel_tps" "$sel_lat")
pgbench INSERT            $(printf '%-10s avg %s' "$ins_tps" "$ins_lat")
pgbench INSERT interaction $(printf '%-9s avg %s' "$pgi_tps" "$pgi_lat")
pgbench complaint page    $(printf '%-10s avg %s' "$pgl_tps" "$pgl_lat")
pgbench timeline page     $(printf '%-10s avg %s' "$pgt_tps" "$pgt_lat")

ratio GET/SELECT   $(ratio "$get_rps" "$sel_tps")   (target >= 0.6)
ratio POST/INSERT  $(ratio "$post_rps" "$ins_tps")   (target >= 0.8)
ratio POST interactions / pgbench  $(ratio "$pi_rps" "$pgi_tps")
ratio GET complaints page / pgbench $(ratio "$lc_rps" "$pgl_tps")   (status=in_progress&severity=high, 50 rows)
ratio GET timeline page / pgbench   $(ratio "$tl_rps" "$pgt_tps")   (customer with 100,000 interactions, 50 items)
csrd peak RSS      $((rss_kb / 1024)) MiB over all runs, the last at 256 connections   (target < 64 MiB)
REPORT
