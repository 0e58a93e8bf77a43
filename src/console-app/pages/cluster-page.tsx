import { useState } from "preact/hooks";
import type { Member, PartitionInfo, WatchClusterResponse, WorkerStats } from "../../gen/shoal/v1/admin_pb.js";
import { useApp } from "../app-context.js";
import { ActionButton } from "../components/action-button.js";
import { Badge, Facts, Loading, Section, Time } from "../components/bits.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import type { Column } from "../components/data-table.js";
import { DataTable } from "../components/data-table.js";
import { ErrorBanner, Notice } from "../components/error-banner.js";
import { useAction } from "../hooks/use-call.js";
import { useStream } from "../hooks/use-stream.js";
import { useNow } from "../hooks/use-timing.js";
import { formatInt, formatMicros, formatNumber } from "../lib/format.js";

type Command =
  | { readonly kind: "drain"; readonly node: string; readonly drain: boolean }
  | { readonly kind: "rebalance" }
  | { readonly kind: "restart"; readonly worker: number };

const sum = (ns: readonly bigint[]) => ns.reduce((a, b) => a + b, 0n);

/** Members, the partition map and the workers of this process, live (WatchCluster); drain, rebalance and restart for operators, each confirmed. */
export function ClusterPage() {
  const app = useApp();
  const now = useNow(5000);
  const [snap, setSnap] = useState<WatchClusterResponse | undefined>(undefined);
  const [command, setCommand] = useState<Command | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [problemsOnly, setProblemsOnly] = useState(false);
  const action = useAction();
  const stream = useStream<WatchClusterResponse>({
    name: "cluster",
    key: "cluster",
    open: (signal, onHeader) => app.clients.admin.watchCluster({ intervalMs: 1000 }, { signal, onHeader }),
    onMessage: setSnap,
  });

  const members = snap?.members?.members ?? [];
  const partitions = snap?.partitions?.partitions ?? [];
  const workers = snap?.runtime?.workers ?? [];
  const misplaced = snap?.partitions?.misplaced ?? 0;
  const counters = snap?.counters?.counters ?? {};
  const unavailable = Object.entries(snap?.unavailable ?? {});

  const memberColumns: Column<Member>[] = [
    { key: "node", header: "Node", cell: (m) => <strong>{m.nodeId}</strong> },
    {
      key: "state",
      header: "State",
      cell: (m) => (m.leaving ? <Badge tone="warn">leaving</Badge> : m.drained ? <Badge tone="warn">drained</Badge> : <Badge tone="ok">serving</Badge>),
    },
    { key: "owned", header: "Owned / target", numeric: true, cell: (m) => <span class={m.ownedPartitions !== m.targetPartitions ? "warn-text" : undefined}>{`${m.ownedPartitions} / ${m.targetPartitions}`}</span> },
    { key: "started", header: "Started", cell: (m) => <Time ms={m.startedAtMs} now={now} /> },
    { key: "pid", header: "PID", numeric: true, cell: (m) => String(m.pid) },
    {
      key: "actions",
      header: "Actions",
      hiddenHeader: true,
      cell: (m) => (
        <ActionButton small permission={app.can("drain")} onClick={() => setCommand({ kind: "drain", node: m.nodeId, drain: !m.drained })} testid={m.drained ? "member-undrain" : "member-drain"} label={`${m.drained ? "Undrain" : "Drain"} node ${m.nodeId}`}>
          {m.drained ? "Undrain" : "Drain"}
        </ActionButton>
      ),
    },
  ];

  const workerColumns: Column<WorkerStats>[] = [
    { key: "index", header: "Worker", numeric: true, cell: (w) => String(w.index) },
    { key: "partitions", header: "Partitions", numeric: true, cell: (w) => <span title={w.partitions.join(", ")}>{w.partitions.length}</span> },
    { key: "actors", header: "Actors", numeric: true, cell: (w) => formatInt(sum(Object.values(w.activeByType))) },
    { key: "mailbox", header: "Mailbox depth", numeric: true, cell: (w) => <span class={w.mailboxDepth > 1000n ? "warn-text" : undefined}>{formatInt(w.mailboxDepth)}</span> },
    { key: "maxMailbox", header: "Deepest", numeric: true, cell: (w) => formatInt(w.maxMailboxDepth) },
    { key: "inflight", header: "In flight", numeric: true, cell: (w) => formatInt(w.inFlight) },
    { key: "turns", header: "Turns", numeric: true, cell: (w) => formatNumber(w.turns) },
    { key: "p50", header: "Turn p50", numeric: true, cell: (w) => formatMicros(w.turnLatency?.p50Us ?? NaN) },
    { key: "p99", header: "Turn p99", numeric: true, cell: (w) => formatMicros(w.turnLatency?.p99Us ?? NaN) },
    { key: "restarts", header: "Restarts", numeric: true, cell: (w) => formatInt(w.restarts) },
    { key: "dead", header: "Dead letters", numeric: true, cell: (w) => <span class={w.deadLetters > 0n ? "warn-text" : undefined}>{formatInt(w.deadLetters)}</span> },
    { key: "config", header: "Config", cell: (w) => w.configVersion || <span class="muted">initial</span> },
    {
      key: "actions",
      header: "Actions",
      hiddenHeader: true,
      cell: (w) => (
        <ActionButton small permission={app.can("restartWorker")} onClick={() => setCommand({ kind: "restart", worker: w.index })} testid="worker-restart" label={`Restart worker ${w.index}`}>
          Restart
        </ActionButton>
      ),
    },
  ];

  const isProblem = (p: PartitionInfo) => p.owner !== p.target || p.owner === "" || p.pending > 1000n;
  const shownPartitions = problemsOnly ? partitions.filter(isProblem) : partitions;
  const partitionColumns: Column<PartitionInfo>[] = [
    { key: "p", header: "Partition", numeric: true, cell: (p) => String(p.partition) },
    { key: "owner", header: "Owner", cell: (p) => p.owner || <Badge tone="bad">free</Badge> },
    { key: "target", header: "Target", cell: (p) => (p.target === p.owner ? <span class="muted">{p.target || "–"}</span> : <strong class="warn-text">{p.target || "–"}</strong>) },
    { key: "pending", header: "Pending", numeric: true, cell: (p) => (p.pending < 0n ? "?" : formatInt(p.pending)) },
    { key: "ack", header: "Unacked", numeric: true, cell: (p) => (p.ackPending < 0n ? "?" : formatInt(p.ackPending)) },
  ];

  const run = async (): Promise<boolean> => {
    if (command === undefined) return false;
    const c = command;
    const ok = await action.run(async () => {
      if (c.kind === "drain") await app.clients.admin.drainNode({ nodeId: c.node, drain: c.drain });
      else if (c.kind === "rebalance") await app.clients.admin.rebalance({});
      else await app.clients.admin.restartWorker({ index: c.worker });
    });
    if (ok) setNotice(c.kind === "drain" ? `${c.drain ? "Draining" : "Undraining"} ${c.node}: partitions move over the next seconds.` : c.kind === "rebalance" ? "Rebalance asked: every node re-plans now." : `Worker ${c.worker} restarted: its partitions are rebuilt from snapshots and the journal.`);
    return ok;
  };

  return (
    <div class="page" data-testid="page-cluster">
      <div class="page-head">
        <h1>Cluster</h1>
        <ActionButton permission={app.can("rebalance")} onClick={() => setCommand({ kind: "rebalance" })} testid="cluster-rebalance">
          Rebalance
        </ActionButton>
      </div>
      <Notice text={notice} testid="cluster-notice" onDismiss={() => setNotice(undefined)} />
      {stream.state === "retrying" && <ErrorBanner error={stream.error} title="The cluster stream failed" testid="cluster-error" />}
      {unavailable.length > 0 && (
        <ul class="notes" data-testid="cluster-unavailable">
          {unavailable.map(([part, why]) => (
            <li key={part}>
              <strong>{part}</strong>: {why}
            </li>
          ))}
        </ul>
      )}
      {!snap ? (
        <Loading what="the cluster" testid="cluster-loading" />
      ) : (
        <>
          <Facts
            cards
            testid="cluster-summary"
            items={[
              ["This node", snap.info?.nodeId ?? "?", "cluster-node"],
              ["Roles", snap.info?.roles.join(", ") ?? "", "cluster-roles"],
              ["Version", snap.info?.version ?? "?", "cluster-version"],
              ["Members", String(members.length), "cluster-member-count"],
              ["Partitions", String(partitions.length), "cluster-partition-count"],
              ["Misplaced", misplaced === 0 ? "0 (converged)" : String(misplaced), "cluster-misplaced"],
              ["Worker restarts", formatInt(snap.runtime?.workerRestarts ?? 0n), "cluster-worker-restarts"],
              ...Object.entries(counters)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([k, v]) => [k, formatNumber(v)] as const),
            ]}
          />
          <Section title={`Workers of ${snap.info?.nodeId ?? "this node"}`} id="workers" testid="cluster-workers-section">
            <DataTable columns={workerColumns} rows={workers} rowKey={(w) => String(w.index)} caption="Worker threads of this process" testid="cluster-workers" empty="This process runs no actor host." />
          </Section>
          <div class="two-col">
            <Section title="Members" testid="cluster-members-section">
              <DataTable columns={memberColumns} rows={members} rowKey={(m) => m.nodeId} caption="Runtime members" testid="cluster-members" empty="No member (not clustered)." />
            </Section>
            <Section
              title="Partition map"
              testid="cluster-partitions-section"
              tools={
                <label class="check">
                  <input type="checkbox" checked={problemsOnly} data-testid="cluster-partitions-problems" onChange={(e) => setProblemsOnly(e.currentTarget.checked)} /> Only misplaced, free or lagging
                </label>
              }
            >
              <div class="scroll-y tall">
                <DataTable columns={partitionColumns} rows={shownPartitions} rowKey={(p) => String(p.partition)} caption="Partitions: owner, target and consumer lag" testid="cluster-partitions" rowAttrs={(p) => ({ class: isProblem(p) ? "row-warn" : undefined, "data-owner": p.owner })} empty={problemsOnly ? "Every partition is with its target." : "No partition map."} />
              </div>
            </Section>
          </div>
        </>
      )}
      {command && (
        <ConfirmDialog
          title={command.kind === "drain" ? `${command.drain ? "Drain" : "Undrain"} ${command.node}?` : command.kind === "rebalance" ? "Rebalance the cluster?" : `Restart worker ${command.worker}?`}
          confirmLabel={command.kind === "drain" ? (command.drain ? "Drain" : "Undrain") : command.kind === "rebalance" ? "Rebalance" : "Restart worker"}
          danger={command.kind !== "rebalance" && !(command.kind === "drain" && !command.drain)}
          pending={action.pending}
          error={action.error}
          testid="cluster-dialog"
          onConfirm={run}
          onClose={() => {
            action.clearError();
            setCommand(undefined);
          }}
        >
          <p>
            {command.kind === "drain"
              ? command.drain
                ? "Every partition moves off this node (a few at a time); its actors are rebuilt elsewhere from snapshots and the journal."
                : "The node takes partitions again as the plan assigns them."
              : command.kind === "rebalance"
                ? "Every runtime node re-plans now; moves stay bounded by the max moves at a time."
                : "The worker thread is killed as if it crashed; the pool replaces it and rebuilds its partitions. Nothing is lost."}
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
