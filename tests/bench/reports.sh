#!/usr/bin/env bash
# Reports benchmark (not a test), own cluster and csrd: 1,000,000 complaints, 1,000,000
# follow-ups, 1,000,000 interactions and 100,000 customers spread over the last two years
# (complaints of the last 14 days in every state, older ones mostly done: 1 % still open),
# then GET /v1/reports/overview (the last 30 days), /v1/reports/complaints/trend (the last
# year by week, UTC and Asia/Shanghai) and /v1/reports/agents (30 days), each asked REPEAT
# times after a warm-up; prints the median and the slowest answer (curl's total time) and
# what PostgreSQL spent (EXPLAIN ANALYZE of the same statement).
# Usage: [CSRD_BIN=path/to/csrd] tests/bench/reports.sh   (default build/csrd; about 5 min)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$CSRD_ROOT"
csrd_install_deps
if [ -z "${CSRD_BIN:-}" ]; then
  csrd_build build
  CSRD_BIN=$CSRD_ROOT/build/csrd
fi
CSRD_BIN=$(realpath "$CSRD_BIN")
[ -x "$CSRD_BIN" ] || { echo "no csrd binary at $CSRD_BIN"; exit 1; }

ROWS=1000000 CUSTOMERS=100000 REPEAT=${REPEAT:-20}
work=$(mktemp -d)
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work"
pgport=$(csrd_free_port)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  csrd_pg_stop "$work/pg"; rm -rf "$work"
}
trap cleanup EXIT
DATABASE_URL=$(csrd_pg_start "$work/pg" "$pgport")
export DATABASE_URL
psql_su=("$PG_BIN/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d csrd -qtAX -v ON_ERROR_STOP=1
         -c "SET client_min_messages = warning")
progress() { printf '[reports %s] %s\n' "$(date +%T)" "$*" >&2; }

port=$(csrd_free_port)
U=http://127.0.0.1:$port
CSRD_ADMIN_TOKEN="bench-admin-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export CSRD_ADMIN_TOKEN
CSRD_LISTEN=127.0.0.1:$port CSRD_LOG_LEVEL=warn "$CSRD_BIN" >>"$work/csrd.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do curl -fsS "$U/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$U/readyz" >/dev/null || { echo "csrd did not start:"; tail -n 20 "$work/csrd.log"; exit 1; }

# 1. the data, by SQL (the change-feed triggers off while loading: one transaction may write
#    at most 65,535 feed entries), two sessions at once
progress "loading $CUSTOMERS customers, $ROWS complaints, $ROWS follow-ups, $ROWS interactions"
t0=$EPOCHREALTIME
"${psql_su[@]}" -f - <<SQL
ALTER TABLE customers DISABLE TRIGGER customers_change;
ALTER TABLE complaints DISABLE TRIGGER complaints_change;
ALTER TABLE follow_ups DISABLE TRIGGER follow_ups_change;
ALTER TABLE interactions DISABLE TRIGGER interactions_change;
INSERT INTO customers (id, kind, name, tier, status, address, created_at, updated_at)
SELECT gen_random_uuid(), 'person', 'customer ' || n, (ARRAY['vip','key','regular','minor'])[1 + n % 4],
       (ARRAY['active','active','active','prospect','inactive','lost'])[1 + n % 6],
       jsonb_build_object('region', (ARRAY['North','South','East','West',''])[1 + n % 5]),
       now() - interval '3 years' + n * interval '10 minutes', now()
FROM generate_series(1, $CUSTOMERS) AS n;
CREATE TABLE bench_ids AS SELECT row_number() OVER () AS k, id FROM customers;
CREATE UNIQUE INDEX ON bench_ids (k);
SQL
load() { # table first last
  local sql
  case $1 in
  complaints) sql="
INSERT INTO complaints (id, customer_id, channel, category, severity, subject, status, response_channel,
                        assignee, created_at, updated_at, first_response_due_at, first_responded_at,
                        resolution_due_at, resolved_at, rejected_at, closed_at, resolution,
                        customer_satisfaction)
SELECT gen_random_uuid(), b.id, 'phone',
       (ARRAY['product_quality','service_attitude','delivery','billing','after_sales','other'])[1 + n % 6],
       s.sev, 'complaint ' || n, s.st, 'phone', 'agent' || (n % 50), t, t,
       t + s.fr_h * interval '1 hour',
       CASE WHEN s.st <> 'new' THEN t + (n % 600) * interval '1 minute' END,
       t + s.res_h * interval '1 hour',
       CASE WHEN s.st IN ('resolved', 'closed') THEN t + (n % 200) * interval '1 hour' END,
       CASE WHEN s.st = 'rejected' THEN t + interval '2 hours' END,
       CASE WHEN s.st = 'closed' THEN t + (n % 200 + 24) * interval '1 hour' END,
       CASE WHEN s.st IN ('resolved', 'closed') THEN 'done' END,
       CASE WHEN s.st = 'closed' THEN 1 + n % 5 END
FROM generate_series($2, $3) AS n
JOIN bench_ids b ON b.k = 1 + n % $CUSTOMERS,
LATERAL (SELECT now() - interval '730 days' + (n::float8 / $ROWS) * interval '730 days' AS t) tt,
LATERAL (SELECT (ARRAY['low','medium','medium','high','critical'])[1 + n % 5] AS sev,
                -- the last 14 days: every state; older ones are mostly done (1 % still open)
                CASE WHEN t > now() - interval '14 days' OR n % 100 = 0
                     THEN (ARRAY['new','acknowledged','in_progress','resolved','closed','closed','closed','rejected'])[1 + (n / 7) % 8]
                     ELSE (ARRAY['resolved','closed','closed','closed','closed','closed','closed','rejected'])[1 + (n / 7) % 8] END AS st,
                (ARRAY[48, 24, 24, 4, 1])[1 + n % 5] AS fr_h, (ARRAY[336, 168, 168, 72, 24])[1 + n % 5] AS res_h) s;" ;;
  follow_ups) sql="
INSERT INTO follow_ups (id, customer_id, method, scheduled_at, status, completed_at, satisfaction, nps,
                        created_at, updated_at)
SELECT gen_random_uuid(), b.id, 'phone', t, s.st,
       CASE WHEN s.st IN ('completed', 'no_response') THEN t + interval '2 hours' END,
       CASE WHEN s.st = 'completed' THEN 1 + n % 5 END,
       CASE WHEN s.st = 'completed' AND n % 3 <> 0 THEN n % 11 END, t, t
FROM generate_series($2, $3) AS n
JOIN bench_ids b ON b.k = 1 + n % $CUSTOMERS,
LATERAL (SELECT now() - interval '730 days' + (n::float8 / $ROWS) * interval '730 days' AS t) tt,
LATERAL (SELECT (ARRAY['completed','completed','completed','completed','completed','completed',
                       'completed','no_response','scheduled','cancelled'])[1 + (n / 3) % 10] AS st) s;" ;;
  interactions) sql="
INSERT INTO interactions (id, customer_id, channel, direction, occurred_at, experience_score, created_at, updated_at)
SELECT gen_random_uuid(), b.id, (ARRAY['phone','email','sms','chat','web','visit','letter','social'])[1 + n % 8],
       'inbound', t, CASE WHEN n % 4 <> 0 THEN n % 7 - 3 END, t, t
FROM generate_series($2, $3) AS n
JOIN bench_ids b ON b.k = 1 + n % $CUSTOMERS,
LATERAL (SELECT now() - interval '730 days' + (n::float8 / $ROWS) * interval '730 days' AS t) tt;" ;;
  esac
  "${psql_su[@]}" -c "$sql"
}
for t in complaints follow_ups interactions; do
  load "$t" 1 $((ROWS / 2)) & a=$!
  load "$t" $((ROWS / 2 + 1)) "$ROWS" & b=$!
  wait "$a"; wait "$b"
done
"${psql_su[@]}" -f - <<'SQL'
DROP TABLE bench_ids;
ALTER TABLE customers ENABLE TRIGGER customers_change;
ALTER TABLE complaints ENABLE TRIGGER complaints_change;
ALTER TABLE follow_ups ENABLE TRIGGER follow_ups_change;
ALTER TABLE interactions ENABLE TRIGGER interactions_change;
VACUUM ANALYZE;
SQL
load_s=$(awk "BEGIN { printf \"%.0f\", $EPOCHREALTIME - $t0 }")
counts=$("${psql_su[@]}" -F' ' -c "SELECT (SELECT count(*) FROM complaints), (SELECT count(*) FROM follow_ups),
                                          (SELECT count(*) FROM interactions), (SELECT count(*) FROM customers)")

# 2. the reports, each REPEAT times after one warm-up (fresh csrd connections included)
sup=$(curl -fsS -H "Authorization: Bearer $CSRD_ADMIN_TOKEN" -H 'Content-Type: application/json' \
           -d '{"name":"bench supervisor","role":"supervisor"}' "$U/v1/api-keys" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
year_from=$(date -u -d '365 days ago' +%Y-%m-%dT%H:%M:%SZ)
now_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# prints: median-ms max-ms bytes
measure() { # path [accept]
  local t i code
  curl -fsS -o /dev/null -H "Authorization: Bearer $sup" "$U$1"
  for ((i = 0; i < REPEAT; i++)); do
    t=$(curl -sS -o "$work/out" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $sup" \
             -H "Accept: ${2:-application/json}" "$U$1")
    code=${t%% *}
    [ "$code" = 200 ] || { echo "$1: HTTP $code: $(head -c 300 "$work/out")" >&2; exit 1; }
    echo "${t#* }"
  done | sort -n >"$work/times"
  awk -v bytes="$(stat -c %s "$work/out")" '{ v[NR] = $1 * 1000 }
    END { printf "%.1f %.1f %d", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[NR], bytes }' \
    "$work/times"
}
progress "measuring ($REPEAT requests each)"
declare -A res
res[overview]=$(measure "/v1/reports/overview")
res[overview_csv]=$(measure "/v1/reports/overview" text/csv)
res[trend_utc]=$(measure "/v1/reports/complaints/trend?interval=week&from=$year_from&to=$now_utc")
res[trend_sh]=$(measure "/v1/reports/complaints/trend?interval=week&tz=Asia/Shanghai&from=$year_from&to=$now_utc")
res[trend_day]=$(measure "/v1/reports/complaints/trend?interval=day&from=$year_from&to=$now_utc")
res[agents]=$(measure "/v1/reports/agents")
explain_ms() { # statement-name sql-args: PostgreSQL's execution time, best of three
  local stmt
  stmt=$("$CSRD_BIN" statements | awk -F'\t' -v n="$1" '$1 == n {print $2}')
  { echo "PREPARE s AS $stmt;"
    for _ in 1 2 3; do echo "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE s($2);"; done
  } | "${psql_su[@]}" -f - | python3 -c '
import json, sys
text = sys.stdin.read()
dec, i, best = json.JSONDecoder(), 0, None
while True:
    j = text.find("[", i)
    if j < 0: break
    doc, i = dec.raw_decode(text, j)
    t = doc[0]["Planning Time"] + doc[0]["Execution Time"]
    best = t if best is None else min(best, t)
print("%.1f" % best)'
}
pg_overview=$(explain_ms reports_overview "NULL, NULL")
pg_trend=$(explain_ms reports_trend "'$year_from', '$now_utc', 'week', 'UTC'")
pg_agents=$(explain_ms reports_agents "NULL, NULL")
window=$("${psql_su[@]}" -F' ' -c "SELECT (SELECT count(*) FROM complaints WHERE created_at >= now() - interval '30 days'),
                                          (SELECT count(*) FROM complaints WHERE created_at >= now() - interval '365 days')")

row() { # label key pg-ms
  local a
  read -r -a a <<<"${res[$2]}"
  printf '%-48s %9s %9s %9s %8s\n' "$1" "${a[0]}" "${a[1]}" "$3" "${a[2]}"
}
cat <<REPORT

csrd reports benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $CSRD_BIN
data: complaints, follow-ups, interactions, customers = $counts (loaded by SQL in ${load_s}s,
spread evenly over the last 730 days; customers over 3 years); complaints in the last 30 / 365
days: $window. $REPEAT requests each after a warm-up, one at a time, supervisor key.

report                                           median ms    max ms     PG ms    bytes
REPORT
row "overview, last 30 days" overview "$pg_overview"
row "overview, last 30 days, CSV" overview_csv -
row "trend, 365 days by week, UTC" trend_utc "$pg_trend"
row "trend, 365 days by week, Asia/Shanghai" trend_sh -
row "trend, 365 days by day, UTC" trend_day -
row "agents, last 30 days (50 assignees)" agents "$pg_agents"
echo "(PG ms: planning + execution in EXPLAIN ANALYZE, best of three; target: overview and trend < 300 ms)"
