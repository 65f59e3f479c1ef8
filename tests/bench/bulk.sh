#!/usr/bin/env bash
# Bulk benchmark (not a test): csrd's POST /v1/customers/bulk against psql's \copy of the same
# 100,000 customers into the same table, and GET /v1/customers/export of 1,000,000 customers
# (NDJSON, CSV, a slow reader) with csrd's RSS sampled every 100 ms. Own cluster, own csrd.
# Usage: [CSRD_BIN=path/to/csrd] tests/bench/bulk.sh   (default build/csrd, built first)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$CSRD_ROOT"
csrd_install_deps python3
if [ -z "${CSRD_BIN:-}" ]; then
  csrd_build build
  CSRD_BIN=$CSRD_ROOT/build/csrd
fi
CSRD_BIN=$(realpath "$CSRD_BIN")
[ -x "$CSRD_BIN" ] || { echo "no csrd binary at $CSRD_BIN"; exit 1; }

ROWS=100000 PER_REQUEST=10000 EXPORT_ROWS=1000000
work=$(mktemp -d)
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work"
pgport=$(csrd_free_port)
pid="" sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null && wait "$sampler" 2>/dev/null || true
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  csrd_pg_stop "$work/pg"; rm -rf "$work"
}
trap cleanup EXIT
export DATABASE_URL=$(csrd_pg_start "$work/pg" "$pgport")
psql=("$PG_BIN/psql" "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1)
psql_su=("$PG_BIN/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d csrd -qtAX -v ON_ERROR_STOP=1
         -c "SET client_min_messages = warning")

port=$(csrd_free_port)
U=http://127.0.0.1:$port
export CSRD_ADMIN_TOKEN="bench-admin-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
auth=(-H "Authorization: Bearer $CSRD_ADMIN_TOKEN")
start_csrd() { # info level: one access-log line with the server-side milliseconds per request
  CSRD_LISTEN=127.0.0.1:$port CSRD_LOG_LEVEL=info "$CSRD_BIN" >>"$work/csrd.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do curl -fsS "$U/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "csrd did not start:"; tail -n 20 "$work/csrd.log"; exit 1
}
stop_csrd() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
rss_kb() { local k v _; while read -r k v _; do [ "$k" = "$1:" ] && { echo "$v"; return; }; done </proc/"$pid"/status; }
now() { echo "$EPOCHREALTIME"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
start_csrd

# 1. the data in parts of 10,000: NDJSON, the same rows as CSV (with ids) and as csrd's
#    bulk-statement parameter; external_refs carry this run's id. Parts, because one
#    transaction may write at most 65,535 change-feed entries: \copy too loads 10 x 10,000.
run_id=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "generating $ROWS customers (run $run_id)..."
python3 tests/bench/bulk_data.py "$ROWS" "$PER_REQUEST" "$run_id" "$work/data"
parts=("$work"/data/part-*.ndjson)
[ "${#parts[@]}" -eq $((ROWS / PER_REQUEST)) ] || { echo "expected $((ROWS / PER_REQUEST)) parts"; exit 1; }

# csrd's own bulk INSERT, prepared once and executed per batch by psql (one transaction each)
stmt=$("$CSRD_BIN" statements | awk -F'\t' '$1 == "customers_bulk_insert" {print $2}')
[ -n "$stmt" ] || { echo "csrd statements has no customers_bulk_insert"; exit 1; }
{
  echo "PREPARE bulk_insert AS $stmt;"
  for f in "$work"/data/param-*.json; do
    echo "\\set p \`cat $f\`"
    echo "EXECUTE bulk_insert(:'p', 'bench', 'admin');"
  done
} >"$work/direct.sql"

# Every load starts from the same empty state: customers and what refers to them truncated
# (the change feed and the history too), then a CHECKPOINT so that no load pays for the last.
reset_db() {
  "${psql_su[@]}" -c "TRUNCATE customers, customer_history, changes CASCADE" -c "CHECKPOINT"
  wal0=$("${psql_su[@]}" -c "SELECT pg_current_wal_lsn()")
}
# seconds, then what the load left: customers, change-feed rows, history rows, WAL MB
after_load() { # t0 t1
  local counts wal
  counts=$("${psql[@]}" -F' ' -c "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM changes),
                                         (SELECT count(*) FROM customer_history)")
  wal=$("${psql_su[@]}" -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0') / 1048576.0, 1)")
  [ "${counts%% *}" -eq "$ROWS" ] || { echo "load left ${counts%% *} customers, not $ROWS" >&2; exit 1; }
  echo "$(calc %.2f "$2 - $1") $counts $wal"
}
# server-side milliseconds of the bulk requests logged since line $1: sum and mean
server_ms() {
  tail -n +"$(($1 + 1))" "$work/csrd.log" | awk '$0 ~ /POST \/v1\/customers\/bulk / {
      for (i = 1; i <= NF; i++) if ($i ~ /ms$/) { sub(/ms$/, "", $i); s += $i; n++ } }
    END { printf "%.0f %.0f", s, n ? s / n : 0 }'
}
post_part() { # file tag
  curl -sS -o "$work/resp-$2" -w '%{http_code}' "${auth[@]}" -H 'Content-Type: application/x-ndjson' \
       -H 'Expect:' --data-binary @"$1" "$U/v1/customers/bulk" >"$work/code-$2"
}
check_responses() { # tag prefix: every answer 200 with created 10000 and failed 0
  python3 - "$work" "$1" "$PER_REQUEST" >&2 <<'PY'
import glob, json, sys
work, tag, per = sys.argv[1], sys.argv[2], int(sys.argv[3])
codes = sorted(glob.glob(f"{work}/code-{tag}-*"))
bad = []
for c in codes:
    t = c.split("/code-")[1]
    code = open(c).read().strip()
    try:
        r = json.load(open(f"{work}/resp-{t}"))
        ok = code == "200" and r.get("created") == per and r.get("failed") == 0
    except ValueError:
        r, ok = open(f"{work}/resp-{t}").read(300), False
    if not ok:
        bad.append(f"{t}: HTTP {code}: {str(r)[:300]}")
if len(codes) != 10 or bad:
    print(f"bulk answers of {tag}: {len(codes)} requests, bad:", *bad, sep="\n  ")
    sys.exit(1)
PY
}

load_copy() {
  reset_db
  local t0 t1
  t0=$(now)
  for f in "$work"/data/part-*.csv; do
    echo "\\copy customers (kind, name, email, phone, tier, status, tags, address, external_ref, id) FROM '$f' WITH (FORMAT csv, HEADER true)"
  done | "${psql[@]}"
  t1=$(now)
  after_load "$t0" "$t1"
}
load_direct() {
  reset_db
  local t0 t1
  t0=$(now)
  "${psql[@]}" -o /dev/null -f "$work/direct.sql"
  t1=$(now)
  after_load "$t0" "$t1"
}
load_seq() { # tag
  reset_db
  local t0 t1 i lines
  lines=$(wc -l <"$work/csrd.log")
  t0=$(now)
  for i in "${!parts[@]}"; do post_part "${parts[$i]}" "$1-$i"; done
  t1=$(now)
  check_responses "$1"
  echo "$(after_load "$t0" "$t1") $(server_ms "$lines")"
}
load_par() { # tag: two clients, five requests each
  reset_db
  local t0 t1 a b lines
  lines=$(wc -l <"$work/csrd.log")
  t0=$(now)
  (for i in 0 2 4 6 8; do post_part "${parts[$i]}" "$1-$i"; done) &
  a=$!
  (for i in 1 3 5 7 9; do post_part "${parts[$i]}" "$1-$i"; done) &
  b=$!
  wait "$a"; wait "$b"
  t1=$(now)
  check_responses "$1"
  echo "$(after_load "$t0" "$t1") $(server_ms "$lines")"
}

# 2.-4. each load twice, interleaved so that a noisy minute hits all of them alike
declare -A res
for rep in 1 2; do
  echo "round $rep: \\copy..."; res[copy$rep]=$(load_copy)
  echo "round $rep: csrd's bulk SQL via psql..."; res[direct$rep]=$(load_direct)
  echo "round $rep: csrd POST bulk, sequential..."; res[seq$rep]=$(load_seq "seq$rep")
  echo "round $rep: csrd POST bulk, 2 parallel clients..."; res[par$rep]=$(load_par "par$rep")
done
bulk_hwm=$(rss_kb VmHWM)

# 5. export: 1,000,000 customers written by SQL (the change-feed trigger is off for this load:
#    one transaction may write at most 65,535 feed entries, and the export does not read them)
echo "loading $EXPORT_ROWS customers for the export..."
reset_db
t0=$(now)
"${psql_su[@]}" -f - <<SQL
ALTER TABLE customers DISABLE TRIGGER customers_change;
INSERT INTO customers (id, kind, name, email, phone, tier, status, tags, external_ref, address,
                       created_at, updated_at)
SELECT gen_random_uuid(), CASE WHEN n % 5 = 0 THEN 'organization' ELSE 'person' END,
       (ARRAY['王伟','李娜','김민준','Olivia Smith','张秀英','이서연'])[1 + n % 6] || ' ' || n,
       'c' || n || '@example.com', '+86 138-' || lpad((n % 10000)::text, 4, '0') || '-' || lpad((n / 10000)::text, 4, '0'),
       (ARRAY['vip','key','regular','minor'])[1 + n % 4], 'active', ARRAY['export', 'wechat'],
       'EXP-$run_id-' || n, jsonb_build_object('city', (ARRAY['Shanghai','上海','Seoul','Berlin'])[1 + n % 4], 'country', 'CN'),
       now() - interval '30 days' + n * interval '1 millisecond', now()
FROM generate_series(1, $EXPORT_ROWS) AS n;
ALTER TABLE customers ENABLE TRIGGER customers_change;
VACUUM ANALYZE customers;
SQL
t1=$(now)
export_load_s=$(calc %.1f "$t1 - $t0")

# a fresh csrd, so that heap the bulk requests freed cannot hide what the export needs
stop_csrd
start_csrd
curl -sS -o /dev/null "${auth[@]}" "$U/v1/customers?limit=1"
sampler_start() { # file
  (while [ -r /proc/"$pid"/status ]; do rss_kb VmRSS; sleep 0.1; done) >"$1" 2>/dev/null &
  sampler=$!
}
sampler_stop() { kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=""; }
max_kb() { sort -n "$1" | tail -n 1; }
export_run() { # tag accept
  local t0 t1 lines meta before peak
  sleep 0.5
  before=$(rss_kb VmRSS)
  sampler_start "$work/rss-$1"
  t0=$(now)
  # counting lines instead of writing to /dev/null checks that every record arrived
  lines=$(curl -sS "${auth[@]}" -H "Accept: $2" -w '%{stderr}%{http_code} %{size_download}' \
                "$U/v1/customers/export" 2>"$work/meta-$1" | wc -l) || true
  t1=$(now)
  sampler_stop
  read -r code bytes <"$work/meta-$1" || true
  local want=$EXPORT_ROWS; [ "$2" = text/csv ] && want=$((EXPORT_ROWS + 1))
  [ "${code:-}" = 200 ] && [ "$lines" -eq "$want" ] ||
    { echo "export $1: HTTP ${code:-none}, $lines lines (want $want): $(cat "$work/meta-$1")" >&2; exit 1; }
  peak=$(max_kb "$work/rss-$1")
  echo "$(calc %.2f "$t1 - $t0") $bytes $before $peak"
}
declare -A exp
for rep in 1 2; do
  echo "round $rep: export NDJSON..."; exp[nd$rep]=$(export_run "nd$rep" application/x-ndjson)
  echo "round $rep: export CSV..."; exp[csv$rep]=$(export_run "csv$rep" text/csv)
done

# a reader that takes 1 MB/s and leaves after 5 s: csrd must not buffer ahead of it
echo "slow reader..."
sleep 0.5
slow_before=$(rss_kb VmRSS)
sampler_start "$work/rss-slow"
curl -sS "${auth[@]}" --limit-rate 1M -o "$work/slow.out" "$U/v1/customers/export" 2>/dev/null &
slow=$!
sleep 5
kill "$slow"; wait "$slow" 2>/dev/null || true
sleep 1
sampler_stop
slow_peak=$(max_kb "$work/rss-slow")
slow_after=$(rss_kb VmRSS)
slow_bytes=$(stat -c %s "$work/slow.out")
curl -fsS -o /dev/null "$U/healthz" || { echo "csrd does not answer after the slow reader"; exit 1; }
export_hwm=$(rss_kb VmHWM)
stop_csrd

# 6. the report
mib() { calc %.1f "$1 / 1024"; }
row_load() { # label key (results: seconds customers changes history wal [server_ms_sum server_ms_mean])
  local r1 r2 s1 s2 c1 c2
  read -r -a r1 <<<"${res[${2}1]}"; read -r -a r2 <<<"${res[${2}2]}"
  read -r -a c1 <<<"${res[copy1]}"; read -r -a c2 <<<"${res[copy2]}"
  s1=$(calc %.0f "$ROWS / ${r1[0]}"); s2=$(calc %.0f "$ROWS / ${r2[0]}")
  printf '%-34s %6s %6s  %7s %7s   %4s / %-4s  %6s %6s   %s/%s   %s\n' "$1" "${r1[0]}" "${r2[0]}" "$s1" "$s2" \
    "$(calc %.2f "${c1[0]} / ${r1[0]}")" "$(calc %.2f "${c2[0]} / ${r2[0]}")" "${r1[4]}" "${r2[4]}" \
    "${r1[2]}" "${r1[3]}" "${r1[5]:+${r1[5]}/${r2[5]} ms (${r1[6]}/${r2[6]} ms per request)}"
}
row_export() { # label key
  local a b
  read -r -a a <<<"${exp[${2}1]}"; read -r -a b <<<"${exp[${2}2]}"
  printf '%-8s %6s %6s  %7s %7s  %6s  %5s %5s  %5s %5s  %5s %5s\n' "$1" "${a[0]}" "${b[0]}" \
    "$(calc %.0f "$EXPORT_ROWS / ${a[0]}")" "$(calc %.0f "$EXPORT_ROWS / ${b[0]}")" \
    "$(calc %.1f "${a[1]} / 1048576")" "$(mib "${a[2]}")" "$(mib "${b[2]}")" \
    "$(mib "${a[3]}")" "$(mib "${b[3]}")" "$(mib $((a[3] - a[2])))" "$(mib $((b[3] - b[2])))"
}
cat <<REPORT

csrd bulk benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, csrd $CSRD_BIN
data: $ROWS customers, NDJSON $(calc %.1f "$(stat -c %s "$work/data/customers.ndjson") / 1048576") MB, CSV $(calc %.1f "$(cat "$work"/data/part-*.csv | wc -c) / 1048576") MB; every load is 10 transactions of $PER_REQUEST
every load starts from the same state: TRUNCATE customers, customer_history, changes CASCADE; CHECKPOINT
csrd: default threads/pool, CSRD_LOG_LEVEL=info, admin key, mode=atomic, no Idempotency-Key

load of $ROWS rows                 seconds (1/2)  rows/s (1/2)    x \\copy (1/2)  WAL MB (1/2)  feed/history  csrd server time (1/2)
REPORT
row_load "psql \\copy (CSV, ids given), 10 tx" copy
row_load "csrd's bulk SQL via psql, 10 tx" direct
row_load "csrd POST bulk, 1 client" seq
row_load "csrd POST bulk, 2 clients" par
cat <<REPORT
target: csrd >= 0.5 x \\copy. \\copy writes no customer_history rows; csrd's statement writes one per customer.
csrd peak RSS over the bulk loads: $(mib "$bulk_hwm") MiB

export of $EXPORT_ROWS rows (loaded by SQL in ${export_load_s}s), fresh csrd, RSS sampled every 100 ms
format   seconds (1/2)  rows/s (1/2)      MB  RSS before   RSS peak   growth MiB (1/2)   (target < 16)
REPORT
row_export NDJSON nd
row_export CSV csv
cat <<REPORT
slow reader (--limit-rate 1M, killed after 5 s): $(calc %.1f "$slow_bytes / 1048576") MB read; RSS before $(mib "$slow_before"), peak $(mib "$slow_peak"), 1 s after $(mib "$slow_after") MiB (growth $(mib $((slow_peak - slow_before))) MiB)
csrd peak RSS over the export phase: $(mib "$export_hwm") MiB
REPORT
