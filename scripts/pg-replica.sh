#!/usr/bin/env bash
# scripts/pg-replica.sh start|stop DATADIR PRIMARY_PORT PORT [APPLY_DELAY]
# A streaming replica of the test cluster on PORT, for the read-your-writes test: start takes
# a base backup of the primary on PRIMARY_PORT (pg_basebackup -R: standby.signal and
# primary_conninfo), applies WAL APPLY_DELAY late (recovery_min_apply_delay, default 300ms),
# starts it and waits until it accepts connections; stop stops it and removes DATADIR.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
action=$1 data=$2 primary=$3 port=$4 delay=${5:-300ms}
case $action in
  start)
    rm -rf "$data"
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    csrd_as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$data" -R \
      -X stream -c fast >/dev/null
    csrd_as_pg tee -a "$data/postgresql.conf" >/dev/null <<CONF
port = $port
recovery_min_apply_delay = '$delay'
hot_standby = on
CONF
    csrd_as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
    ;;
  stop)
    csrd_pg_stop "$data"
    rm -rf "$data"
    ;;
  *) echo "usage: $0 start|stop DATADIR PRIMARY_PORT PORT [APPLY_DELAY]" >&2; exit 2 ;;
esac
