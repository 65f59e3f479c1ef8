# Shared by scripts/run.sh, scripts/test.sh and tests/bench/run.sh: install what is missing
# (Debian 12), build, and run a throw-away PostgreSQL cluster on a loopback port.
# Source it; every function stops the script on failure (set -e in callers).

CSRD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

csrd_log() { printf '[csrd] %s\n' "$*" >&2; }

# Packages needed to build and test; only missing ones are installed.
CSRD_PACKAGES="build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libpq-dev
uuid-dev libssl-dev libyaml-dev libcurl4-openssl-dev postgresql postgresql-contrib curl"

csrd_install_deps() {
  local missing=() p
  for p in $CSRD_PACKAGES "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  csrd_log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
}

# csrd_build DIR [cmake args...] (RelWithDebInfo unless the args name another build type)
csrd_build() {
  local dir=$1; shift
  cmake -S "$CSRD_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)" >/dev/null
}

csrd_free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# Runs a command as the cluster owner: root may not run initdb/postgres.
csrd_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# csrd_pg_start DATADIR PORT: creates the cluster on first use (trust auth on loopback only,
# UTF-8 so that trigram search works for CJK text), starts it, and makes role and database
# "csrd" (a non-superuser owner). Prints the DATABASE_URL.
csrd_pg_start() {
  local data=$1 port=$2
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    csrd_as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >/dev/null
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 300
shared_buffers = 256MB
CONF
  fi
  csrd_as_pg "$PG_BIN/pg_ctl" -D "$data" -o "-p $port" -l "$data/server.log" -w -t 60 start >/dev/null
  local psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtA -v ON_ERROR_STOP=1)
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'csrd'")" != 1 ]; then
    "${psql[@]}" -c "CREATE ROLE csrd LOGIN" -c "CREATE DATABASE csrd OWNER csrd" >/dev/null
  fi
  echo "postgresql://csrd@127.0.0.1:$port/csrd"
}

csrd_pg_stop() {
  local data=$1
  [ -f "$data/postmaster.pid" ] && csrd_as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1
  return 0
}
