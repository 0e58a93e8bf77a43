import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { AlertCommandSink } from "../../ports/alerts.js";
import { ShoalError, errorMessage } from "../../base/errors.js";
import { encodeJournalCommand } from "../../domain/journal-commands.js";
import { partitionOf } from "../../domain/partition.js";
import { commandSubject } from "../../domain/subjects.js";

/** Options of {@link createCommandJournal}. */
export interface CommandJournalOptions {
  /** Partitions of the journal (the cluster's fixed count). */
  readonly partitions: number;
  /** Longest wait for JetStream's acknowledgement. Default 5 s. */
  readonly timeoutMs?: number;
}

/**
 * AlertCommandSink on the readings journal: a command goes to its device's partition
 * (`shoal.readings.<p>.command`) with `Nats-Msg-Id` = its command id, so a retried submit lands
 * once. Resolves when JetStream stored it (replicated as the journal is); a failure is retryable.
 */
export function createCommandJournal(nc: NatsConnection, o: CommandJournalOptions): AlertCommandSink {
  const js = jetstream(nc);
  return {
    async submit(cmd) {
      const subject = commandSubject(partitionOf(cmd.deviceId, o.partitions));
      try {
        await js.publish(subject, encodeJournalCommand(cmd), { msgID: cmd.commandId, timeout: o.timeoutMs ?? 5_000 });
      } catch (err) {
        throw new ShoalError(`alert command ${cmd.commandId} not journaled: ${errorMessage(err)}`, { code: "unavailable", retryable: true, cause: err });
      }
    },
  };
}
