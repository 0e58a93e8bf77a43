import type { Clock } from "../ports/clock.js";
import type { Log } from "../ports/log.js";
import type { CommandFeed, CommandLink, CommandRecord, CommandStore, DeviceReply, QueueDisposition, QueuedCommand } from "../ports/commands.js";
import { applyEvent, isSettled, parseReply, type CommandEvent } from "../commands/index.js";
import { errorMessage } from "../base/errors.js";

/** What the downlink works with (wired by the bridge role). */
export interface DownlinkDeps {
  /** The status records (NATS KV `commands.bucket`). */
  readonly store: CommandStore;
  /** The queued commands (a durable consumer of SHOAL_COMMANDS, shared by every bridge). */
  readonly feed: CommandFeed;
  /** MQTT: command publishes and the shared subscription of replies. */
  readonly link: CommandLink;
  readonly clock: Clock;
  /** How soon a command for an offline device is offered again (`commands.retryEvery`), ms. */
  readonly retryEveryMs: number;
  readonly log?: Log;
}

/** Counters of one downlink (since start). */
export interface DownlinkStats {
  /** Publishes the broker took for a device (PUBACK 0). */
  delivered: number;
  /** Publishes with no subscriber (device offline: offered again later). */
  offline: number;
  /** Publishes the broker refused (command failed). */
  refused: number;
  /** Publishes without a PUBACK (broker unreachable: offered again later). */
  unreachable: number;
  /** Commands this downlink marked expired. */
  expired: number;
  /** Replies that settled a command. */
  replies: number;
  /** Replies ignored: no command id, an unknown command, or one that was settled already. */
  repliesIgnored: number;
  /** Replies on a device's topic naming another device's command (ignored: a device cannot settle another's command). */
  foreignReplies: number;
  /** Store failures (the command is offered again later; a reply is redelivered by the broker). */
  storeErrors: number;
}

/** A running downlink. */
export interface Downlink {
  readonly stats: DownlinkStats;
  /** Stop taking queued commands (the one in hand finishes) and close the MQTT link. */
  stop(): Promise<void>;
}

/**
 * The downlink (docs/adr/0021-device-commands.md), run by the bridge role: every queued command
 * still open is published QoS 1 to its device; the broker's PUBACK decides what happens next
 * (0 delivered, 16 offline: offered again every `retryEveryMs`, other codes failed), and the
 * device's reply on `devices/<id>/commands/reply` settles it (acknowledged or failed).
 *
 * Expiry needs no scan: a queued command stays in the queue until it is settled or expired, and
 * is offered again at the latest at its expiry (`later` with the remaining TTL), when whichever
 * bridge gets it marks it expired. So expiry survives bridge crashes and restarts, and the number
 * of bridges does not matter.
 *
 * Every status change is a compare-and-set transition of the store through the pure rules of
 * src/commands/state.ts: a settled command never changes again, so a reply racing the PUBACK or
 * two bridges handling the same command cannot make a settled command open again.
 */
export function startDownlink(d: DownlinkDeps): Downlink {
  const stats: DownlinkStats = { delivered: 0, offline: 0, refused: 0, unreachable: 0, expired: 0, replies: 0, repliesIgnored: 0, foreignReplies: 0, storeErrors: 0 };
  const retry = Math.max(1, d.retryEveryMs);
  const apply = async (deviceId: string, commandId: string, e: CommandEvent) => d.store.transition(deviceId, commandId, (cur) => applyEvent(cur, e));

  const handle = async (q: QueuedCommand): Promise<QueueDisposition> => {
    let rec: CommandRecord | undefined;
    try {
      rec = await d.store.get(q.commandId, q.deviceId);
      if (rec === undefined) {
        // Older than commands.keep, or never stored: nothing to deliver or to update.
        d.log?.warn({ commandId: q.commandId, deviceId: q.deviceId }, "downlink: queued command has no status record; dropped");
        return DONE;
      }
      const now = d.clock.now();
      if (isSettled(rec.status)) return DONE;
      if (now >= rec.expiresAtMs) {
        const r = await apply(rec.deviceId, rec.commandId, { kind: "expire", atMs: now });
        if (r?.changed) stats.expired++;
        return DONE;
      }
      // Delivered (by this or another bridge) and not yet answered: look again at its expiry.
      if (rec.status === "delivered") return later(rec.expiresAtMs - now);
      const outcome = await d.link.send({ deviceId: rec.deviceId, commandId: rec.commandId, name: rec.name, payloadJson: rec.payloadJson, expirySec: Math.max(1, Math.ceil((rec.expiresAtMs - now) / 1000)) });
      const at = d.clock.now();
      switch (outcome.kind) {
        case "accepted": {
          stats.delivered++;
          const r = await apply(rec.deviceId, rec.commandId, { kind: "accepted", atMs: at });
          return r === undefined || isSettled(r.record.status) ? DONE : later(rec.expiresAtMs - at);
        }
        case "no_subscribers": {
          stats.offline++;
          const r = await apply(rec.deviceId, rec.commandId, { kind: "no_subscribers", atMs: at });
          return r === undefined || isSettled(r.record.status) ? DONE : later(Math.min(retry, rec.expiresAtMs - at));
        }
        case "refused": {
          stats.refused++;
          d.log?.warn({ commandId: rec.commandId, deviceId: rec.deviceId, code: outcome.code }, "downlink: the broker refused a command");
          await apply(rec.deviceId, rec.commandId, { kind: "refused", atMs: at, reason: `the broker refused it: ${outcome.reason} (${outcome.code})` });
          return DONE;
        }
        case "unreachable":
          stats.unreachable++;
          return later(Math.min(retry, rec.expiresAtMs - at));
      }
    } catch (e) {
      stats.storeErrors++;
      d.log?.warn({ commandId: q.commandId, err: errorMessage(e) }, "downlink: command status store failed; offered again later");
      return later(retry);
    }
  };

  const onReply = async (r: DeviceReply): Promise<void> => {
    const p = parseReply(r.correlation, r.payload);
    if (p.commandId === undefined) {
      stats.repliesIgnored++;
      return;
    }
    try {
      const res = await apply(r.deviceId, p.commandId, { kind: "replied", atMs: d.clock.now(), ok: p.ok, replyJson: p.replyJson, reason: p.reason });
      if (res?.changed) {
        stats.replies++;
        if (res.record.status === "expired") stats.expired++;
        return;
      }
      stats.repliesIgnored++;
      if (res === undefined && (await d.store.get(p.commandId)) !== undefined) {
        stats.foreignReplies++;
        d.log?.warn({ commandId: p.commandId, topicDevice: r.deviceId }, "downlink: a device replied to another device's command; ignored");
      }
    } catch (e) {
      stats.storeErrors++;
      // Thrown back: the reply is not acknowledged to the broker, which redelivers it.
      throw e;
    }
  };

  d.link.onReply(onReply);
  const running = d.feed.start(handle, (_raw, err) => d.log?.warn({ err: errorMessage(err) }, "downlink: a queued message is no command; removed"));
  return {
    stats,
    async stop() {
      await running.stop();
      await d.link.close();
    },
  };
}

const DONE: QueueDisposition = { kind: "done" };

function later(ms: number): QueueDisposition {
  return { kind: "later", delayMs: Math.max(1, Math.ceil(ms)) };
}
