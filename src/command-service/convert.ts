import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CommandRecordInput, CommandStatus as Status } from "../ports/commands.js";
import { CommandStatus, type DeviceCommandSchema } from "../gen/shoal/v1/command_pb.js";

/** Command records to DeviceCommandService messages. */

const STATUSES: Readonly<Record<Status, CommandStatus>> = {
  pending: CommandStatus.PENDING,
  delivered: CommandStatus.DELIVERED,
  acknowledged: CommandStatus.ACKNOWLEDGED,
  failed: CommandStatus.FAILED,
  expired: CommandStatus.EXPIRED,
};

export const statusOf = (s: string): CommandStatus => (Object.hasOwn(STATUSES, s) ? STATUSES[s as Status] : CommandStatus.UNSPECIFIED);

export function commandOf(r: CommandRecordInput): MessageInitShape<typeof DeviceCommandSchema> {
  return {
    commandId: r.commandId,
    deviceId: r.deviceId,
    name: r.name,
    payloadJson: r.payloadJson,
    status: statusOf(r.status),
    createdAtMs: BigInt(r.createdAtMs),
    expiresAtMs: BigInt(r.expiresAtMs),
    updatedAtMs: BigInt(r.updatedAtMs),
    replyJson: r.replyJson,
    reason: r.reason,
    sentBy: r.sentBy,
    attempts: r.attempts,
  };
}
