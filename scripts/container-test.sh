#!/usr/bin/env bash
# scripts/container-test.sh: builds and runs the docker/ files with rootful Podman (Debian's
# podman, runc, podman-compose), on a machine that reaches no container registry:
#  1. base images debian:bookworm and debian:bookworm-slim made locally (mmdebstrap
#     --variant=minbase from this machine's own apt sources and apt options, read at run time;
#     podman import), kept in Podman's storage for the next run;
#  2. the csrd image (docker/Dockerfile; --format docker keeps its HEALTHCHECK), and
#     test-only stand-ins for the postgres and haproxy images compose.yaml names, built from
#     Debian's packages (tests/containers/);
#  3. the image alone against a PostgreSQL on loopback: it runs as uid 10001 on a read-only
#     root, on a port other than 8080, becomes ready, its HEALTHCHECK passes, a customer is
#     created and read, and SIGTERM ends it with status 0;
#  4. docker/compose.yaml (primary and replica, two csrd, HAProxy): comes up from nothing,
#     csrd waiting for its database; a write and a read-your-writes read through HAProxy; one
#     instance stopped under traffic loses no request; `down -v` without CSRD_ADMIN_TOKEN.
# Podman runs with a containers.conf of its own (CONTAINERS_CONF): runc (crun refuses these
# machines' cgroup setup), cgroupfs, and explicit ulimits within this process's own (Podman's
# defaults fail with "setrlimit: operation not permitted"). Needs root. ctest runs it under
# the label containers (scripts/test.sh, once); about 6 minutes cold, 1-2 warm.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$CSRD_ROOT"
step() { printf '[containers %s] %s\n' "$(date +%T)" "$*" >&2; }
fail() { echo "container-test: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (rootful Podman)"
csrd_install_deps podman runc mmdebstrap podman-compose netavark aardvark-dns iptables

cache=${CSRD_CONTAINER_CACHE:-/var/tmp/csrd-containers}
mkdir -p "$cache"
nofile=$(ulimit -Hn)
{ [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ]; } && nofile=65536
cat >"$cache/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
CONF
export CONTAINERS_CONF="$cache/containers.conf"

work=$(mktemp -d /tmp/csrd-containers.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$work"
project=csrdct$$
single=csrd-ct-$$
compose=(podman-compose -p "$project" -f docker/compose.yaml)
cleanup() {
  podman rm -f -t 0 "$single" >/dev/null 2>&1 || true
  env -u CSRD_ADMIN_TOKEN "${compose[@]}" down -v >/dev/null 2>&1 || true
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true # down leaves it (1.0.3)
  csrd_pg_stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

# 1. base images
if ! podman image exists localhost/debian:bookworm; then
  step "making debian:bookworm with mmdebstrap from this machine's apt sources"
  aptopts=()
  for f in /etc/apt/apt.conf.d/*; do [ -f "$f" ] && aptopts+=(--aptopt "$f"); done
  shopt -s nullglob
  deb822=(/etc/apt/sources.list.d/*.sources)
  shopt -u nullglob
  if [ ${#deb822[@]} -gt 0 ]; then
    sources=$(cat "${deb822[@]}")
  else
    sources=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep '^deb ')
  fi
  [ -n "$sources" ] || fail "no apt sources found in /etc/apt"
  mmdebstrap --variant=minbase --quiet "${aptopts[@]}" bookworm "$work/bookworm.tar" - \
    <<<"$sources" >"$work/mmdebstrap.log" 2>&1 || { tail -n 20 "$work/mmdebstrap.log"; fail "mmdebstrap"; }
  podman import "$work/bookworm.tar" localhost/debian:bookworm >/dev/null
  rm -f "$work/bookworm.tar"
fi
podman tag localhost/debian:bookworm localhost/debian:bookworm-slim

# 2. images (Podman's layer cache makes a rebuild of unchanged steps quick)
build() { # tag containerfile context
  step "building $1"
  podman build --format docker --pull=never --network host -t "$1" -f "$2" "$3" \
    >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log"; fail "podman build $1"; }
}
build localhost/csrd:latest docker/Dockerfile .
build localhost/csrd-test-postgres:15 tests/containers/postgres.Containerfile tests/containers
build localhost/csrd-test-haproxy:latest tests/containers/haproxy.Containerfile tests/containers
size=$(podman image inspect --format '{{.Size}}' localhost/csrd:latest)
step "csrd image: $((size / 1024 / 1024)) MiB"

wait_ready() { # url seconds
  for _ in $(seq 1 $(($2 * 5))); do
    curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}
token="ct-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
auth=(-H "Authorization: Bearer $token")
create_and_read() { # base-url label: POST a customer, GET it back by id
  local out id
  out=$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
        -d "{\"kind\":\"person\",\"name\":\"Container $2\",\"external_ref\":\"ct-$2-$$\"}" \
        -D "$work/headers" "$1/v1/customers") || fail "$2: POST /v1/customers"
  id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$out")
  curl -fsS "${auth[@]}" "$1/v1/customers/$id" | grep -q "\"Container $2\"" || fail "$2: GET $id"
}

# 3. the image alone, on the host network against a PostgreSQL on loopback
pgport=$(csrd_free_port)
db_url=$(csrd_pg_start "$work/pg" "$pgport")
port=$(csrd_free_port)
step "running the image alone (port $port)"
podman run -d --name "$single" --network host --read-only \
  -e DATABASE_URL="$db_url" -e CSRD_ADMIN_TOKEN="$token" -e CSRD_LISTEN="127.0.0.1:$port" \
  localhost/csrd:latest >/dev/null 2>"$work/run.log"
wait_ready "http://127.0.0.1:$port" 60 || { podman logs "$single" | tail -n 20; fail "image: not ready"; }
[ "$(podman exec "$single" id -u)" = 10001 ] || fail "image: not running as uid 10001"
podman healthcheck run "$single" >/dev/null || fail "image: HEALTHCHECK did not pass (port $port)"
create_and_read "http://127.0.0.1:$port" image
t0=$SECONDS
podman kill --signal TERM "$single" >/dev/null
code=$(timeout 30 podman wait "$single") || fail "image: still running 30 s after SIGTERM"
[ "$code" = 0 ] || fail "image: exit status $code after SIGTERM"
step "image: ready, healthy, uid 10001, create and read, SIGTERM -> 0 in $((SECONDS - t0)) s"
podman rm -f "$single" >/dev/null
csrd_pg_stop "$work/pg"

# 4. compose: everything from nothing
cport=$(csrd_free_port)
export CSRD_ADMIN_TOKEN=$token CSRD_PORT=$cport
export CSRD_POSTGRES_IMAGE=localhost/csrd-test-postgres:15
export CSRD_HAPROXY_IMAGE=localhost/csrd-test-haproxy:latest
step "compose up (project $project, HAProxy on port $cport)"
"${compose[@]}" up -d >"$work/compose.log" 2>&1 || { tail -n 30 "$work/compose.log"; fail "compose up"; }
base="http://127.0.0.1:$cport"
if ! wait_ready "$base" 180; then
  for s in db db-replica csrd-a csrd-b haproxy; do
    echo "--- $s"; podman logs "${project}_${s}_1" 2>&1 | tail -n 8
  done
  fail "compose: not ready through HAProxy within 180 s"
fi
create_and_read "$base" compose
# read-your-writes through the replica: the write's token, sent back, finds it in a list
ryw=$(awk -F': ' 'tolower($1) == "csrd-consistency-token" {print $2}' "$work/headers" | tr -d '\r')
[ -n "$ryw" ] || fail "compose: no CSRD-Consistency-Token (is the replica configured?)"
curl -fsS "${auth[@]}" -H "CSRD-Consistency-Token: $ryw" \
  "$base/v1/customers?external_ref=ct-compose-$$" | grep -q "ct-compose-$$" ||
  fail "compose: a list with the write's token missed the record"
for s in csrd-a csrd-b; do
  podman healthcheck run "${project}_${s}_1" >/dev/null || fail "compose: $s not healthy"
done
# one instance stopped (SIGTERM, CSRD_DRAIN_S=3) under traffic: no request fails
step "compose: stopping csrd-a under traffic"
( failed=0
  for _ in $(seq 1 400); do
    curl -fsS -o /dev/null "${auth[@]}" "$base/v1/customers?limit=1" || failed=$((failed + 1))
    sleep 0.02
  done
  echo "$failed" >"$work/failed" ) &
load=$!
sleep 1
podman stop -t 20 "${project}_csrd-a_1" >/dev/null
wait "$load"
[ "$(cat "$work/failed")" = 0 ] || fail "compose: $(cat "$work/failed") requests failed while csrd-a drained"
podman start "${project}_csrd-a_1" >/dev/null
create_and_read "$base" after-restart
step "compose: HAProxy, two csrd, primary and replica up; drain lost nothing"
env -u CSRD_ADMIN_TOKEN "${compose[@]}" down -v >"$work/compose.log" 2>&1 ||
  { tail -n 20 "$work/compose.log"; fail "compose down without CSRD_ADMIN_TOKEN"; }
step "all container checks passed"
