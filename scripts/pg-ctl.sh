#!/usr/bin/env bash
# scripts/pg-ctl.sh DATADIR PORT stop|start — used by the fault-injection test to restart the
# test cluster under a running csrd.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
data=$1 port=$2
case $3 in
  stop) csrd_pg_stop "$data" ;;
  start) csrd_as_pg "$PG_BIN/pg_ctl" -D "$data" -o "-p $port" -l "$data/server.log" -w -t 60 start >/dev/null ;;
  *) echo "usage: $0 DATADIR PORT stop|start" >&2; exit 2 ;;
esac
