#!/usr/bin/env bash
# Benchmark (not a test): csrd against the Node.js peer and PostgreSQL itself, in one run on
# one machine. Loads 100,000 customers and 100,000 complaints, then measures
#   GET  /v1/customers/{random id}: csrd (wrk), the peer (same wrk script), and pgbench
#        -M prepared reading the plain row: SELECT * FROM customers WHERE id = ...
#   POST /v1/customers: csrd, the peer, and pgbench with a plain INSERT INTO customers of the
#        row the POST body makes (fsync on; same table, all its indexes and triggers)
# (the headline: ratios csrd / plain-row pgbench and csrd / peer, with their targets), and
# pgbench running csrd's own statements (`csrd statements`) for the same two operations and
#   wrk  POST /v1/interactions            vs  pgbench: csrd's interaction INSERT
#   wrk  GET  /v1/complaints?status=in_progress&severity=high  vs  pgbench: the same page query
#   wrk  GET  /v1/customers/{id}/timeline of a customer with 100,000 interactions  vs  pgbench
# It prints requests/s, p50/p99 latency and errors, the database time per request
# (pg_stat_statements, reset before each wrk run of csrd and the peer) and csrd's peak RSS
# after a short GET run at 256 connections.
# pgbench picks a random loaded customer through bench_ids (k integer PRIMARY KEY, id uuid):
# SELECT ... WHERE id = (SELECT id FROM bench_ids WHERE k = :k), one prepared statement whose
# extra integer-key lookup costs microseconds; wrk reads the same ids from a file.
# The peer (Fastify + node-postgres over csrd's customers table) is copied from
# CSRD_BENCH_PEER (default ../shared/bench-peer) into the work directory and installed with
# npm ci; without node/npm or that directory it is skipped with a "peer skipped:" line.
# Usage: tests/bench/run.sh [seconds per run, default 20] [connections, default 64]
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$CSRD_ROOT"
secs=${1:-20}
conns=${2:-64}
csrd_install_deps wrk
csrd_build build
progress() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
t_start=$SECONDS

work=$(mktemp -d)
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work"
pgport=$(csrd_free_port)
pid="" peer_pid="" npm_pid="" tpid=""
stop_peer() {
  [ -n "$peer_pid" ] || return 0
  local workers; workers=$(pgrep -P "$peer_pid" 2>/dev/null || true)
  kill -TERM "$peer_pid" 2>/dev/null && wait "$peer_pid" 2>/dev/null || true
  for w in $workers; do
    for _ in $(seq 1 50); do kill -0 "$w" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$w" 2>/dev/null || true
  done
  peer_pid=""
}
cleanup() {
  stop_peer
  [ -n "$npm_pid" ] && kill -TERM "$npm_pid" 2>/dev/null && wait "$npm_pid" 2>/dev/null || true
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null || true
  csrd_pg_stop "$work/pg"; rm -rf "$work"
}
trap cleanup EXIT
csrd_pg_start "$work/pg" "$pgport" >/dev/null
# pg_stat_statements needs to be preloaded: configure it and restart the fresh cluster
csrd_as_pg tee -a "$work/pg/postgresql.conf" >/dev/null <<<"shared_preload_libraries = 'pg_stat_statements'"
csrd_pg_stop "$work/pg"
export DATABASE_URL=$(csrd_pg_start "$work/pg" "$pgport")
psql=("$PG_BIN/psql" "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1)
psql_su=("$PG_BIN/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d csrd -qtAX -v ON_ERROR_STOP=1
         -c "SET client_min_messages = warning")
"${psql_su[@]}" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"

# The peer: copied out of the read-only shared directory, npm ci in the background while the
# data loads. peer_skip holds the reason when it cannot run.
peer_src=${CSRD_BENCH_PEER:-$CSRD_ROOT/../shared/bench-peer}
peer_skip=""
if [ ! -f "$peer_src/server-same-table.js" ] || [ ! -f "$peer_src/package-lock.json" ]; then
  peer_skip="$peer_src has no server-same-table.js and package-lock.json"
else
  command -v node >/dev/null || csrd_install_deps nodejs || true
  command -v npm >/dev/null || csrd_install_deps npm || true
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    peer_skip="node or npm not found, not even after installing nodejs and npm"
  elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    peer_skip="node $(node --version) is too old for Fastify 5 (needs 20 or later)"
  fi
fi
if [ -z "$peer_skip" ]; then
  mkdir "$work/peer"
  cp "$peer_src/package.json" "$peer_src/package-lock.json" "$peer_src/server-same-table.js" "$work/peer/"
  chmod -R u+w "$work/peer"
  (cd "$work/peer" && npm ci --no-audit --no-fund) >"$work/npm.log" 2>&1 &
  npm_pid=$!
else
  echo "peer skipped: $peer_skip"
fi

port=$(csrd_free_port)
export CSRD_ADMIN_TOKEN="bench-admin-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
CSRD_LISTEN=127.0.0.1:$port CSRD_LOG_LEVEL=warn ./build/csrd >"$work/csrd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "csrd did not start:"; tail -n 20 "$work/csrd.log"; exit 1; }

# The data, by SQL, with the change-feed triggers off while loading (one transaction may
# write at most 65,535 feed entries).
progress "loading 100,000 customers..."
"${psql[@]}" <<'SQL'
ALTER TABLE customers DISABLE TRIGGER customers_change;
ALTER TABLE complaints DISABLE TRIGGER complaints_change;
ALTER TABLE interactions DISABLE TRIGGER interactions_change;
INSERT INTO customers (id, kind, name, email, phone, tier, status, tags, external_ref, address)
SELECT gen_random_uuid(), CASE WHEN n % 5 = 0 THEN 'organization' ELSE 'person' END,
       'Customer ' || n, 'c' || n || '@example.com', '+86 138 ' || lpad(n::text, 8, '0'),
       (ARRAY['vip','key','regular','minor'])[1 + n % 4], 'active', ARRAY['seed'],
       'bench-' || n, jsonb_build_object('city', 'City ' || (n % 50), 'country', 'CN')
FROM generate_series(1, 100000) AS n;
CREATE TABLE bench_ids (k integer PRIMARY KEY, id uuid NOT NULL);
INSERT INTO bench_ids SELECT substr(external_ref, 7)::integer, id FROM customers WHERE external_ref LIKE 'bench-%';
SQL
progress "loading 100,000 complaints..."
"${psql[@]}" <<'SQL'
INSERT INTO complaints (id, customer_id, channel, category, severity, subject, status,
                        response_channel, first_response_due_at, resolution_due_at,
                        first_responded_at, resolution, created_at, updated_at)
SELECT gen_random_uuid(), b.id, 'phone',
       (ARRAY['product_quality','service_attitude','delivery','billing','after_sales','other'])[1 + n % 6],
       (ARRAY['low','medium','high','critical'])[1 + n % 4], 'Bench complaint ' || n,
       (ARRAY['new','acknowledged','in_progress','resolved','closed'])[1 + (n / 4) % 5], 'phone',
       now() - (n % 1000) * interval '1 hour' + interval '4 hours',
       now() - (n % 1000) * interval '1 hour' + interval '72 hours',
       CASE WHEN (n / 4) % 5 > 0 THEN now() - (n % 1000) * interval '1 hour' END,
       CASE WHEN (n / 4) % 5 >= 3 THEN 'done' END,
       now() - (n % 1000) * interval '1 hour' - n * interval '1 millisecond',
       now() - (n % 1000) * interval '1 hour'
FROM generate_series(1, 100000) AS n JOIN bench_ids b ON b.k = n;
SQL
progress "loading a customer with 100,000 interactions..."
heavy=$("${psql[@]}" <<'SQL'
INSERT INTO customers (id, kind, name) VALUES ('01a20c70-0000-7000-8000-00000000beef', 'person', 'Heavy history');
INSERT INTO interactions (id, customer_id, channel, direction, purpose, subject, occurred_at)
SELECT gen_random_uuid(), '01a20c70-0000-7000-8000-00000000beef', 'phone', 'inbound', 'support',
       'call ' || n, now() - n * interval '1 minute'
FROM generate_series(1, 100000) AS n;
ALTER TABLE customers ENABLE TRIGGER customers_change;
ALTER TABLE complaints ENABLE TRIGGER complaints_change;
ALTER TABLE interactions ENABLE TRIGGER interactions_change;
SELECT '01a20c70-0000-7000-8000-00000000beef';
SQL
)
export CSRD_BENCH_HEAVY=$heavy
"${psql[@]}" -c "VACUUM ANALYZE customers" -c "VACUUM ANALYZE bench_ids" \
  -c "VACUUM ANALYZE complaints" -c "VACUUM ANALYZE interactions"
"${psql_su[@]}" -c "CHECKPOINT"
"${psql[@]}" -c "SELECT id FROM bench_ids ORDER BY k" >"$work/ids.txt"
[ "$(wc -l <"$work/ids.txt")" -eq 100000 ] || { echo "expected 100,000 ids in bench_ids"; exit 1; }

# pgbench's INSERT is csrd's own statement (from `csrd statements`), with the body wrk sends
# and the actor of the admin token.
./build/csrd statements >"$work/statements.tsv"
{
  echo '\set n random(1, 1000000000)'
  awk -F'\t' '$1 == "customers_insert" {print $2}' "$work/statements.tsv" |
    sed -e 's/\$1::uuid/gen_random_uuid()/' \
        -e "s/\\\$2::jsonb/('{\"kind\":\"person\",\"name\":\"Bench ' || :n || '\",\"email\":\"b' || :n || '@example.com\",\"tier\":\"regular\",\"tags\":[\"bench\"]}')::jsonb/g" \
        -e "s/\\\$3/'bench'/g" -e "s/\\\$4/'admin'/g"
} >"$work/insert.sql"
grep -q gen_random_uuid "$work/insert.sql" && grep -q "Bench" "$work/insert.sql" &&
  ! grep -q '\$[0-9]' "$work/insert.sql" ||
  { echo "could not build the pgbench INSERT script"; exit 1; }
# ... and csrd's interaction INSERT and complaint list statements, likewise
{
  echo '\set k random(1, 100000)'
  awk -F'\t' '$1 == "interactions_insert" {print $2}' "$work/statements.tsv" |
    sed -e 's/\$1::uuid/gen_random_uuid()/' \
        -e "s/\\\$2::jsonb/jsonb_build_object('customer_id', (SELECT id FROM bench_ids WHERE k = :k), 'channel', 'phone', 'direction', 'inbound', 'purpose', 'support', 'subject', 'Bench call', 'experience_score', 1)/"
} >"$work/interaction.sql"
awk -F'\t' '$1 == "complaints_queue_desc" {print $2}' "$work/statements.tsv" |
  sed -e 's/\$11/51/g' -e 's/\$10/NULL/g' -e 's/\$9/NULL/g' -e 's/\$8/NULL/g' \
      -e 's/\$7/NULL/g' -e 's/\$6/NULL/g' -e 's/\$5/NULL/g' -e 's/\$4/NULL/g' \
      -e 's/\$3/NULL/g' -e "s/\\\$2/'high'/g" -e "s/\\\$1/'in_progress'/g" >"$work/complaints.sql"
{
  echo '\set k random(1, 100000)'
  awk -F'\t' '$1 == "customers_get" {print $2}' "$work/statements.tsv" |
    sed -e 's/\$1/(SELECT id FROM bench_ids WHERE k = :k)/'
} >"$work/select_csrd.sql"
grep -q "bench_ids" "$work/select_csrd.sql" || { echo "could not build the pgbench script of customers_get"; exit 1; }
awk -F'\t' '$1 == "timeline_page" {print $2}' "$work/statements.tsv" |
  sed -e "s/\\\$1/'$heavy'::uuid/g" -e 's/\$2/NULL/g' -e 's/\$3/NULL/g' -e 's/\$4/51/g' >"$work/timeline.sql"
grep -q "customer_id" "$work/interaction.sql" && grep -q "'in_progress'" "$work/complaints.sql" &&
  grep -q "'$heavy'" "$work/timeline.sql" ||
  { echo "could not build the pgbench scripts for interactions, complaints and the timeline"; exit 1; }
export CSRD_BENCH_IDS="$work/ids.txt" CSRD_BENCH_TOKEN="$CSRD_ADMIN_TOKEN"

# The peer: started after the load, against the same database.
peer_port=$(csrd_free_port)
if [ -n "$npm_pid" ]; then
  progress "installing and starting the peer..."
  if ! wait "$npm_pid"; then
    peer_skip="npm ci failed: $(tail -n 3 "$work/npm.log" | tr '\n' ' ')"
  fi
  npm_pid=""
  if [ -z "$peer_skip" ]; then
    DATABASE_URL=$DATABASE_URL PORT=$peer_port WORKERS=2 POOL=16 \
      node "$work/peer/server-same-table.js" >"$work/peer.log" 2>&1 &
    peer_pid=$!
    up=""
    for _ in $(seq 1 200); do
      curl -s -o /dev/null "http://127.0.0.1:$peer_port/v1/customers/none" && { up=1; break; }
      kill -0 "$peer_pid" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$up" ] || { peer_skip="it did not answer in 20 s: $(tail -n 3 "$work/peer.log" | tr '\n' ' ')"; stop_peer; }
  fi
  [ -z "$peer_skip" ] || echo "peer skipped: $peer_skip"
fi

# wrk: requests/s, p50, p99, errors (non-2xx/socket errors), completed requests
run_wrk() { # lua-script port output-name [connections] [seconds]
  local out="$work/wrk-$3.txt"
  wrk -t2 -c"${4:-$conns}" -d"${5:-$secs}s" --latency -s "tests/bench/$1" "http://127.0.0.1:$2" >"$out"
  awk '/Requests\/sec/ {rps = sprintf("%.0f", $2)}
       $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2}
       /requests in/ {n = $1}
       /Non-2xx/ {bad = $NF}
       /Socket errors/ {gsub(",", ""); sock = $4 + $6 + $8 + $10}
       END {printf "%s %s %s %d/%d %d\n", rps, p50, p99, bad, sock, n}' "$out"
}
# pgbench: tps, p50, p99 (from its per-transaction log), errors (failed transactions/aborted
# clients), transactions
run_pgbench() { # script-path output-name [clients, default 16]
  local out="$work/pgb-$2.txt" rc=0
  "$PG_BIN/pgbench" -n -M prepared -c "${3:-16}" -j 2 -T "$secs" -l --log-prefix="$work/pgblog-$2" \
    -f "$1" "$DATABASE_URL" >"$out" 2>"$work/pgb-$2.err" || rc=$?
  local tps failed aborted pct
  tps=$(awk -F'= ' '/^tps/ {split($2, a, " "); printf "%.0f", a[1]}' "$out")
  failed=$(awk '/number of failed transactions/ {print $5}' "$out")
  aborted=$(grep -c 'aborted in command' "$work/pgb-$2.err" || true)
  pct=$(cat "$work/pgblog-$2".* 2>/dev/null | awk '$3 ~ /^[0-9]+$/ {print $3}' | sort -n |
        awk '{v[NR] = $1} END {
               if (NR == 0) { print "- -"; exit }
               i = int(NR * 0.50 + 0.5); j = int(NR * 0.99 + 0.5); if (i < 1) i = 1; if (j < 1) j = 1
               printf "%.2fms %.2fms\n", v[i] / 1000, v[j] / 1000 }')
  rm -f "$work/pgblog-$2".*
  if [ "$rc" -ne 0 ] || [ "$aborted" -ne 0 ]; then
    aborted="${aborted}(rc=$rc)"
    echo "pgbench $2: $(grep -m 1 . "$work/pgb-$2.err")" >>"$work/pgb-errors.txt"
  fi
  echo "${tps:-0} $pct ${failed:-?}/$aborted $(awk '/actually processed/ {print $NF}' "$out")"
}
# pg_stat_statements: reset before a run; afterwards the statements of role csrd that ran at
# least once per 100 requests (named after `csrd statements` where they are csrd's), their
# calls and mean time, and the database time per request over all of them.
pgss_reset() { "${psql_su[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null; }
pgss_report() { # label requests
  "${psql_su[@]}" -F$'\t' -c "
    SELECT sum(calls), sum(total_exec_time), regexp_replace(query, '\s+', ' ', 'g') AS q,
           sum(rows)
    FROM pg_stat_statements
    WHERE userid = 'csrd'::regrole AND dbid = (SELECT oid FROM pg_database WHERE datname = 'csrd')
    GROUP BY q ORDER BY 2 DESC" >"$work/pgss.tsv"
  awk -F'\t' -v label="$1" -v n="$2" '
    # the words of a statement without its constants: pg_stat_statements shows a constant
    # either as written or as $n, depending on when the statement was prepared
    function norm(s,   t, i, n, w, out) {
      gsub(/\047([^\047]|\047\047)*\047/, " ", s); gsub(/[^A-Za-z0-9_ ]/, " & ", s)
      n = split(s, t, " ")
      for (i = 1; i <= n; i++) {
        w = tolower(t[i])
        if (w !~ /^([0-9]+|[-.$]|null|true|false)$/) out = out " " w
      }
      return out }
    FNR == NR { name[norm($2)] = $1; next }
    { calls += $1; ms += $2; q = norm($3); s = (q in name) ? name[q] : substr($3, 1, 90)
      if (!(s in c)) order[++k] = s
      c[s] += $1; t[s] += $2; rw[s] += $4 }
    END { printf "%-22s %7.3f ms per request, %.2f statements per request (%d requests)\n",
                 label, (n > 0 ? ms / n : 0), (n > 0 ? calls / n : 0), n
          for (i = 1; i <= k; i++) if (c[order[i]] * 100 >= n)
            printf "    %9d calls  %7.3f ms mean  %6.1f rows/call  %s\n", c[order[i]],
                   t[order[i]] / c[order[i]], rw[order[i]] / c[order[i]], order[i] }' "$work/statements.tsv" "$work/pgss.tsv" >>"$work/dbtime.txt"
}
# measures one server: reset pg_stat_statements, wrk, database time per request
measure() { # label lua-script port output-name
  pgss_reset
  local r; r=$(run_wrk "$2" "$3" "$4")
  pgss_report "$1" "$(awk '{print $5}' <<<"$r")"
  echo "$r"
}
measure_pgbench() { # label script output-name
  pgss_reset
  local r; r=$(run_pgbench "$2" "$3")
  pgss_report "$1" "$(awk '{print $5}' <<<"$r")"
  echo "$r"
}
checkpoint() { "${psql_su[@]}" -c "CHECKPOINT"; }
skipped="- - - - 0"

progress "warming up (3 s GET, 2 s POST per server)..."
: >"$work/dbtime.txt"
wrk -t2 -c"$conns" -d3s -s tests/bench/get.lua "http://127.0.0.1:$port" >/dev/null
wrk -t2 -c"$conns" -d2s -s tests/bench/post.lua "http://127.0.0.1:$port" >/dev/null
if [ -n "$peer_pid" ]; then
  wrk -t2 -c"$conns" -d3s -s tests/bench/get.lua "http://127.0.0.1:$peer_port" >/dev/null
  wrk -t2 -c"$conns" -d2s -s tests/bench/post.lua "http://127.0.0.1:$peer_port" >/dev/null
fi

progress "GET one customer: csrd, peer, pgbench (plain row, csrd's statement)..."
read -r get_rps get_p50 get_p99 get_err _ <<<"$(measure "GET  csrd" get.lua "$port" csrd-get)"
peer_get=$skipped
[ -z "$peer_pid" ] || peer_get=$(measure "GET  peer" get.lua "$peer_port" peer-get)
read -r pget_rps pget_p50 pget_p99 pget_err _ <<<"$peer_get"
read -r row_tps row_p50 row_p99 row_err _ <<<"$(measure_pgbench "GET  pgbench row" tests/bench/select_row.sql select-row)"
read -r sel_tps sel_p50 sel_p99 sel_err _ <<<"$(run_pgbench "$work/select_csrd.sql" select)"
# what the same lookup costs when PostgreSQL renders the JSON (customer_json), as csrd did
read -r cj_tps cj_p50 cj_p99 cj_err _ <<<"$(run_pgbench tests/bench/select.sql select-json)"

progress "POST one customer: csrd, peer, pgbench (plain row, csrd's statement)..."
checkpoint
read -r post_rps post_p50 post_p99 post_err _ <<<"$(measure "POST csrd" post.lua "$port" csrd-post)"
peer_post=$skipped
[ -z "$peer_pid" ] || { checkpoint; peer_post=$(measure "POST peer" post.lua "$peer_port" peer-post); }
read -r ppost_rps ppost_p50 ppost_p99 ppost_err _ <<<"$peer_post"
checkpoint
read -r ins_tps ins_p50 ins_p99 ins_err _ <<<"$(measure_pgbench "POST pgbench row" tests/bench/insert_row.sql insert-row)"
checkpoint
read -r cins_tps cins_p50 cins_p99 cins_err _ <<<"$(run_pgbench "$work/insert.sql" insert)"
# the p99 targets are for 64 connections: what PostgreSQL alone does at the same concurrency
checkpoint
read -r ins64_tps ins64_p50 ins64_p99 ins64_err _ <<<"$(run_pgbench tests/bench/insert_row.sql insert-row-c "$conns")"
read -r row64_tps row64_p50 row64_p99 row64_err _ <<<"$(run_pgbench tests/bench/select_row.sql select-row-c "$conns")"
peer_node=$([ -n "$peer_pid" ] && node --version || echo "-")
stop_peer

progress "interactions, complaint queue, timeline..."
checkpoint
read -r pi_rps pi_p50 pi_p99 pi_err _ <<<"$(run_wrk post_interaction.lua "$port" interaction)"
read -r pgi_tps pgi_p50 pgi_p99 pgi_err _ <<<"$(run_pgbench "$work/interaction.sql" interaction)"
read -r lc_rps lc_p50 lc_p99 lc_err _ <<<"$(run_wrk list_complaints.lua "$port" complaints)"
read -r pgl_tps pgl_p50 pgl_p99 pgl_err _ <<<"$(run_pgbench "$work/complaints.sql" complaints)"
read -r tl_rps tl_p50 tl_p99 tl_err _ <<<"$(run_wrk timeline.lua "$port" timeline)"
read -r pgt_tps pgt_p50 pgt_p99 pgt_err _ <<<"$(run_pgbench "$work/timeline.sql" timeline)"
# memory after a short GET run at 256 concurrent keep-alive connections
progress "GET at 256 connections for csrd's peak RSS..."
read -r big_rps big_p50 big_p99 big_err _ <<<"$(run_wrk get.lua "$port" csrd-256 256 5)"
rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)

# csrd's former design, libmicrohttpd's thread pool with a blocking libpq call per worker
# (CSRD_IO=threads, 8 threads per core), against the default (CSRD_IO=events) at 64 and 256
# connections, on p99 as well as throughput
progress "the thread-pool design (CSRD_IO=threads) for comparison..."
read -r e256_rps e256_p50 e256_p99 e256_err _ <<<"$(run_wrk get.lua "$port" ev-get-256 256)"
tport=$(csrd_free_port)
CSRD_IO=threads CSRD_LISTEN=127.0.0.1:$tport CSRD_LOG_LEVEL=warn ./build/csrd --no-migrate \
  >"$work/csrd-threads.log" 2>&1 &
tpid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$tport/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
wrk -t2 -c"$conns" -d3s -s tests/bench/get.lua "http://127.0.0.1:$tport" >/dev/null
read -r tg_rps tg_p50 tg_p99 tg_err _ <<<"$(run_wrk get.lua "$tport" thr-get)"
checkpoint
read -r tp_rps tp_p50 tp_p99 tp_err _ <<<"$(run_wrk post.lua "$tport" thr-post)"
read -r t256_rps t256_p50 t256_p99 t256_err _ <<<"$(run_wrk get.lua "$tport" thr-get-256 256)"
trss_kb=$(awk '/VmHWM/ {print $2}' /proc/$tpid/status)
kill -TERM "$tpid" && wait "$tpid" || true
tpid=""

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
ms() { # wrk's or pgbench's latency (850.00us, 4.40ms, 1.20s) in milliseconds
  awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); x = v + 0
    if (u == "us") x /= 1000; else if (u == "s") x *= 1000; else if (u == "m") x *= 60000
    if (v ~ /^[0-9.]/) printf "%.2f", x; else print "n/a" }'
}
verdict() { # value op target
  awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { if (a == "n/a" || a == "") { print "n/a"; exit }
    ok = (op == ">=") ? (a + 0 >= b + 0) : (a + 0 < b + 0); print ok ? "met" : "MISSED" }'
}
cols() { printf '%-9s %-10s %-10s %s' "$@"; }
target() { # label value unit op target
  printf '%-34s %-9s target %s %-6s %s' "$1" "$2$3" "$4" "$5$3" "$(verdict "$2" "$4" "$5")"
}
r_get_row=$(ratio "$get_rps" "$row_tps") r_get_peer=$(ratio "$get_rps" "$pget_rps")
r_post_row=$(ratio "$post_rps" "$ins_tps") r_post_peer=$(ratio "$post_rps" "$ppost_rps")
fsync=$("${psql_su[@]}" -c "SHOW fsync") sync_commit=$("${psql_su[@]}" -c "SHOW synchronous_commit")
peer_line="Fastify + node-postgres (server-same-table.js), WORKERS=2 POOL=16, node $peer_node"
[ -z "$peer_skip" ] || peer_line="skipped: $peer_skip"
elapsed=$((SECONDS - t_start))
cat <<REPORT

csrd benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${secs}s per run, script ${elapsed}s after the build
csrd:    $conns keep-alive connections (wrk -t2), default threads/pool, log level warn
peer:    $peer_line
         the same wrk scripts, connections and duration
pgbench: -M prepared, 16 clients, -j 2, same database and run; fsync=$fsync, synchronous_commit=$sync_commit;
         p50/p99 from its per-transaction log; errors = failed transactions/aborted clients
wrk errors = non-2xx responses/socket errors. Ids: csrd uuid v7; the peer and pgbench random (v4).

headline                       req/s     p50        p99        errors
GET  /v1/customers/{id}  csrd  $(cols "$get_rps" "$get_p50" "$get_p99" "$get_err")
                         peer  $(cols "$pget_rps" "$pget_p50" "$pget_p99" "$pget_err")
  pgbench SELECT * FROM customers WHERE id = \$1
                               $(cols "$row_tps" "$row_p50" "$row_p99" "$row_err")
POST /v1/customers       csrd  $(cols "$post_rps" "$post_p50" "$post_p99" "$post_err")
                         peer  $(cols "$ppost_rps" "$ppost_p50" "$ppost_p99" "$ppost_err")
  pgbench INSERT INTO customers (id, kind, name, email, phone, address, tier, tags) VALUES (...)
                               $(cols "$ins_tps" "$ins_p50" "$ins_p99" "$ins_err")

$(target "GET  csrd / pgbench plain row" "$r_get_row" "" ">=" 0.6)
$(target "GET  csrd / peer" "$r_get_peer" "" ">=" 3)
$(target "POST csrd / pgbench plain row" "$r_post_row" "" ">=" 0.8)
$(target "POST csrd / peer" "$r_post_peer" "" ">=" 2)
$(target "GET  p99 csrd" "$(ms "$get_p99")" " ms" "<" 10)
$(target "POST p99 csrd" "$(ms "$post_p99")" " ms" "<" 25)
  (PostgreSQL alone at $conns clients, pgbench on the plain row: SELECT p50 $row64_p50 p99 $row64_p99,
   $row64_tps tps; INSERT p50 $ins64_p50 p99 $ins64_p99, $ins64_tps tps)
$(target "csrd peak RSS (VmHWM)" "$((rss_kb / 1024))" " MiB" "<" 64)
  (VmHWM over the whole run, read after a 5 s GET run at 256 connections:
   $big_rps req/s, p50 $big_p50, p99 $big_p99, errors $big_err)

event loops (default) against the thread pool    req/s     p50        p99        errors
GET  64 conns   CSRD_IO=events   $(cols "$get_rps" "$get_p50" "$get_p99" "$get_err")
                CSRD_IO=threads  $(cols "$tg_rps" "$tg_p50" "$tg_p99" "$tg_err")
POST 64 conns   CSRD_IO=events   $(cols "$post_rps" "$post_p50" "$post_p99" "$post_err")
                CSRD_IO=threads  $(cols "$tp_rps" "$tp_p50" "$tp_p99" "$tp_err")
GET 256 conns   CSRD_IO=events   $(cols "$e256_rps" "$e256_p50" "$e256_p99" "$e256_err")
                CSRD_IO=threads  $(cols "$t256_rps" "$t256_p50" "$t256_p99" "$t256_err")
peak RSS: events $((rss_kb / 1024)) MiB, threads $((trss_kb / 1024)) MiB

database time per request (pg_stat_statements of role csrd, reset before each run; listed:
statements run at least once per 100 requests; the pgbench lines per transaction)
$(cat "$work/dbtime.txt")

csrd's own statements           req/s     p50        p99        errors
csrd GET  /customers/{id}       $(cols "$get_rps" "$get_p50" "$get_p99" "$get_err")
pgbench csrd's SELECT by id     $(cols "$sel_tps" "$sel_p50" "$sel_p99" "$sel_err")
pgbench customer_json by id     $(cols "$cj_tps" "$cj_p50" "$cj_p99" "$cj_err")
csrd POST /customers            $(cols "$post_rps" "$post_p50" "$post_p99" "$post_err")
pgbench csrd's INSERT+history   $(cols "$cins_tps" "$cins_p50" "$cins_p99" "$cins_err")
csrd POST /interactions         $(cols "$pi_rps" "$pi_p50" "$pi_p99" "$pi_err")
pgbench INSERT interaction      $(cols "$pgi_tps" "$pgi_p50" "$pgi_p99" "$pgi_err")
csrd GET  /complaints?...       $(cols "$lc_rps" "$lc_p50" "$lc_p99" "$lc_err")
pgbench complaint page          $(cols "$pgl_tps" "$pgl_p50" "$pgl_p99" "$pgl_err")
csrd GET  timeline (100k)       $(cols "$tl_rps" "$tl_p50" "$tl_p99" "$tl_err")
pgbench timeline page           $(cols "$pgt_tps" "$pgt_p50" "$pgt_p99" "$pgt_err")

ratio GET / csrd's SELECT          $(ratio "$get_rps" "$sel_tps")
ratio POST / csrd's INSERT         $(ratio "$post_rps" "$cins_tps")
ratio POST interactions / pgbench  $(ratio "$pi_rps" "$pgi_tps")
ratio GET complaints page / pgbench $(ratio "$lc_rps" "$pgl_tps")   (status=in_progress&severity=high, 50 rows)
ratio GET timeline page / pgbench   $(ratio "$tl_rps" "$pgt_tps")   (customer with 100,000 interactions, 50 items)
$(cat "$work/pgb-errors.txt" 2>/dev/null)
REPORT
