#!/usr/bin/env bash
# scripts/pg-failover.sh start DIR PRIMARY_PORT REPLICA_PORT | crash DIR | promote DIR | stop DIR
# A primary with one synchronous streaming replica, for the failover test:
#   start    a new cluster in DIR/primary on PRIMARY_PORT (role and database csrd), a base
#            backup of it in DIR/replica on REPLICA_PORT (pg_basebackup -R), and
#            synchronous_standby_names = '*' on the primary, so that a commit is acknowledged
#            only once the replica has it; waits until the replica streams as sync
#   crash    stops the primary the hard way (pg_ctl -m immediate: no shutdown checkpoint)
#   promote  promotes the replica (pg_ctl promote -w): it accepts writes from then on
#   stop     stops both and removes DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
action=$1 dir=$2
case $action in
  start)
    primary=$3 replica=$4
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    csrd_pg_start "$dir/primary" "$primary" >/dev/null
    psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$primary" -U postgres -d postgres -qtAX -v ON_ERROR_STOP=1)
    mkdir -p "$dir/replica"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir/replica"
    chmod 700 "$dir/replica"
    csrd_as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir/replica" \
      -R -X stream -c fast >/dev/null
    csrd_as_pg tee -a "$dir/replica/postgresql.conf" >/dev/null <<<"port = $replica"
    csrd_as_pg "$PG_BIN/pg_ctl" -D "$dir/replica" -l "$dir/replica/server.log" -w -t 60 start >/dev/null
    "${psql[@]}" -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 1 100); do
      [ "$("${psql[@]}" -c "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")" = 1 ] && exit 0
      sleep 0.1
    done
    echo "the replica did not become synchronous" >&2
    exit 1
    ;;
  crash) csrd_as_pg "$PG_BIN/pg_ctl" -D "$dir/primary" -m immediate -w stop >/dev/null ;;
  promote) csrd_as_pg "$PG_BIN/pg_ctl" -D "$dir/replica" -w -t 60 promote >/dev/null ;;
  stop)
    csrd_pg_stop "$dir/primary"
    csrd_pg_stop "$dir/replica"
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start DIR PRIMARY_PORT REPLICA_PORT | crash DIR | promote DIR | stop DIR" >&2; exit 2 ;;
esac
