# shellcheck shell=bash
# `stack.sh install`: installs the missing services from Debian packages.
# Sourced by stack.sh after common.sh.

APT_SERVICES=(nats mosquitto clickhouse redis)

# Packages may start a system-wide instance on the default port when installed
# (sysvinit/systemd postinst). Shoal never uses those (own ports, own data dirs), and a
# silent fallback to e.g. localhost:4222 would hide a misconfiguration, so we stop the
# instances of packages *this run* installed. Pre-existing services are left alone;
# nothing is disabled. SHOAL_KEEP_SYSTEM_SERVICES=1 keeps them running.
stop_autostarted() {
  local pkg
  [ "${SHOAL_KEEP_SYSTEM_SERVICES:-0}" = 1 ] && return 0
  for pkg; do
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
      systemctl is-active --quiet "$pkg" 2>/dev/null || continue
      systemctl stop "$pkg" 2>/dev/null || continue
    elif [ -x "/etc/init.d/$pkg" ]; then
      "/etc/init.d/$pkg" status >/dev/null 2>&1 || continue
      "/etc/init.d/$pkg" stop >/dev/null 2>&1 || continue
    else
      continue
    fi
    say "  stopped the system $pkg service the package auto-started (Shoal uses its own ports)"
  done
}

install_consul() {
  local bin
  if bin=$(find_bin consul); then
    say "  consul: ok ($bin)"
    return 0
  fi
  say "  consul: not in Debian 12, fetching Debian 11's package into $PKGS_DIR/consul (no root, no system apt change)"
  bash "$SHOAL_ROOT/deploy/local/lib/consul-fetch.sh" "$PKGS_DIR/consul"
}

cmd_install() {
  local svc bin missing=()
  say "stack install: checking nats-server, mosquitto, clickhouse-server, redis-server, consul, mosquitto-clients, openssl, python3-grpcio, chromium"
  for svc in "${APT_SERVICES[@]}"; do
    if bin=$(find_bin "$svc"); then
      say "  $(svc_pkg "$svc"): ok ($bin)"
    else
      missing+=("$(svc_pkg "$svc")")
    fi
  done
  # A package present but half-removed still lacks what we run from it.
  if find_bin clickhouse >/dev/null && [ ! -r /etc/clickhouse-server/users.xml ] && [ -z "${SHOAL_CLICKHOUSE_USERS_XML:-}" ]; then
    missing+=(clickhouse-server)
  fi

  # Clients nobody here wrote, used by the tests as devices (mosquitto_pub) and by operators.
  if command -v mosquitto_pub >/dev/null || [ -x /usr/bin/mosquitto_pub ]; then
    say "  mosquitto-clients: ok ($(command -v mosquitto_pub || echo /usr/bin/mosquitto_pub))"
  else
    missing+=(mosquitto-clients)
  fi

  # Certificates for the TLS tests (test/support/certs.ts) and for local TLS setups (docs/tls.md).
  if command -v openssl >/dev/null; then
    say "  openssl: ok ($(command -v openssl))"
  else
    missing+=(openssl)
  fi

  # A gRPC client nobody here wrote, used by the query service tests (test/clients/query_client.py).
  if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import grpc, google.protobuf" 2>/dev/null; then
    say "  python3-grpcio, python3-protobuf: ok"
  else
    missing+=(python3-grpcio python3-protobuf)
  fi

  # A browser nobody here wrote, driven by the console's tests (playwright-core, no download).
  if [ -x "${SHOAL_CHROMIUM:-/usr/bin/chromium}" ]; then
    say "  chromium: ok (${SHOAL_CHROMIUM:-/usr/bin/chromium})"
  else
    missing+=(chromium)
  fi

  install_consul

  if [ ${#missing[@]} -eq 0 ]; then
    say "stack install: everything is installed"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    die "missing ${missing[*]}: run \`sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}\` then \`npm run stack -- install\` again"
  fi
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get here: install them with this system's package manager"
  say "  installing ${missing[*]} (apt-get update + install --no-install-recommends)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" \
    || die "apt-get install ${missing[*]} failed (see above)"
  stop_autostarted "${missing[@]}"
  for svc in "${APT_SERVICES[@]}"; do
    find_bin "$svc" >/dev/null || die "$(svc_pkg "$svc") still not found after apt-get install"
  done
  [ -x /usr/bin/mosquitto_pub ] || command -v mosquitto_pub >/dev/null || die "mosquitto_pub still not found after apt-get install mosquitto-clients"
  [ -x "${SHOAL_CHROMIUM:-/usr/bin/chromium}" ] || die "chromium still not found after apt-get install chromium"
  say "stack install: installed ${missing[*]}"
}
