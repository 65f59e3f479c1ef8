#!/usr/bin/env bash
# One command from a fresh Debian 12 checkout to a running server: installs what is missing,
# builds build/csrd, starts a local PostgreSQL in .data/ when DATABASE_URL is unset (kept
# between runs), and runs csrd in the foreground, printing its URL and an admin token.
# Ctrl-C stops csrd and the local cluster.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CSRD_ROOT"

csrd_install_deps
csrd_build build
started_pg=""
data="$CSRD_ROOT/.data"
mkdir -p "$data"
if [ -z "${DATABASE_URL:-}" ]; then
  pgdata="$data/pg"
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$data"; then
    # the checkout is not reachable by the postgres user (e.g. under /root)
    pgdata="/var/lib/csrd/$(echo "$CSRD_ROOT" | md5sum | cut -c1-12)/pg"
    mkdir -p "$(dirname "$pgdata")"
    csrd_log "the postgres user cannot enter $data; the cluster lives in $pgdata"
  fi
  port=$(cat "$data/pg-port" 2>/dev/null || csrd_free_port)
  echo "$port" >"$data/pg-port"
  export DATABASE_URL=$(csrd_pg_start "$pgdata" "$port")
  started_pg="$pgdata"
  csrd_log "local PostgreSQL in $pgdata on 127.0.0.1:$port"
fi
if [ -z "${CSRD_ADMIN_TOKEN:-}" ]; then
  if [ ! -s "$data/admin-token" ]; then
    (umask 077; echo "csrd_admin_$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | cut -c1-32)" >"$data/admin-token")
  fi
  export CSRD_ADMIN_TOKEN=$(cat "$data/admin-token")
fi
listen=${CSRD_LISTEN:-127.0.0.1:8080}

stop() {
  [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$started_pg" ] && csrd_pg_stop "$started_pg"
  exit 0
}
trap stop INT TERM
./build/csrd "$@" &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://$listen/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit 1; }
  sleep 0.1
done
cat <<MSG

  csrd is running:   http://$listen
  admin token:       $CSRD_ADMIN_TOKEN
  try:               curl -H "Authorization: Bearer $CSRD_ADMIN_TOKEN" http://$listen/v1/customers

  Ctrl-C stops it.
MSG
wait "$pid" || true
stop
