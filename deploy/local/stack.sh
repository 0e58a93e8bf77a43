#!/usr/bin/env bash
# Shoal's local service stack: NATS (JetStream), Mosquitto, ClickHouse, Redis, Consul as
# plain processes on dedicated loopback ports, data under $SHOAL_STACK_DIR (.shoal/stack).
#
#   stack.sh install            install what is missing (Debian packages; consul from bullseye)
#   stack.sh up [SERVICE...]    start (or reuse) and wait until healthy
#   stack.sh down [--purge] [SERVICE...]   stop what up started (--purge: delete its data)
#   stack.sh status [SERVICE...]   one line per service; exit 1 unless all are healthy
#   SHOAL_NATS_NODES=3 stack.sh ...   NATS as a three-node JetStream cluster (SHOAL_ENV=three-nodes)
#   Mosquitto refuses anonymous clients: its accounts are in <stack dir>/mosquitto/credentials.json
#   (generated on the first start, mode 0600); SHOAL_MOSQUITTO_ANONYMOUS=1 runs it open.
#   NATS, ClickHouse, Redis and Consul require the credentials in <stack dir>/credentials.json
#   (generated on the first start, mode 0600; shoal uses them); SHOAL_STACK_OPEN=1 runs them open.
#
# Also `npm run stack -- <command>`. See docs/adr/0002-local-services.md.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=lib/services.sh
. "$here/lib/services.sh"
# shellcheck source=lib/install.sh
. "$here/lib/install.sh"

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

check_services() { # dies on an unknown service name (call outside $(...))
  local s
  for s; do
    case " nats ${ALL_NATS_SERVICES[*]} ${SERVICES[*]} " in *" $s "*) ;; *) die "unknown service '$s' (one of: nats ${SERVICES[*]})" ;; esac
  done
}

pick_services() { # prints the chosen services (all when none given; `nats`: every node); names already checked
  local s
  if [ $# -eq 0 ]; then printf '%s\n' "${SERVICES[@]}"; return; fi
  for s; do
    if [ "$s" = nats ]; then printf '%s\n' "${NATS_SERVICES[@]}"; else printf '%s\n' "$s"; fi
  done
}

# pick_services, plus for `down`/`status` without names the NATS services of the other
# SHOAL_NATS_NODES setting that are still running (so switching modes never strands a server).
pick_known() {
  local s
  pick_services "$@"
  [ $# -eq 0 ] || return 0
  for s in "${ALL_NATS_SERVICES[@]}"; do
    case " ${NATS_SERVICES[*]} " in *" $s "*) continue ;; esac
    our_pid "$s" >/dev/null && printf '%s\n' "$s"
  done
  return 0
}

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

read_pid() { local f; f=$(svc_pidfile "$1"); [ -f "$f" ] && cat "$f" || true; }

# our_pid S: prints the pid of S started by this stack dir, if alive; drops a stale pid file.
our_pid() {
  local pid
  pid=$(read_pid "$1")
  [ -n "$pid" ] || return 1
  if pid_alive "$pid" "$(svc_dir "$1")"; then printf '%s\n' "$pid"; return 0; fi
  rm -f "$(svc_pidfile "$1")"
  return 1
}

wait_healthy() { # S PID TIMEOUT_S -> 0 when healthy; 1 when the process died or timed out
  local svc=$1 pid=$2 deadline=$((SECONDS + $3))
  while [ $SECONDS -lt "$deadline" ]; do
    svc_healthy "$svc" && return 0
    [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && return 1
    sleep 0.1
  done
  svc_healthy "$svc"
}

start_one() { # S: starts S in the background; sets STARTED_PID
  local svc=$1 bin dir log
  bin=$(find_bin "$svc") || die "$(svc_bin_name "$svc") not installed: run \`npm run stack -- install\`"
  dir=$(svc_dir "$svc"); log=$(svc_log "$svc")
  svc_prepare "$svc" "$bin"
  printf '\n=== %s starting %s\n' "$(date -u +%FT%TZ)" "${CMD[*]}" >>"$log"
  # setsid: own session, so the service outlives this shell and its terminal/job.
  # In a non-interactive shell the background child is no group leader, so setsid
  # execs in place and $! is the service's own pid.
  (cd "$dir" && exec setsid "${CMD[@]}" </dev/null >>"$log" 2>&1) &
  STARTED_PID=$!
  echo "$STARTED_PID" >"$(svc_pidfile "$svc")"
}

cmd_up() {
  local svc pid port busy why failed=0
  local -A pids=() how=() t0=()
  check_services "$@"
  mkdir -p "$STACK_DIR"
  [ "$STACK_SECURE" = 1 ] && stack_credentials_init
  for svc in $(pick_services "$@"); do
    if pid=$(our_pid "$svc"); then
      if why=$(svc_config_stale "$svc"); then
        say "$svc: restarting pid $pid ($why)"
        stop_one "$svc" >/dev/null
      else
        pids[$svc]=$pid; how[$svc]="reused"
        continue
      fi
    fi
    if svc_healthy "$svc"; then
      pids[$svc]=""; how[$svc]="reused (healthy, not started from $STACK_DIR)"
      continue
    fi
    busy=""
    for port in $(svc_all_ports "$svc"); do tcp_open "$port" && busy+=" $port"; done
    if [ -n "$busy" ]; then
      warn "$svc: port(s)$busy already in use by another process that is not a healthy $svc; free them (e.g. \`ss -ltnp | grep -E ':(${busy# })\\b'\`) and retry"
      failed=1; continue
    fi
    t0[$svc]=$(now_ms)
    start_one "$svc"
    pids[$svc]=$STARTED_PID; how[$svc]="started"
  done
  for svc in $(pick_services "$@"); do
    [ -n "${how[$svc]:-}" ] || continue
    if ! wait_healthy "$svc" "${pids[$svc]}" "$(svc_timeout "$svc")"; then
      warn "$svc did not become healthy within $(svc_timeout "$svc")s (pid ${pids[$svc]:-?}); log: $(svc_log "$svc")"
      log_tail "$(svc_log "$svc")" >&2
      [ "$svc" = clickhouse ] && log_tail "$(svc_dir clickhouse)/log/clickhouse-server.err.log" >&2
      failed=1; continue
    fi
    local took=""
    [ -n "${t0[$svc]:-}" ] && took=" in $(($(now_ms) - t0[$svc])) ms"
    printf '%-10s %-8s %-26s pid %-7s %s\n' "$svc" "${how[$svc]%% *}$took" "$(svc_url "$svc")" "${pids[$svc]:--}" "$(svc_extra "$svc")"
    if [[ ${how[$svc]} == *"not started"* ]]; then say "           ${how[$svc]#* }"; fi
  done
  say "data and logs: $STACK_DIR/<service>/ (log: <service>.log; clickhouse also log/clickhouse-server*.log)"
  [ $failed -eq 0 ] || die "some services are not healthy (see above)"
}

stop_one() { # S: SIGTERM, wait up to 15 s, then SIGKILL
  local svc=$1 pid i
  if ! pid=$(our_pid "$svc"); then
    say "$svc: not running (no live pid in $(svc_pidfile "$svc"))"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  # ClickHouse and Consul need up to a few seconds to flush and leave.
  for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    say "$svc: killed pid $pid (did not exit 15 s after SIGTERM)"
  else
    say "$svc: stopped pid $pid"
  fi
  rm -f "$(svc_pidfile "$svc")"
}

cmd_down() {
  local purge=0 svc a args=()
  for a; do [ "$a" = --purge ] && purge=1 || args+=("$a"); done
  check_services "${args[@]+"${args[@]}"}"
  for svc in $(pick_known "${args[@]+"${args[@]}"}"); do
    stop_one "$svc"
    if [ $purge -eq 1 ] && [ -d "$(svc_dir "$svc")" ]; then
      rm -rf "$(svc_dir "$svc")"; say "$svc: deleted $(svc_dir "$svc")"
    fi
  done
}

cmd_status() {
  local svc pid state all=0
  check_services "$@"
  for svc in $(pick_known "$@"); do
    if pid=$(our_pid "$svc"); then
      if svc_healthy "$svc"; then state=healthy; else state=unhealthy; all=1; fi
    elif svc_healthy "$svc"; then
      state=external; pid="?"
    else
      state=stopped; pid="-"; all=1
      tcp_open "$(svc_port "$svc")" && state=port-busy
    fi
    printf '%-10s %-9s %-26s pid %-7s %s\n' "$svc" "$state" "$(svc_url "$svc")" "$pid" "$(svc_extra "$svc")"
  done
  return $all
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    install) cmd_install "$@" ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
