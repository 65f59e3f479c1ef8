#!/usr/bin/env bash
# Bulk benchmark (not a test), own cluster and csrd: POST /v1/customers/bulk against psql's \copy
# of the same 100,000 customers, then GET /v1/customers/export of 1,000,000 with csrd's RSS sampled.
# Usage: [CSRD_BIN=path/to/csrd] tests/bench/bulk.sh   (default build/csrd, built first; 5-6 min)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$CSRD_ROOT"
started=$EPOCHREALTIME
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
DATABASE_URL=$(csrd_pg_start "$work/pg" "$pgport")
export DATABASE_URL
psql=("$PG_BIN/psql" "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1)
psql_su=("$PG_BIN/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d csrd -qtAX -v ON_ERROR_STOP=1
         -c "SET client_min_messages = warning")

port=$(csrd_free_port)
U=http://127.0.0.1:$port
CSRD_ADMIN_TOKEN="bench-admin-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export CSRD_ADMIN_TOKEN
auth=(-H "Authorization: Bearer $CSRD_ADMIN_TOKEN")
start_csrd() { # info level: one access-log line with the server-side milliseconds per request
  CSRD_LISTEN=127.0.0.1:$port CSRD_LOG_LEVEL=info "$CSRD_BIN" >>"$work/csrd.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do curl -fsS "$U/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "csrd did not start:"; tail -n 20 "$work/csrd.log"; exit 1
}
stop_csrd() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
rss_kb() { local k v _; while read -r k v _; do [ "$k" = "$1:" ] && { echo "$v"; return; }; done </proc/"$pid"/status; }
cpu_ticks() { local st; read -r -a st </proc/"$pid"/stat; echo $((st[13] + st[14])); } # utime + stime
tck=$(getconf CLK_TCK)
now() { echo "$EPOCHREALTIME"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
progress() { printf '[bulk %s] %s\n' "$(date +%T)" "$*" >&2; }
start_csrd

# 1. the data in parts of 10,000: NDJSON, the same rows as CSV (with ids) and as csrd's
#    bulk-statement parameter; external_refs carry this run's id. Parts, because one
#    transaction may write at most 65,535 change-feed entries: \copy too loads 10 x 10,000.
run_id=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
progress "generating $ROWS customers (run $run_id)"
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
  cpu0=$(cpu_ticks)
}
# prints: seconds customers feed-rows history-rows WAL-MB csrd-CPU-s
after_load() { # t0 t1
  local counts wal
  counts=$("${psql[@]}" -F' ' -c "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM changes),
                                         (SELECT count(*) FROM customer_history)")
  wal=$("${psql_su[@]}" -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0') / 1048576.0)")
  [ "${counts%% *}" -eq "$ROWS" ] || { echo "load left ${counts%% *} customers, not $ROWS" >&2; exit 1; }
  echo "$(calc %.2f "$2 - $1") $counts $wal $(calc %.1f "($(cpu_ticks) - $cpu0) / $tck")"
}
# mean server-side milliseconds of the bulk requests csrd logged after line $1
server_ms() {
  tail -n +"$(($1 + 1))" "$work/csrd.log" | awk '$0 ~ /POST \/v1\/customers\/bulk / {
      for (i = 1; i <= NF; i++) if ($i ~ /ms$/) { sub(/ms$/, "", $i); s += $i; n++ } }
    END { printf "%.0f", n ? s / n : 0 }'
}
post_part() { # file tag
  curl -sS -o "$work/resp-$2" -w '%{http_code}' "${auth[@]}" -H 'Content-Type: application/x-ndjson' \
       -H 'Expect:' --data-binary @"$1" "$U/v1/customers/bulk" >"$work/code-$2" || true
}
check_responses() { # tag: every answer 200 with "created": 10000 and "failed": 0
  python3 - "$work" "$1" "$PER_REQUEST" "${#parts[@]}" >&2 <<'PY'
import glob, json, sys
work, tag, per, want = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
codes = sorted(glob.glob(f"{work}/code-{tag}-*"))
bad = []
for c in codes:
    t = c.split("/code-")[1]
    code = open(c).read().strip()
    try:
        body = open(f"{work}/resp-{t}", encoding="utf-8").read()
        r = json.loads(body)
        ok = code == "200" and r.get("created") == per and r.get("failed") == 0
    except (OSError, ValueError):
        r, ok = "(no JSON answer)", False
    if not ok:
        bad.append(f"{t}: HTTP {code}: {str(r)[:300]}")
if len(codes) != want or bad:
    print(f"bulk answers of {tag}: {len(codes)} of {want} requests, bad:", *bad, sep="\n  ")
    sys.exit(1)
PY
}

load_copy() {
  reset_db
  local t0 t1 f
  t0=$(now)
  for f in "$work"/data/part-*.csv; do
    echo "\\copy customers (kind, name, email, phone, tier, status, tags, address, external_ref, id) FROM '$f' WITH (FORMAT csv, HEADER true)"
  done | "${psql[@]}"
  t1=$(now)
  after_load "$t0" "$t1"
}
load_copy_par() { # two sessions, five parts each
  reset_db
  local t0 t1 a b k f
  t0=$(now)
  for k in 0 1; do
    for f in "$work"/data/part-*[$k$((k + 2))$((k + 4))$((k + 6))$((k + 8))].csv; do
      echo "\\copy customers (kind, name, email, phone, tier, status, tags, address, external_ref, id) FROM '$f' WITH (FORMAT csv, HEADER true)"
    done | "${psql[@]}" &
    [ "$k" = 0 ] && a=$! || b=$!
  done
  wait "$a"; wait "$b"
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
  (for i in 0 2 4 6 8; do post_part "${parts[$i]}" "$1-$i"; done) & a=$!
  (for i in 1 3 5 7 9; do post_part "${parts[$i]}" "$1-$i"; done) & b=$!
  wait "$a"; wait "$b"
  t1=$(now)
  check_responses "$1"
  echo "$(after_load "$t0" "$t1") $(server_ms "$lines")"
}

# 2.-4. each load twice, interleaved so that a noisy minute hits all of them alike; csrd's
#    statement run by psql once, to split csrd's time into SQL and the rest
declare -A res
for rep in 1 2; do
  progress "round $rep: \\copy"; res[copy$rep]=$(load_copy)
  progress "round $rep: \\copy, 2 sessions"; res[copypar$rep]=$(load_copy_par)
  if [ "$rep" = 1 ]; then progress "round $rep: csrd's bulk SQL via psql"; res[direct$rep]=$(load_direct); fi
  progress "round $rep: csrd POST bulk, 1 client"; res[seq$rep]=$(load_seq "seq$rep")
  progress "round $rep: csrd POST bulk, 2 clients"; res[par$rep]=$(load_par "par$rep")
done
bulk_hwm=$(rss_kb VmHWM)

# 5. export: 1,000,000 customers written by SQL, in two sessions at once. For this load only
#    the change-feed trigger is off (one transaction may write at most 65,535 feed entries)
#    and the secondary indexes but customers_created_idx, which the export reads, are dropped
#    (maintaining the trigram index alone would take minutes here).
progress "loading $EXPORT_ROWS customers for the export"
reset_db
t0=$(now)
"${psql_su[@]}" -f - <<'SQL'
ALTER TABLE customers DISABLE TRIGGER customers_change;
DO $$
DECLARE i regclass;
BEGIN
    FOR i IN SELECT indexrelid::regclass FROM pg_index
             WHERE indrelid = 'customers'::regclass AND NOT indisunique AND NOT indisprimary
               AND indexrelid <> 'customers_created_idx'::regclass LOOP
        EXECUTE 'DROP INDEX ' || i;
    END LOOP;
END $$;
SQL
load_half() { # first last
  "${psql_su[@]}" -f - <<SQL
INSERT INTO customers (id, kind, name, email, phone, tier, status, tags, external_ref, address,
                       created_at, updated_at)
SELECT gen_random_uuid(), CASE WHEN n % 5 = 0 THEN 'organization' ELSE 'person' END,
       (ARRAY['王伟','李娜','김민준','Olivia Smith','张秀英','이서연'])[1 + n % 6] || ' ' || n,
       'c' || n || '@example.com',
       '+86 138-' || lpad((n % 10000)::text, 4, '0') || '-' || lpad((n / 10000)::text, 4, '0'),
       (ARRAY['vip','key','regular','minor'])[1 + n % 4],
       (ARRAY['active','active','active','prospect','inactive'])[1 + n % 5],
       ARRAY['export', 'wechat'], 'EXP-$run_id-' || n,
       jsonb_build_object('city', (ARRAY['Shanghai','上海','Seoul','서울','Berlin'])[1 + n % 5],
                          'country', (ARRAY['CN','CN','KR','KR','DE'])[1 + n % 5]),
       now() - interval '30 days' + n * interval '1 millisecond', now()
FROM generate_series($1, $2) AS n;
SQL
}
load_half 1 $((EXPORT_ROWS / 2)) & a=$!
load_half $((EXPORT_ROWS / 2 + 1)) "$EXPORT_ROWS" & b=$!
wait "$a"; wait "$b"
"${psql_su[@]}" -c "ALTER TABLE customers ENABLE TRIGGER customers_change" -c "VACUUM ANALYZE customers"
t1=$(now)
export_load_s=$(calc %.0f "$t1 - $t0")
[ "$("${psql[@]}" -c "SELECT count(*) FROM customers")" -eq "$EXPORT_ROWS" ] ||
  { echo "the export load did not write $EXPORT_ROWS customers"; exit 1; }

# a fresh csrd, so that heap the bulk requests left behind cannot hide what the export needs
stop_csrd
start_csrd
curl -fsS -o /dev/null "${auth[@]}" "$U/v1/customers?limit=1"
sampler_start() { # file: VmRSS every 100 ms
  (while [ -r /proc/"$pid"/status ]; do rss_kb VmRSS; sleep 0.1; done) >"$1" 2>/dev/null &
  sampler=$!
}
sampler_stop() { kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=""; }
max_kb() { sort -n "$1" | tail -n 1; }
# prints: seconds bytes RSS-before-kB RSS-peak-kB csrd-CPU-s
export_run() { # tag accept
  local t0 t1 c0 lines before peak code bytes want=$EXPORT_ROWS
  [ "$2" = text/csv ] && want=$((EXPORT_ROWS + 1)) # the header line
  sleep 0.5
  before=$(rss_kb VmRSS)
  sampler_start "$work/rss-$1"
  c0=$(cpu_ticks)
  t0=$(now)
  # streamed into wc -l rather than /dev/null, which also checks that every record arrived
  lines=$(curl -sS "${auth[@]}" -H "Accept: $2" -w '%{stderr}%{http_code} %{size_download}\n' \
                "$U/v1/customers/export" 2>"$work/meta-$1" | wc -l) || true
  t1=$(now)
  sampler_stop
  read -r code bytes < <(tail -n 1 "$work/meta-$1") || true
  [ "${code:-}" = 200 ] && [ "$lines" -eq "$want" ] ||
    { echo "export $1: HTTP ${code:-none}, $lines lines (want $want): $(cat "$work/meta-$1")" >&2; exit 1; }
  peak=$(max_kb "$work/rss-$1")
  echo "$(calc %.1f "$t1 - $t0") $bytes $before $peak $(calc %.1f "($(cpu_ticks) - $c0) / $tck")"
}
progress "export NDJSON"; exp_nd=$(export_run nd application/x-ndjson)
progress "export CSV"; exp_csv=$(export_run csv text/csv)

# a reader that takes 1 MB/s and leaves after 5 s: csrd must not buffer ahead of it
progress "slow reader"
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
# how csrd's access log ended the abandoned export (status, time, note)
slow_log=$(grep 'GET /v1/customers/export ' "$work/csrd.log" | tail -n 1 | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/ key=[^ ]*/, ""); print }' | xargs)
export_hwm=$(rss_kb VmHWM)
stop_csrd

# 6. the report
mib() { calc %.1f "$1 / 1024"; }
ratio() { if [ "$1" = - ]; then echo -; else calc %.2f "$2 / $1"; fi; }
row_load() { # label key base-key: the ratio is base seconds / these seconds
  local r1 r2 b1 b2 i
  read -r -a r1 <<<"${res[${2}1]}"; read -r -a r2 <<<"${res[${2}2]:-- - - - - - -}"
  read -r -a b1 <<<"${res[${3}1]}"; read -r -a b2 <<<"${res[${3}2]}"
  if [ "${2:0:1}" != s ] && [ "${2:0:1}" != p ]; then # not csrd: csrd's CPU and log say nothing
    for i in 5 6; do r1[i]=-; r2[i]=-; done
  fi
  printf '%-30s %7s %6s %5s   %7s %6s %5s   %4s %4s   %4s %4s   %5s %5s\n' "$1" \
    "${r1[0]}" "$(calc %.0f "$ROWS / ${r1[0]}")" "$(ratio "${r1[0]}" "${b1[0]}")" \
    "${r2[0]}" "$([ "${r2[0]}" = - ] && echo - || calc %.0f "$ROWS / ${r2[0]}")" "$(ratio "${r2[0]}" "${b2[0]}")" \
    "${r1[4]}" "${r2[4]}" "${r1[5]}" "${r2[5]}" "${r1[6]:--}" "${r2[6]:--}"
}
row_export() { # label result
  local a
  read -r -a a <<<"$2"
  printf '%-7s %7s %7s %7s %10s   %10s %6s %6s\n' "$1" "${a[0]}" "$(calc %.0f "$EXPORT_ROWS / ${a[0]}")" \
    "$(calc %.1f "${a[1]} / 1048576")" "${a[4]}" "$(mib "${a[2]}")" "$(mib "${a[3]}")" "$(mib $((a[3] - a[2])))"
}
read -r -a c1 <<<"${res[copy1]}"; read -r -a s1 <<<"${res[seq1]}"
cat <<REPORT

csrd bulk benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $CSRD_BIN
data: $ROWS customers (NDJSON $(calc %.1f "$(stat -c %s "$work/data/customers.ndjson") / 1048576") MB, CSV $(calc %.1f "$(cat "$work"/data/part-*.csv | wc -c) / 1048576") MB), every load 10 transactions of $PER_REQUEST
each load starts from the same state: TRUNCATE customers, customer_history, changes CASCADE; CHECKPOINT
csrd: default threads and pool, CSRD_LOG_LEVEL=info, admin key, mode=atomic, no Idempotency-Key, curl -H 'Expect:'

load of $ROWS customers        ------- run 1 -------   ------- run 2 -------   WAL MB      csrd CPU s   csrd ms/request
                                seconds rows/s x\\copy   seconds rows/s x\\copy     1    2      1    2       1     2
REPORT
row_load "psql \\copy, 1 session" copy copy
row_load "csrd POST bulk, 1 client" seq copy
row_load "csrd's INSERT run by psql" direct copy
row_load "psql \\copy, 2 sessions" copypar copypar
row_load "csrd POST bulk, 2 clients" par copypar
cat <<REPORT
x\\copy: rows/s as a fraction of \\copy's with as many sessions (target: csrd >= 0.5).
rows each load leaves: customers $ROWS, change feed ${c1[2]}; customer_history ${c1[3]} after \\copy, ${s1[3]} after csrd
(csrd's statement writes the field history too). csrd's INSERT run by psql: the same prepared statement, parameters
and 10 transactions, without HTTP (once). csrd peak RSS over the bulk loads (VmHWM): $(mib "$bulk_hwm") MiB

export of $EXPORT_ROWS customers (loaded by SQL in ${export_load_s}s), fresh csrd, VmRSS sampled every 100 ms (MiB)
format  seconds  rows/s      MB  csrd CPU s   RSS before   peak growth   (target: growth < 16)
REPORT
row_export NDJSON "$exp_nd"
row_export CSV "$exp_csv"
cat <<REPORT
slow reader (curl --limit-rate 1M, killed after 5 s): read $(calc %.1f "$slow_bytes / 1048576") MB; RSS before $(mib "$slow_before"), peak $(mib "$slow_peak"), 1 s after $(mib "$slow_after"), growth $(mib $((slow_peak - slow_before))) MiB
  csrd's access log for it: ${slow_log:-(no line yet)}
csrd peak RSS over the export phase (VmHWM): $(mib "$export_hwm") MiB; whole run $(calc %.0f "$EPOCHREALTIME - $started") s
REPORT
