/**
 * Who may call what (docs/adr/0018-console.md). Three roles, each including the one before:
 * viewer reads, operator also acts on the running system (acknowledge, silence, drain, restart,
 * register devices), admin also changes configuration, deletes devices, rotates their credentials
 * and reads the audit log. One table for every protocol: gRPC, gRPC-web and Connect. Pure (no
 * imports): the browser console shares it to grey out what the server would refuse.
 */
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `have` may do what needs `need`. */
export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

/** What a method needs, and whether its calls go to the audit log (src/ports/audit.ts). */
export interface MethodRule {
  readonly role: Role;
  /** Recorded (who, what, when, from where, outcome) after every call, refused ones included. */
  readonly audited: boolean;
}

/** A read: any authenticated caller, not audited. */
const READ: MethodRule = { role: "viewer", audited: false };
/** An action on the running system or the registry: operators, audited. */
const OPERATE: MethodRule = { role: "operator", audited: true };
/** A change of configuration, a destructive or credential-bearing change, or reading the audit trail: admins, audited. */
const ADMINISTER: MethodRule = { role: "admin", audited: true };
/**
 * A call of Shoal's own processes (the model gateway): operator, not audited. The gateway's
 * callers are the runtime's device actors, the query role (embeddings) and the reports role
 * (summaries); they present their own token, named "runtime" by convention, with the operator
 * role. Why operator and not viewer: these calls read nothing of Shoal's state, they spend a paid,
 * rate-limited LLM budget and capacity the actors depend on — viewer tokens are the ones handed
 * out widely (dashboards, browsers), and a leaked one must not be able to exhaust that budget. Why
 * not admin: least privilege — the internal token sits in every runtime's configuration, and a
 * leaked one must not be able to change configuration, delete devices or rotate their
 * credentials. Why not audited: they are not changes, and the actors make thousands per second.
 * (A fourth "service" role would fence internal callers off the operators' actions as well; three
 * roles keep the console and the config schema simple, and operator is the smallest that fits.)
 */
const INTERNAL: MethodRule = { role: "operator", audited: false };

/**
 * Every method of every Shoal service, by fully-qualified service name and method name as in the
 * proto. Explicit on purpose: a method missing here needs admin (fail closed, see
 * {@link requiredRole}), and test/integration/access-all-rpcs.test.ts fails until every method of
 * the generated descriptors is classified here, so a new RPC cannot silently become a viewer's.
 * Not listed and never checked: the standard health (grpc.health.v1.Health: Kubernetes probes
 * carry no token) and reflection services ({@link OPEN_SERVICES}), which reveal only liveness and
 * the public proto schema.
 */
export const ACCESS_TABLE: Readonly<Record<string, Readonly<Record<string, MethodRule>>>> = {
  "shoal.v1.QueryService": {
    ListDevices: READ,
    GetDevice: READ,
    ListReadings: READ,
    ListAnalyses: READ,
    SearchSimilarIncidents: READ,
    SearchText: READ,
    WatchDevice: READ,
    WatchFleet: READ,
  },
  "shoal.v1.AlertService": {
    ListAlerts: READ,
    GetAlert: READ,
    ListSilences: READ,
    WatchAlerts: READ,
    AcknowledgeAlert: OPERATE,
    ResolveAlert: OPERATE,
    SilenceAlerts: OPERATE,
    DeleteSilence: OPERATE,
  },
  "shoal.v1.AdminService": {
    GetInfo: READ,
    GetCounters: READ,
    ListMembers: READ,
    GetPartitionMap: READ,
    GetRuntimeStats: READ,
    WatchCluster: READ,
    Rebalance: OPERATE,
    DrainNode: OPERATE,
    RestartWorker: OPERATE,
  },
  "shoal.v1.ConfigService": {
    // Secrets are redacted in every answer of the config service.
    GetConfig: READ,
    ValidateConfigChange: READ,
    ListConfigHistory: READ,
    DiffConfig: READ,
    WatchConfig: READ,
    SetConfigKey: ADMINISTER,
    RollbackConfig: ADMINISTER,
  },
  "shoal.v1.DeviceService": {
    GetDevice: READ,
    ListDevices: READ,
    CreateDevice: OPERATE,
    UpdateDevice: OPERATE,
    SetDeviceEnabled: OPERATE,
    ImportDevices: OPERATE,
    // A device's broker account goes away, or its password changes: admins only.
    DeleteDevice: ADMINISTER,
    RotateCredentials: ADMINISTER,
  },
  "shoal.v1.DeviceCommandService": {
    GetCommand: READ,
    ListCommands: READ,
    // Makes a device do something.
    SendCommand: OPERATE,
  },
  "shoal.v1.AuditService": {
    // Who did what is itself sensitive (and reading it is recorded).
    ListAuditEvents: ADMINISTER,
  },
  "shoal.v1.ModelGatewayService": {
    Score: INTERNAL,
    ScoreBatch: INTERNAL,
    Explain: INTERNAL,
    Embed: INTERNAL,
    Summarize: INTERNAL,
  },
};

/**
 * Services served beside Shoal's on the gRPC ports and never access-checked: health (probes carry
 * no token) and reflection (the schema is public: it is in the repository).
 */
export const OPEN_SERVICES: readonly string[] = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

/** What admins may do and is recorded: the rule of a method that is not in {@link ACCESS_TABLE} (fail closed). */
const UNKNOWN: MethodRule = ADMINISTER;

/** The rule of `service`/`method` (names as in the proto: "shoal.v1.AdminService", "DrainNode"); admin and audited when unknown. */
export function methodRule(service: string, method: string): MethodRule {
  const rules = Object.hasOwn(ACCESS_TABLE, service) ? ACCESS_TABLE[service]! : undefined;
  return rules !== undefined && Object.hasOwn(rules, method) ? rules[method]! : UNKNOWN;
}

/** The role a call of `service`/`method` needs; "admin" for a service or method not in {@link ACCESS_TABLE}. */
export function requiredRole(service: string, method: string): Role {
  return methodRule(service, method).role;
}

/** True when calls of `service`/`method` are recorded in the audit log (every method that changes something; unknown ones too). */
export function isAudited(service: string, method: string): boolean {
  return methodRule(service, method).audited;
}
