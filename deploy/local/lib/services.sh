# shellcheck shell=bash
# Service definitions for `stack.sh up|down|status`: ports, URLs, configs, health.
# Sourced by stack.sh after common.sh. Data of service S lives in $STACK_DIR/S/.

# SHOAL_NATS_NODES=3: NATS runs as a three-node JetStream cluster, services nats-1..nats-3
# (clients 14222-14224, monitors 18222-18224, routes 16222-16224, data $STACK_DIR/nats-N/)
# instead of the single node `nats`. `nats` on the command line means whichever set is selected.
NATS_NODES=${SHOAL_NATS_NODES:-1}
case $NATS_NODES in
  1) NATS_SERVICES=(nats) ;;
  3) NATS_SERVICES=(nats-1 nats-2 nats-3) ;;
  *) die "SHOAL_NATS_NODES must be 1 or 3 (JetStream needs 3 nodes for replicated streams), not '$NATS_NODES'" ;;
esac
SERVICES=("${NATS_SERVICES[@]}" mosquitto clickhouse redis consul)
# Every NATS service name either mode uses: down/status also cover the set not selected if it runs.
ALL_NATS_SERVICES=(nats nats-1 nats-2 nats-3)
NATS_CLUSTER_NAME=shoal-local

# Ports: the defaults of config/default.yaml; SHOAL_<SERVICE>_PORT moves one (tests run a second stack).
NATS_PORT=${SHOAL_NATS_PORT:-14222} NATS_MONITOR_PORT=${SHOAL_NATS_MONITOR_PORT:-18222} NATS_CLUSTER_PORT=16222
MOSQUITTO_PORT=${SHOAL_MOSQUITTO_PORT:-11883}
# Mosquitto refuses anonymous clients: accounts and topic ACLs live in its dynamic security plugin,
# which Shoal drives (docs/adr/0019-device-identity.md). SHOAL_MOSQUITTO_ANONYMOUS=1: the old open broker.
MOSQUITTO_SECURE=1
[ "${SHOAL_MOSQUITTO_ANONYMOUS:-0}" = 1 ] && MOSQUITTO_SECURE=0
MOSQUITTO_ADMIN=shoal-admin MOSQUITTO_BRIDGE=shoal-bridge MOSQUITTO_SIMULATOR=shoal-simulator
CLICKHOUSE_HTTP_PORT=${SHOAL_CLICKHOUSE_PORT:-18123} CLICKHOUSE_TCP_PORT=${SHOAL_CLICKHOUSE_TCP_PORT:-19000}
REDIS_PORT=${SHOAL_REDIS_PORT:-16379}
CONSUL_HTTP_PORT=${SHOAL_CONSUL_PORT:-18500} CONSUL_SERVER_PORT=${SHOAL_CONSUL_SERVER_PORT:-18300}
CONSUL_SERF_LAN_PORT=${SHOAL_CONSUL_SERF_LAN_PORT:-18301} CONSUL_SERF_WAN_PORT=${SHOAL_CONSUL_SERF_WAN_PORT:-18302}
# No open door on loopback either: NATS, ClickHouse, Redis and Consul require the credentials
# generated into $STACK_DIR/credentials.json on the first start (0600; docs/adr/0025-local-stack-credentials.md).
# SHOAL_STACK_OPEN=1: the old open services (no credentials).
STACK_SECURE=1
[ "${SHOAL_STACK_OPEN:-0}" = 1 ] && STACK_SECURE=0

svc_dir() { printf '%s/%s\n' "$STACK_DIR" "$1"; }
svc_log() { printf '%s/%s/%s.log\n' "$STACK_DIR" "$1" "$1"; }
svc_pidfile() { printf '%s/%s/%s.pid\n' "$STACK_DIR" "$1" "$1"; }

# nats_node S: 0 for the single node `nats`, N for cluster node nats-N.
nats_node() { case $1 in nats-[0-9]) echo "${1#nats-}" ;; *) echo 0 ;; esac; }
# nats_port BASE S: BASE for nats and nats-1, BASE+1 for nats-2, ...
nats_port() { local n; n=$(nats_node "$2"); echo $(($1 + (n > 0 ? n - 1 : 0))); }

# nats_routes: the route URL of every cluster node, as the template's routes list.
nats_routes() {
  local n out=""
  for n in 1 2 3; do out+="${out:+, }\"nats-route://127.0.0.1:$(nats_port $NATS_CLUSTER_PORT "nats-$n")\""; done
  printf '%s\n' "$out"
}

svc_port() {
  case $1 in
    nats | nats-[0-9]) nats_port $NATS_PORT "$1" ;; mosquitto) echo $MOSQUITTO_PORT ;; clickhouse) echo $CLICKHOUSE_HTTP_PORT ;;
    redis) echo $REDIS_PORT ;; consul) echo $CONSUL_HTTP_PORT ;;
  esac
}

svc_url() {
  case $1 in
    nats | nats-[0-9]) echo "nats://127.0.0.1:$(nats_port $NATS_PORT "$1")" ;;
    mosquitto) echo "mqtt://127.0.0.1:$MOSQUITTO_PORT" ;;
    clickhouse) echo "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT" ;;
    redis) echo "redis://127.0.0.1:$REDIS_PORT" ;;
    consul) echo "http://127.0.0.1:$CONSUL_HTTP_PORT" ;;
  esac
}

svc_extra() {
  case $1 in
    nats) echo "monitor http://127.0.0.1:$NATS_MONITOR_PORT$(stack_auth_note "user shoal")" ;;
    nats-[0-9]) echo "monitor http://127.0.0.1:$(nats_port $NATS_MONITOR_PORT "$1"), cluster $NATS_CLUSTER_NAME route $(nats_port $NATS_CLUSTER_PORT "$1") (SHOAL_ENV=three-nodes)$(stack_auth_note "user shoal")" ;;
    clickhouse) echo "native tcp 127.0.0.1:$CLICKHOUSE_TCP_PORT$(stack_auth_note "user default")" ;;
    mosquitto)
      local extra conf tls
      if [ "$MOSQUITTO_SECURE" = 1 ]; then extra="no anonymous clients; accounts: $(svc_dir mosquitto)/credentials.json (0600)"; else extra="anonymous (SHOAL_MOSQUITTO_ANONYMOUS=1)"; fi
      # The TLS listener as the running config has it (the second `listener` line), not as the env says now.
      conf="$(svc_dir mosquitto)/mosquitto.conf"
      tls=$(awk -v plain="$MOSQUITTO_PORT" '$1 == "listener" && $2 != plain { print $2; exit }' "$conf" 2>/dev/null)
      if [ -n "$tls" ]; then
        extra="$extra; TLS mqtts://127.0.0.1:$tls (CA $(svc_dir mosquitto)/tls/ca.crt"
        if grep -q '^require_certificate true' "$conf"; then extra="$extra, client certificate required)"; else extra="$extra)"; fi
      fi
      echo "$extra"
      ;;
    consul) echo "server $CONSUL_SERVER_PORT, serf $CONSUL_SERF_LAN_PORT/$CONSUL_SERF_WAN_PORT, no dns/grpc$(stack_auth_note "ACL token")" ;;
    redis) if [ "$STACK_SECURE" = 1 ]; then echo "password in $STACK_CREDS"; else echo "no credentials (SHOAL_STACK_OPEN=1)"; fi ;;
  esac
}

# stack_auth_note WHAT: "; WHAT + password/token in credentials.json" on a secure stack (the file, never a value).
stack_auth_note() {
  [ "$STACK_SECURE" = 1 ] || { echo "; no credentials (SHOAL_STACK_OPEN=1)"; return 0; }
  printf '; %s, secret in %s\n' "$1" "$STACK_CREDS"
}

# Seconds to wait for health after a start. ClickHouse 18.16 takes ~0.4 s here, Consul
# 1-2 s (raft election), the rest ~0.1 s; the margin is for a loaded 2-core machine.
svc_timeout() { case $1 in clickhouse | consul) echo 60 ;; *) echo 20 ;; esac; }

# svc_prepare S BIN: writes the config into the data dir and sets CMD to the argv to run.
svc_prepare() {
  local svc=$1 bin=$2 dir
  dir=$(svc_dir "$svc")
  mkdir -p "$dir"
  case $svc in
    nats)
      render nats.conf "$dir/nats.conf" SERVER_NAME=shoal-local PORT=$NATS_PORT MONITOR_PORT=$NATS_MONITOR_PORT \
        JETSTREAM=true DATA_DIR="$dir"
      nats_auth >>"$dir/nats.conf" && chmod 600 "$dir/nats.conf"
      CMD=("$bin" -c "$dir/nats.conf")
      ;;
    nats-[0-9])
      # nats-cluster.conf includes nats.conf (the node's own settings) and adds the cluster block.
      render nats.conf "$dir/nats.conf" SERVER_NAME="$NATS_CLUSTER_NAME-$svc" PORT="$(svc_port "$svc")" \
        MONITOR_PORT="$(nats_port $NATS_MONITOR_PORT "$svc")" JETSTREAM=true DATA_DIR="$dir"
      nats_auth >>"$dir/nats.conf" && chmod 600 "$dir/nats.conf"
      render nats-cluster.conf "$dir/nats-cluster.conf" CLUSTER_NAME=$NATS_CLUSTER_NAME \
        CLUSTER_PORT="$(nats_port $NATS_CLUSTER_PORT "$svc")" ROUTES="$(nats_routes)"
      CMD=("$bin" -c "$dir/nats-cluster.conf")
      ;;
    mosquitto)
      local auth="allow_anonymous true" plugin
      if [ "$MOSQUITTO_SECURE" = 1 ]; then
        plugin=$(find_dynsec_plugin) || die "mosquitto: its dynamic security plugin (mosquitto_dynamic_security.so) is not installed: reinstall the Debian package mosquitto, or set SHOAL_MOSQUITTO_DYNSEC, or SHOAL_MOSQUITTO_ANONYMOUS=1"
        mosquitto_secure_init "$dir"
        auth=$'allow_anonymous false\nplugin '"$plugin"$'\nplugin_opt_config_file '"$dir/dynamic-security.json"
      fi
      render mosquitto.conf "$dir/mosquitto.conf" PORT=$MOSQUITTO_PORT DATA_DIR="$dir" AUTH="$auth"
      # A second listener with TLS (docs/tls.md "MQTT"), same accounts (per_listener_settings false);
      # certificates for 127.0.0.1/localhost from src/adapters/pki/local-pki.ts in $dir/tls (keys 0600).
      if [ "${SHOAL_MOSQUITTO_TLS_PORT:-18883}" != 0 ]; then
        (cd "$SHOAL_ROOT" && node --import tsx src/adapters/pki/local-pki.main.ts "$dir/tls") || die "mosquitto: could not make the local TLS certificates (openssl); SHOAL_MOSQUITTO_TLS_PORT=0 turns the TLS listener off"
        printf '\nlistener %s 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate %s\n' "${SHOAL_MOSQUITTO_TLS_PORT:-18883}" \
          "$dir/tls/ca.crt" "$dir/tls/server.crt" "$dir/tls/server.key" "${SHOAL_MOSQUITTO_REQUIRE_CERT:-false}" >>"$dir/mosquitto.conf"
      fi
      CMD=("$bin" -c "$dir/mosquitto.conf")
      ;;
    clickhouse)
      local users=${SHOAL_CLICKHOUSE_USERS_XML:-/etc/clickhouse-server/users.xml}
      [ -r "$users" ] || die "clickhouse: $users missing: run \`npm run stack -- install\` (or reinstall clickhouse-server)"
      mkdir -p "$dir/log"
      if [ "$STACK_SECURE" = 1 ]; then
        # The same users file with a password on every user (ClickHouse 18.16 reads password_sha256_hex).
        local hex
        hex=$(printf '%s' "$(stack_secret clickhouse password)" | sha256sum | cut -d' ' -f1)
        (umask 077 && sed "s|<password></password>|<password_sha256_hex>$hex</password_sha256_hex>|" "$users" >"$dir/users.xml")
        grep -q '<password></password>' "$dir/users.xml" && die "clickhouse: $dir/users.xml still has a user without a password"
        users="$dir/users.xml"
      fi
      render clickhouse-config.xml "$dir/config.xml" HTTP_PORT=$CLICKHOUSE_HTTP_PORT TCP_PORT=$CLICKHOUSE_TCP_PORT \
        DATA_DIR="$dir" USERS_CONFIG="$users"
      CMD=("$bin" "--config-file=$dir/config.xml")
      ;;
    redis)
      render redis.conf "$dir/redis.conf" PORT=$REDIS_PORT DATA_DIR="$dir"
      if [ "$STACK_SECURE" = 1 ]; then printf '\nrequirepass %s\n' "$(stack_secret redis password)" >>"$dir/redis.conf"; chmod 600 "$dir/redis.conf"; fi
      CMD=("$bin" "$dir/redis.conf")
      ;;
    consul)
      render consul.hcl "$dir/consul.hcl" NODE_NAME=shoal-local DATA_DIR="$dir" HTTP_PORT=$CONSUL_HTTP_PORT \
        SERVER_PORT=$CONSUL_SERVER_PORT SERF_LAN_PORT=$CONSUL_SERF_LAN_PORT SERF_WAN_PORT=$CONSUL_SERF_WAN_PORT
      if [ "$STACK_SECURE" = 1 ]; then
        # ACLs on, deny by default; the generated token manages everything (and is the agent's own).
        local token
        token=$(stack_secret consul token)
        printf '\nacl {\n  enabled = true\n  default_policy = "deny"\n  down_policy = "extend-cache"\n  tokens {\n    master = "%s"\n    agent = "%s"\n  }\n}\n' "$token" "$token" >>"$dir/consul.hcl"
        chmod 600 "$dir/consul.hcl"
      fi
      CMD=("$bin" agent "-config-file=$dir/consul.hcl")
      ;;
  esac
}

svc_healthy() {
  local body
  case $1 in
    nats)
      # nats-server 2.9 answers ok to /healthz?js-enabled-only=true even with JetStream
      # off, so also require /jsz to report an enabled JetStream.
      http_get $NATS_MONITOR_PORT '/healthz?js-enabled-only=true' >/dev/null || return 1
      body=$(http_get $NATS_MONITOR_PORT /jsz) || return 1
      [[ $body == *'"config"'* && $body != *'"disabled": true'* ]]
      ;;
    nats-[0-9])
      # A cluster node: JetStream on, and it knows the meta leader (needs 2 of the 3 nodes up).
      local mon
      mon=$(nats_port $NATS_MONITOR_PORT "$1")
      http_get "$mon" '/healthz?js-enabled-only=true' >/dev/null || return 1
      body=$(http_get "$mon" /jsz) || return 1
      [[ $body == *'"config"'* && $body =~ \"leader\":\ *\"[^\"]+\" ]]
      ;;
    # Secure: any CONNACK (an anonymous CONNECT is refused with code 5) is a live broker.
    mosquitto) if [ "$MOSQUITTO_SECURE" = 1 ]; then mqtt_connack $MOSQUITTO_PORT any; else mqtt_connack $MOSQUITTO_PORT; fi ;;
    clickhouse) body=$(http_get $CLICKHOUSE_HTTP_PORT /ping) && [[ $body == Ok.* ]] ;;
    redis) if [ "$STACK_SECURE" = 1 ]; then redis_ping $REDIS_PORT "$(stack_secret redis password)"; else redis_ping $REDIS_PORT; fi ;;
    consul) body=$(http_get $CONSUL_HTTP_PORT /v1/status/leader) && [[ $body == *'"'?*'"'* ]] ;;
  esac
}

# Ports a service listens on, to detect a foreign process holding one.
svc_all_ports() {
  case $1 in
    nats) echo $NATS_PORT $NATS_MONITOR_PORT ;;
    nats-[0-9]) echo "$(svc_port "$1")" "$(nats_port $NATS_MONITOR_PORT "$1")" "$(nats_port $NATS_CLUSTER_PORT "$1")" ;;
    clickhouse) echo $CLICKHOUSE_HTTP_PORT $CLICKHOUSE_TCP_PORT ;;
    consul) echo $CONSUL_HTTP_PORT $CONSUL_SERVER_PORT $CONSUL_SERF_LAN_PORT ;;
    *) svc_port "$1" ;;
  esac
}

# svc_config_stale S: succeeds (printing why) when the running S was started with a config that
# `up` would now write differently in a way that matters: Mosquitto's anonymous vs secure mode.
svc_config_stale() {
  local conf pattern
  case $1 in
    mosquitto)
      conf="$(svc_dir mosquitto)/mosquitto.conf"
      [ -f "$conf" ] || return 1
      if [ "$MOSQUITTO_SECURE" = 1 ] && ! grep -q '^allow_anonymous false' "$conf"; then echo "it allows anonymous clients; now secure"; return 0; fi
      if [ "$MOSQUITTO_SECURE" = 0 ] && ! grep -q '^allow_anonymous true' "$conf"; then echo "SHOAL_MOSQUITTO_ANONYMOUS=1"; return 0; fi
      return 1
      ;;
    nats | nats-[0-9] | redis | consul | clickhouse)
      # Started open (before credentials existed) while the stack is now secure, or the other way round.
      case $1 in
        nats | nats-[0-9]) conf="$(svc_dir "$1")/nats.conf" pattern='^authorization {' ;;
        redis) conf="$(svc_dir redis)/redis.conf" pattern='^requirepass ' ;;
        consul) conf="$(svc_dir consul)/consul.hcl" pattern='^acl {' ;;
        clickhouse) conf="$(svc_dir clickhouse)/config.xml" pattern="$(svc_dir clickhouse)/users.xml" ;;
      esac
      [ -f "$conf" ] || return 1
      if [ "$STACK_SECURE" = 1 ] && ! grep -q -- "$pattern" "$conf"; then echo "it runs without credentials; now secure"; return 0; fi
      if [ "$STACK_SECURE" = 0 ] && grep -q -- "$pattern" "$conf"; then echo "SHOAL_STACK_OPEN=1"; return 0; fi
      return 1
      ;;
    *) return 1 ;;
  esac
}

# find_dynsec_plugin: prints the path of Mosquitto's dynamic security plugin ($SHOAL_MOSQUITTO_DYNSEC,
# else where Debian's mosquitto package puts it).
find_dynsec_plugin() {
  local p
  if [ -n "${SHOAL_MOSQUITTO_DYNSEC:-}" ]; then
    [ -r "$SHOAL_MOSQUITTO_DYNSEC" ] && { printf '%s\n' "$SHOAL_MOSQUITTO_DYNSEC"; return 0; }
    warn "SHOAL_MOSQUITTO_DYNSEC=$SHOAL_MOSQUITTO_DYNSEC is not readable"; return 1
  fi
  for p in /usr/lib/*-linux-gnu/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so /usr/local/lib/mosquitto_dynamic_security.so; do
    [ -r "$p" ] && { printf '%s\n' "$p"; return 0; }
  done
  return 1
}

# gen_password: 24 random bytes as base64url (32 characters), printed (never passed as an argument).
gen_password() { head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

# mosquitto_secure_init DIR: on the first secure start, generates the broker's accounts into
# DIR/credentials.json (0600; the dynamic-security admin, the bridge and the simulator — Shoal creates
# the last two through the admin when it starts) and the plugin's initial DIR/dynamic-security.json
# holding the admin (`mosquitto_ctrl dynsec init`, the password given on its stdin, not its command
# line). Later starts keep both. Prints nothing secret.
mosquitto_secure_init() {
  local dir=$1 creds=$1/credentials.json ds=$1/dynamic-security.json ctrl json user pw
  chmod 700 "$dir"
  if [ ! -s "$creds" ]; then
    [ -s "$ds" ] && die "mosquitto: $ds exists but $creds (its admin password) does not: \`stack.sh down --purge mosquitto\` starts the broker afresh (Shoal's broker sync recreates device accounts from the registry)"
    (
      umask 077
      printf '{\n  "admin": {"username": "%s", "password": "%s"},\n  "bridge": {"username": "%s", "password": "%s"},\n  "simulator": {"username": "%s", "password": "%s"}\n}\n' \
        "$MOSQUITTO_ADMIN" "$(gen_password)" "$MOSQUITTO_BRIDGE" "$(gen_password)" "$MOSQUITTO_SIMULATOR" "$(gen_password)" >"$creds.new"
    )
    mv "$creds.new" "$creds"
    say "mosquitto: generated its accounts (admin, bridge, simulator) into $creds"
  fi
  chmod 600 "$creds"
  [ -s "$ds" ] && return 0
  json=$(<"$creds")
  [[ $json =~ \"admin\":\ \{\"username\":\ \"([^\"]+)\",\ \"password\":\ \"([^\"]+)\" ]] || die "mosquitto: $creds has no admin account in the form stack.sh writes"
  user=${BASH_REMATCH[1]} pw=${BASH_REMATCH[2]}
  ctrl=$(command -v mosquitto_ctrl 2>/dev/null || true)
  [ -n "$ctrl" ] || { [ -x /usr/bin/mosquitto_ctrl ] && ctrl=/usr/bin/mosquitto_ctrl; }
  [ -n "$ctrl" ] || die "mosquitto: mosquitto_ctrl not found (Debian package mosquitto)"
  # It asks for the password twice, on stdin.
  if ! (umask 077 && printf '%s\n%s\n' "$pw" "$pw" | "$ctrl" dynsec init "$ds" "$user" >/dev/null 2>&1); then
    die "mosquitto: \`mosquitto_ctrl dynsec init $ds $user\` failed"
  fi
}

# The credentials of NATS, ClickHouse, Redis and Consul ($STACK_DIR/credentials.json, 0600): secrets
# generated on the first secure `up` and kept; the URLs rewritten on every `up` (ports may move).
# Shoal's CLI reads the file and uses a service's credentials when its configured URL is that
# service's URL here (src/cli/local-stack-credentials.ts). Nothing secret is printed.
STACK_CREDS=$STACK_DIR/credentials.json

# stack_secret SERVICE FIELD: prints the secret FIELD of SERVICE from $STACK_CREDS ("" when absent).
stack_secret() {
  local json
  [ -r "$STACK_CREDS" ] || return 0
  json=$(<"$STACK_CREDS")
  [[ $json =~ \"$1\":\ \{[^}]*\"$2\":\ \"([^\"]+)\" ]] && printf '%s' "${BASH_REMATCH[1]}"
  return 0
}

# stack_credentials_init: writes $STACK_CREDS, generating the secrets it does not hold yet.
stack_credentials_init() {
  local nats_pw ch_pw redis_pw consul_token urls="" s
  mkdir -p "$STACK_DIR"
  chmod 700 "$STACK_DIR"
  nats_pw=$(stack_secret nats password); ch_pw=$(stack_secret clickhouse password)
  redis_pw=$(stack_secret redis password); consul_token=$(stack_secret consul token)
  local fresh=0
  [ -n "$nats_pw" ] || { nats_pw=$(gen_password); fresh=1; }
  [ -n "$ch_pw" ] || { ch_pw=$(gen_password); fresh=1; }
  [ -n "$redis_pw" ] || { redis_pw=$(gen_password); fresh=1; }
  [ -n "$consul_token" ] || { consul_token=$(</proc/sys/kernel/random/uuid); fresh=1; }
  for s in "${NATS_SERVICES[@]}"; do urls+="${urls:+, }\"$(svc_url "$s")\""; done
  (
    umask 077
    printf '{\n  "nats": {"urls": [%s], "user": "shoal", "password": "%s"},\n  "clickhouse": {"url": "%s", "username": "default", "password": "%s"},\n  "redis": {"url": "%s", "password": "%s"},\n  "consul": {"url": "%s", "token": "%s"}\n}\n' \
      "$urls" "$nats_pw" "$(svc_url clickhouse)" "$ch_pw" "$(svc_url redis)" "$redis_pw" "$(svc_url consul)" "$consul_token" >"$STACK_CREDS.new"
  )
  mv "$STACK_CREDS.new" "$STACK_CREDS"
  chmod 600 "$STACK_CREDS"
  [ $fresh -eq 0 ] || say "generated the credentials of NATS, ClickHouse, Redis and Consul into $STACK_CREDS"
}

# nats_auth: the authorization block of a secure stack's nats.conf (nothing when open).
nats_auth() {
  [ "$STACK_SECURE" = 1 ] || return 0
  printf '\n# Generated credentials ($STACK_DIR/credentials.json); SHOAL_STACK_OPEN=1 turns them off.\nauthorization {\n  user: "shoal"\n  password: "%s"\n}\n' "$(stack_secret nats password)"
}
