# Consul 1.8 agent config for Shoal's local stack and the integration-test harness.
# The @@-delimited placeholders are filled in by deploy/local/stack.sh and test/harness/consul.ts.
# A single persistent server (not -dev) so that data survives a restart.
node_name = "@@NODE_NAME@@"
datacenter = "dc1"
data_dir = "@@DATA_DIR@@/data"
server = true
bootstrap = true
bind_addr = "127.0.0.1"
advertise_addr = "127.0.0.1"
client_addr = "127.0.0.1"
ui = false
disable_update_check = true
disable_host_node_id = true
log_level = "warn"
leave_on_terminate = false
ports {
  http = @@HTTP_PORT@@
  server = @@SERVER_PORT@@
  serf_lan = @@SERF_LAN_PORT@@
  serf_wan = @@SERF_WAN_PORT@@
  dns = -1
  grpc = -1
  https = -1
}
# Leader election in 1-2 s instead of 5-10 s (the `consul { raft {...} }` stanza is
# overridden by Consul's built-in defaults outside -dev mode, so this is the only knob).
performance {
  raft_multiplier = 1
}
