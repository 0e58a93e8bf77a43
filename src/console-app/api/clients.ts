import type { Client, Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { AdminService } from "../../gen/shoal/v1/admin_pb.js";
import { AlertService } from "../../gen/shoal/v1/alert_pb.js";
import { ConfigService } from "../../gen/shoal/v1/config_pb.js";
import { QueryService } from "../../gen/shoal/v1/query_pb.js";

/** The four services of the console's server, on one transport. */
export interface Clients {
  readonly query: Client<typeof QueryService>;
  readonly alerts: Client<typeof AlertService>;
  readonly admin: Client<typeof AdminService>;
  readonly config: Client<typeof ConfigService>;
}

export function createClients(transport: Transport): Clients {
  return {
    query: createClient(QueryService, transport),
    alerts: createClient(AlertService, transport),
    admin: createClient(AdminService, transport),
    config: createClient(ConfigService, transport),
  };
}
