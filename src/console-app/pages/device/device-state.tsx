import type { DeviceEvent } from "../../../gen/shoal/v1/query_pb.js";
import { Facts, Section, Time } from "../../components/bits.js";
import type { Column } from "../../components/data-table.js";
import { DataTable } from "../../components/data-table.js";
import type { DeviceNow } from "../../hooks/use-device-live.js";
import { useNow } from "../../hooks/use-timing.js";
import { formatInt } from "../../lib/format.js";
import type { Placement } from "../../lib/placement.js";

export interface DeviceStateProps {
  readonly now: DeviceNow | undefined;
  readonly placement: Placement | undefined;
  /** Why the placement is unknown ("not clustered"), "" otherwise. */
  readonly clusterNote: string;
  readonly events: readonly DeviceEvent[];
}

/** The device actor now (epoch, last seq, last event) and where it runs (partition, node, worker), with its lifecycle events. */
export function DeviceState({ now: d, placement, clusterNote, events }: DeviceStateProps) {
  const now = useNow(1000);
  const dash = <span class="muted">–</span>;
  const columns: Column<DeviceEvent>[] = [
    { key: "kind", header: "Event", cell: (e) => e.kind },
    { key: "at", header: "When", cell: (e) => <Time ms={e.atMs} now={now} /> },
    { key: "epoch", header: "Epoch/seq", numeric: true, cell: (e) => `${e.epoch}/${formatInt(e.lastSeq)}` },
  ];
  return (
    <>
      <Section title="Actor" testid="device-state">
        <Facts
          items={[
            ["Epoch", d ? String(d.epoch) : dash, "device-state-epoch"],
            ["Last seq", d ? formatInt(d.lastSeq) : dash, "device-state-seq"],
            ["Last seen", d ? <Time ms={d.lastSeenMs} now={now} ago /> : dash, "device-state-last-seen"],
            ["Last event", d && d.lastEvent ? <>{d.lastEvent} <Time ms={d.lastEventMs} now={now} ago /></> : dash, "device-state-last-event"],
            ["First seen", d ? <Time ms={d.firstSeenMs} /> : dash, "device-state-first-seen"],
            ["Readings", d ? formatInt(d.readings) : dash, "device-state-readings"],
            ["Incidents 24 h", d ? formatInt(d.incidents) : dash, "device-state-incidents"],
            ["Anomalies 24 h", d ? formatInt(d.anomalies) : dash, "device-state-anomalies"],
            ["Partition", placement ? String(placement.partition) : <span class="muted">{clusterNote || "…"}</span>, "device-state-partition"],
            ["Node", placement ? placement.owner || <span class="muted">lease free</span> : dash, "device-state-node"],
            ["Worker", placement?.worker !== undefined ? String(placement.worker) : placement ? <span class="muted">on another node</span> : dash, "device-state-worker"],
            ["Partition lag", placement && placement.pending >= 0 ? formatInt(placement.pending) : dash, "device-state-lag"],
          ]}
        />
      </Section>
      <Section title="Lifecycle events" testid="device-events-section">
        <div class="scroll-y short">
          <DataTable columns={columns} rows={events} rowKey={(e) => `${e.kind}|${e.atMs}|${e.epoch}|${e.lastSeq}`} caption="Lifecycle events of this device, newest first" testid="device-events" empty="No lifecycle event." />
        </div>
      </Section>
    </>
  );
}
