import type { Client, Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { AdminService } from "../../gen/shoal/v1/admin_pb.js";
import { AlertService } from "../../gen/shoal/v1/alert_pb.js";
import { ConfigService } from "../../gen/shoal/v1/config_pb.js";
import { QueryService } from "../../gen/shoal/v1/query_pb.js";
import { AuditService } from "../../gen/shoal/v1/audit_pb.js";
import { DeviceCommandService } from "../../gen/shoal/v1/command_pb.js";
import { DeviceService } from "../../gen/shoal/v1/device_pb.js";

/** The four services of the console's server, on one transport. */
export interface Clients {
  readonly query: Client<typeof QueryService>;
  readonly alerts: Client<typeof AlertService>;
  readonly admin: Client<typeof AdminService>;
  readonly config: Client<typeof ConfigService>;
  /** The device registry, device commands and the audit log (issue 17). */
  readonly devices: Client<typeof DeviceService>;
  readonly commands: Client<typeof DeviceCommandService>;
  readonly audit: Client<typeof AuditService>;
}

export function createClients(transport: Transport): Clients {
  return {
    query: createClient(QueryService, transport),
    alerts: createClient(AlertService, transport),
    admin: createClient(AdminService, transport),
    config: createClient(ConfigService, transport),
    devices: createClient(DeviceService, transport),
    commands: createClient(DeviceCommandService, transport),
    audit: createClient(AuditService, transport),
  };
}
