# shellcheck shell=bash
# Shared helpers for deploy/local/*.sh: paths, binaries, templates and health probes.
# Bash >= 4.1 (dynamic fds), coreutils; no curl needed (probes use /dev/tcp).

SHOAL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
STACK_DIR=${SHOAL_STACK_DIR:-$SHOAL_ROOT/.shoal/stack}
PKGS_DIR=${SHOAL_PKGS_DIR:-$SHOAL_ROOT/.shoal/pkgs}
TEMPLATES_DIR=$SHOAL_ROOT/deploy/local/templates
CONSUL_PKG_BIN=$PKGS_DIR/consul/usr/bin/consul

say() { printf '%s\n' "$*"; }
warn() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

# Debian package, binary and override variable of each service (nats-N: a node of the NATS cluster).
svc_pkg() { case $1 in nats | nats-[0-9]) echo nats-server ;; mosquitto) echo mosquitto ;; clickhouse) echo clickhouse-server ;; redis) echo redis-server ;; consul) echo consul ;; esac; }
svc_bin_name() { svc_pkg "$1"; }
svc_bin_env() { case $1 in nats | nats-[0-9]) echo SHOAL_NATS_BIN ;; mosquitto) echo SHOAL_MOSQUITTO_BIN ;; clickhouse) echo SHOAL_CLICKHOUSE_BIN ;; redis) echo SHOAL_REDIS_BIN ;; consul) echo SHOAL_CONSUL_BIN ;; esac; }

# find_bin SERVICE: prints the binary's path. Order: $SHOAL_<X>_BIN, PATH, /usr/sbin,
# /usr/bin, /usr/local/bin, then (consul) the project-local copy from `stack.sh install`.
find_bin() {
  local svc=$1 name env p
  name=$(svc_bin_name "$svc"); env=$(svc_bin_env "$svc")
  if [ -n "${!env:-}" ]; then
    [ -x "${!env}" ] && { printf '%s\n' "${!env}"; return 0; }
    warn "$env=${!env} is not an executable file"; return 1
  fi
  if p=$(command -v "$name" 2>/dev/null) && [ -n "$p" ]; then printf '%s\n' "$p"; return 0; fi
  for p in "/usr/sbin/$name" "/usr/bin/$name" "/usr/local/bin/$name"; do
    [ -x "$p" ] && { printf '%s\n' "$p"; return 0; }
  done
  if [ "$svc" = consul ] && [ -x "$CONSUL_PKG_BIN" ]; then printf '%s\n' "$CONSUL_PKG_BIN"; return 0; fi
  return 1
}

# render TEMPLATE DEST KEY=VALUE... : writes TEMPLATE with every @@KEY@@ replaced
# (pure bash: forks are slow on a loaded 2-core box).
render() {
  local src=$1 dest=$2 kv out
  shift 2
  out=$(<"$TEMPLATES_DIR/$src")
  for kv; do out=${out//"@@${kv%%=*}@@"/"${kv#*=}"}; done
  if [[ $out =~ @@[A-Z_]+@@ ]]; then die "unfilled placeholder ${BASH_REMATCH[0]} in $dest"; fi
  printf '%s\n' "$out" >"$dest"
}

# tcp_open PORT: succeeds when something accepts connections on 127.0.0.1:PORT.
tcp_open() {
  local fd
  { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  exec {fd}>&-
}

# http_get PORT PATH: prints the body of a 200 response (HTTP/1.0, 3 s read timeout).
http_get() {
  local port=$1 path=$2 fd status line body=""
  { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&"$fd"
  if ! IFS= read -r -t 3 status <&"$fd"; then exec {fd}>&-; return 1; fi
  while IFS= read -r -t 3 line <&"$fd"; do line=${line%$'\r'}; [ -z "$line" ] && break; done
  while IFS= read -r -t 3 line <&"$fd" || [ -n "$line" ]; do body+=$line$'\n'; line=""; done
  exec {fd}>&-
  case $status in *" 200 "*) printf '%s' "$body" ;; *) return 1 ;; esac
}

# redis_ping PORT [PASSWORD]: RESP inline PING (after AUTH PASSWORD) must answer +PONG.
redis_ping() {
  local fd line=""
  { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  if [ -n "${2:-}" ]; then
    printf 'AUTH %s\r\n' "$2" >&"$fd"
    IFS= read -r -t 3 line <&"$fd" || true
    [[ $line == +OK* ]] || { exec {fd}>&-; return 1; }
  fi
  printf 'PING\r\n' >&"$fd"
  IFS= read -r -t 3 line <&"$fd" || true
  printf 'QUIT\r\n' >&"$fd" 2>/dev/null || true
  exec {fd}>&-
  [[ $line == +PONG* ]]
}

# mqtt_connack PORT [any]: MQTT 3.1.1 CONNECT (clean session, client id "shoal-hc", anonymous) must
# get CONNACK with return code 0 (bytes 20 02 00 00); with `any`, a CONNACK with any return code (a
# broker refusing anonymous clients answers 5); a plain TCP accept is not enough.
mqtt_connack() {
  local fd reply
  { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf '\x10\x14\x00\x04MQTT\x04\x02\x00\x3c\x00\x08shoal-hc' >&"$fd"
  reply=$(timeout 3 od -An -tx1 -N4 <&"$fd" 2>/dev/null | tr -d ' \n') || true
  printf '\xe0\x00' >&"$fd" 2>/dev/null || true
  exec {fd}>&-
  if [ "${2:-}" = any ]; then [[ $reply == 200200?? ]]; else [ "$reply" = 20020000 ]; fi
}

# pid_alive PID DIR: the process exists and runs in DIR (we start every service with DIR
# as its cwd) or names DIR in its command line; guards against a recycled pid after a
# reboot or crash. Redis rewrites its command line, hence the cwd check.
pid_alive() {
  local pid=$1 dir=$2
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -e "/proc/$pid" ] || return 0
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$(cd "$dir" 2>/dev/null && pwd -P)" ] && return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir"
}

log_tail() { # FILE [N]
  [ -f "$1" ] || return 0
  printf '  --- last lines of %s ---\n' "$1"
  tail -n "${2:-20}" "$1" | sed 's/^/  | /'
}
