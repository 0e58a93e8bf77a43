import { useEffect, useState } from "preact/hooks";
import type { DeviceCommand } from "../../gen/shoal/v1/command_pb.js";
import { useApp } from "../app-context.js";
import { Badge, Facts, Loading, Section, Time } from "../components/bits.js";
import type { Column } from "../components/data-table.js";
import { DataTable } from "../components/data-table.js";
import { ErrorBanner, Notice } from "../components/error-banner.js";
import { Pager } from "../components/pager.js";
import { useCall } from "../hooks/use-call.js";
import { navigate } from "../hooks/use-route.js";
import { useDebounced, useNow } from "../hooks/use-timing.js";
import { useTokenPages } from "../hooks/use-token-pages.js";
import type { CommandStatusFilter } from "../lib/registry-model.js";
import { COMMAND_STATUS_FILTERS, commandOpen, commandsListStale, commandStatusCode, commandStatusName, commandStatusTone, DEVICE_ID } from "../lib/registry-model.js";
import type { Route } from "../lib/router.js";
import { deviceHref, formatRoute } from "../lib/router.js";
import { SendCommandForm } from "./commands/send-command-form.js";

type CommandsRoute = Extract<Route, { page: "commands" }>;

/** How often an open (pending/delivered) command shown here is asked for again. */
const POLL_MS = 2000;

function StatusBadge({ status }: { readonly status: number }) {
  return (
    <Badge tone={commandStatusTone(status)} testid="command-status">
      {commandStatusName(status)}
    </Badge>
  );
}

/**
 * Commands to devices (DeviceCommandService): operators send one (name, JSON payload, TTL); the
 * fleet's commands (or one device's) newest first with their status, filtered by status (both
 * filters kept in the URL), refreshed while any shown is still open; a command's detail (payload,
 * reply, reason).
 */
export function CommandsPage({ route }: { readonly route: CommandsRoute }) {
  const app = useApp();
  const now = useNow(5000);
  const [device, setDevice] = useState(route.device);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  useEffect(() => setDevice(route.device), [route.device]);
  const typed = useDebounced(device, 300);
  useEffect(() => {
    if (typed.trim() !== route.device) navigate({ ...route, device: typed.trim() }, { replace: true });
  }, [typed]);

  const send = app.can("sendCommand");
  const valid = route.device === "" || DEVICE_ID.test(route.device);
  const statuses = route.statuses ?? [];
  const list = useTokenPages(valid ? `${route.device}|${statuses.join(",")}` : null, (pageToken, signal) =>
    app.clients.commands.listCommands({ deviceId: route.device, statuses: statuses.map(commandStatusCode), pageSize: 50, pageToken }, { signal }),
  );
  const commands = list.data?.commands ?? [];
  // The command sent last from this page, until the list shows it.
  const [sentId, setSentId] = useState<string | undefined>(undefined);
  const stale = commandsListStale(commands, { failed: list.error !== undefined, sentId, firstPage: list.pageNumber === 1, statusFilter: statuses.length > 0 });
  useEffect(() => {
    if (!stale) return;
    const t = setTimeout(list.reload, POLL_MS);
    return () => clearTimeout(t);
  }, [stale, list.data, list.error]);

  const toggle = (s: CommandStatusFilter, on: boolean) => {
    const next = COMMAND_STATUS_FILTERS.filter((x) => (x === s ? on : statuses.includes(x)));
    navigate({ ...route, statuses: next });
  };

  const columns: Column<DeviceCommand>[] = [
    { key: "id", header: "Command", cell: (c) => <a href={formatRoute({ ...route, command: c.commandId })} class="mono">{c.commandId}</a> },
    { key: "device", header: "Device", cell: (c) => <a href={deviceHref(c.deviceId)}>{c.deviceId}</a> },
    { key: "name", header: "Name", cell: (c) => c.name },
    { key: "status", header: "Status", cell: (c) => <StatusBadge status={c.status} /> },
    { key: "sent", header: "Sent", cell: (c) => <span title={`by ${c.sentBy}`}><Time ms={c.createdAtMs} now={now} /></span> },
    { key: "updated", header: "Changed", cell: (c) => <Time ms={c.updatedAtMs} now={now} /> },
    { key: "expires", header: "Expires", cell: (c) => <Time ms={c.expiresAtMs} now={now} /> },
    { key: "attempts", header: "Attempts", numeric: true, cell: (c) => String(c.attempts) },
  ];

  return (
    <div class="page" data-testid="page-commands">
      <h1>Commands</h1>
      <Notice text={notice} testid="commands-notice" onDismiss={() => setNotice(undefined)} />
      {send.allowed ? (
        <SendCommandForm
          device={route.device}
          onSent={(c) => {
            setNotice(`Command ${c.name} queued for ${c.deviceId} (${commandStatusName(c.status)}).`);
            navigate({ ...route, command: c.commandId });
            setSentId(c.commandId);
            list.reload();
          }}
        />
      ) : (
        <p class="muted" data-testid="command-send-forbidden">
          {send.reason} Sending commands is for operators.
        </p>
      )}
      {route.command !== "" && <CommandDetail id={route.command} now={now} />}
      <Section title="Commands, newest first" testid="commands-list-section">
        <div class="filters" role="search" aria-label="Filter commands">
          <label class="field-inline">
            Device <input class="input" value={device} placeholder="every device" data-testid="commands-device" onInput={(e) => setDevice(e.currentTarget.value)} />
          </label>
          <fieldset class="inline-fieldset">
            <legend>Status</legend>
            {COMMAND_STATUS_FILTERS.map((s) => (
              <label key={s} class="check">
                <input type="checkbox" checked={statuses.includes(s)} data-testid={`commands-filter-${s}`} onChange={(e) => toggle(s, e.currentTarget.checked)} /> {s}
              </label>
            ))}
          </fieldset>
          {route.device !== "" && valid && <a href={deviceHref(route.device)}>Live readings of {route.device}</a>}
        </div>
        <ErrorBanner error={list.error} title="Listing commands failed" testid="commands-error" onRetry={list.reload} />
        {!valid ? (
          <p class="muted" data-testid="commands-device-invalid">
            Not a device id: letters, digits, _ and - only (empty: every device).
          </p>
        ) : list.data === undefined && list.loading ? (
          <Loading what="commands" testid="commands-loading" />
        ) : (
          <>
            <DataTable columns={columns} rows={commands} rowKey={(c) => c.commandId} caption={caption(route.device, statuses)} testid="commands-table" empty={statuses.length > 0 ? "No command in these statuses." : route.device !== "" ? "No command to this device." : "No command yet."} />
            <Pager pageNumber={list.pageNumber} hasPrevious={list.hasPrevious} hasNext={list.hasNext} onPrevious={list.previous} onNext={list.next} testid="commands-pager" />
          </>
        )}
      </Section>
    </div>
  );
}

/** The list's caption: whose commands, in which statuses. */
function caption(device: string, statuses: readonly string[]): string {
  return `Commands to ${device === "" ? "every device" : device}${statuses.length > 0 ? `, ${statuses.join(" or ")}` : ""}`;
}

/** One command (GetCommand), asked again while it is open. */
function CommandDetail({ id, now }: { readonly id: string; readonly now: number }) {
  const app = useApp();
  const got = useCall(`command/${id}`, (signal) => app.clients.commands.getCommand({ commandId: id }, { signal }));
  const c = got.data?.command;
  const open = c !== undefined && commandOpen(c.status);
  useEffect(() => {
    if (!open) return;
    const t = setTimeout(got.reload, POLL_MS);
    return () => clearTimeout(t);
  }, [open, got.data]);
  return (
    <Section title={`Command ${id}`} testid="command-detail">
      <ErrorBanner error={got.error} title="Reading the command failed" testid="command-detail-error" onRetry={got.reload} />
      {!c ? (
        got.loading && <Loading what="the command" testid="command-detail-loading" />
      ) : (
        <Facts
          items={[
            ["Device", <a href={deviceHref(c.deviceId)}>{c.deviceId}</a>, "command-detail-device"],
            ["Name", c.name, "command-detail-name"],
            ["Status", <StatusBadge status={c.status} />, "command-detail-status"],
            ["Payload", <code>{c.payloadJson}</code>, "command-detail-payload"],
            ["Reply", c.replyJson ? <code>{c.replyJson}</code> : "–", "command-detail-reply"],
            ["Reason", c.reason || "–", "command-detail-reason"],
            ["Sent by", c.sentBy, "command-detail-sent-by"],
            ["Sent", <Time ms={c.createdAtMs} now={now} />],
            ["Expires", <Time ms={c.expiresAtMs} now={now} />],
            ["Attempts", String(c.attempts), "command-detail-attempts"],
          ]}
        />
      )}
    </Section>
  );
}
