import { useEffect, useState } from "preact/hooks";
import type { DeviceCredentials, RegisteredDevice } from "../../gen/shoal/v1/device_pb.js";
import { useApp } from "../app-context.js";
import { ActionButton } from "../components/action-button.js";
import { Badge, Loading, Time } from "../components/bits.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import type { Column } from "../components/data-table.js";
import { DataTable } from "../components/data-table.js";
import { ErrorBanner, Notice } from "../components/error-banner.js";
import { Pager } from "../components/pager.js";
import { SecretOnce, SecretsOnce } from "../components/secret-once.js";
import { toCallError } from "../api/errors.js";
import { useAction } from "../hooks/use-call.js";
import { navigate } from "../hooks/use-route.js";
import { useRouteSync } from "../hooks/use-route-sync.js";
import { useDebounced, useNow } from "../hooks/use-timing.js";
import { useTokenPages } from "../hooks/use-token-pages.js";
import { formatInt } from "../lib/format.js";
import type { EnabledFilter } from "../lib/registry-model.js";
import { ENABLED_FILTERS, enabledFilterCode, formatLabels, labelChanges, parseLabels } from "../lib/registry-model.js";
import type { Route } from "../lib/router.js";
import { deviceHref, formatRoute } from "../lib/router.js";
import { CreateDeviceDialog, EditDeviceDialog } from "./devices/device-forms.js";
import { ImportDevicesDialog, ImportResults } from "./devices/import-dialog.js";
import type { ImportRowResult } from "./devices/import-run.js";
import { credentialsCsv, importCounts, importInChunks } from "./devices/import-run.js";

type DevicesRoute = Extract<Route, { page: "devices" }>;

type Dialog =
  | { readonly kind: "create" }
  | { readonly kind: "import" }
  | { readonly kind: "edit"; readonly device: RegisteredDevice }
  | { readonly kind: "enable"; readonly device: RegisteredDevice; readonly enabled: boolean }
  | { readonly kind: "rotate"; readonly device: RegisteredDevice }
  | { readonly kind: "delete"; readonly device: RegisteredDevice };

const PAGE_SIZE = 50;

/**
 * The device registry (DeviceService): devices filtered by id prefix, type, labels and enabled,
 * paged with the total; operators register (one, or many from a CSV file checked in the browser
 * first and sent in chunks), enable/disable and relabel devices, admins rotate credentials and
 * delete. New passwords are shown once. The filters live in the URL.
 */
export function DevicesPage({ route }: { readonly route: DevicesRoute }) {
  const app = useApp();
  const now = useNow(10_000);
  const [prefix, setPrefix] = useState(route.prefix);
  const [type, setType] = useState(route.type);
  const [label, setLabel] = useState(route.label);
  useRouteSync(`${route.prefix}\n${route.type}\n${route.label}`, () => {
    setPrefix(route.prefix);
    setType(route.type);
    setLabel(route.label);
  });
  const typed = useDebounced(`${prefix}\n${type}\n${label}`, 300);
  useEffect(() => {
    const [p = "", t = "", l = ""] = typed.split("\n");
    if (p !== route.prefix || t !== route.type || l !== route.label) navigate({ ...route, prefix: p, type: t, label: l }, { replace: true });
  }, [typed]);

  const labelFilter = parseLabels(route.label);
  const filterKey = labelFilter.ok ? `${route.prefix}|${route.type}|${route.label}|${route.enabled}` : null;
  const list = useTokenPages(filterKey, (pageToken, signal) =>
    app.clients.devices.listDevices({ idPrefix: route.prefix, type: route.type, labels: labelFilter.ok ? labelFilter.value : {}, enabledFilter: enabledFilterCode(route.enabled), pageSize: PAGE_SIZE, pageToken }, { signal }),
  );
  const devices = list.data?.devices ?? [];

  const [dialog, setDialog] = useState<Dialog | undefined>(undefined);
  const [secret, setSecret] = useState<{ deviceId: string; credentials: DeviceCredentials } | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [imported, setImported] = useState<readonly ImportRowResult[] | undefined>(undefined);
  const [importSecrets, setImportSecrets] = useState<{ secrets: Array<{ id: string; password: string }>; csv: string } | undefined>(undefined);
  const [progress, setProgress] = useState<{ done: number; total: number } | undefined>(undefined);
  const action = useAction();
  const close = () => {
    action.clearError();
    setDialog(undefined);
  };

  const columns: Column<RegisteredDevice>[] = [
    { key: "id", header: "Device", cell: (d) => <a href={deviceHref(d.id)} title="Live readings of this device">{d.id}</a> },
    { key: "type", header: "Type", cell: (d) => d.type || <span class="muted">–</span> },
    { key: "labels", header: "Labels", cell: (d) => <span class="mono" data-testid="device-labels">{formatLabels(d.labels) || "–"}</span> },
    { key: "enabled", header: "State", cell: (d) => (d.enabled ? <Badge tone="ok" testid="device-state">enabled</Badge> : <Badge tone="warn" testid="device-state">disabled</Badge>) },
    { key: "rotated", header: "Password set", cell: (d) => <Time ms={d.credentialsRotatedAtMs} now={now} /> },
    { key: "updated", header: "Changed", cell: (d) => <span title={d.updatedBy ? `by ${d.updatedBy}` : undefined}><Time ms={d.updatedAtMs} now={now} /></span> },
    {
      key: "actions",
      header: "Actions",
      hiddenHeader: true,
      cell: (d) => (
        <span class="form-row">
          <ActionButton small permission={app.can("enableDevice")} onClick={() => setDialog({ kind: "enable", device: d, enabled: !d.enabled })} testid={d.enabled ? "device-disable" : "device-enable"} label={`${d.enabled ? "Disable" : "Enable"} ${d.id}`}>
            {d.enabled ? "Disable" : "Enable"}
          </ActionButton>
          <ActionButton small permission={app.can("updateDevice")} onClick={() => setDialog({ kind: "edit", device: d })} testid="device-edit" label={`Edit labels of ${d.id}`}>
            Labels
          </ActionButton>
          <ActionButton small permission={app.can("rotateCredentials")} onClick={() => setDialog({ kind: "rotate", device: d })} testid="device-rotate" label={`Rotate the credentials of ${d.id}`}>
            Rotate
          </ActionButton>
          <ActionButton small variant="danger" permission={app.can("deleteDevice")} onClick={() => setDialog({ kind: "delete", device: d })} testid="device-delete" label={`Delete ${d.id}`}>
            Delete
          </ActionButton>
          <a class="btn btn-small btn-quiet" href={formatRoute({ page: "commands", device: d.id, command: "" })} data-testid="device-commands">
            Commands
          </a>
        </span>
      ),
    },
  ];

  const done = (text: string) => {
    setNotice(text);
    list.reload();
  };

  const importRows: Parameters<typeof ImportDevicesDialog>[0]["onImport"] = (rows) =>
    action.run(async () => {
      setProgress({ done: 0, total: rows.length });
      try {
        const results = await importInChunks(
          rows,
          (csv) => app.clients.devices.importDevices({ csv }),
          (e) => {
            const ce = toCallError(e);
            return `${ce.codeName}: ${ce.message}`;
          },
          (done) => setProgress({ done, total: rows.length }),
        );
        setImported(results);
        const secrets = results.flatMap((r) => (r.outcome.kind === "created" ? [{ id: r.id, password: r.outcome.password }] : []));
        setImportSecrets(secrets.length > 0 ? { secrets, csv: credentialsCsv(results) } : undefined);
        const n = importCounts(results);
        done(`Import: ${n.created} created, ${n.skipped} registered already${n.failed + n["not-sent"] > 0 ? `, ${n.failed + n["not-sent"]} not imported` : ""}.`);
      } finally {
        setProgress(undefined);
      }
    });

  const confirm = async (d: Exclude<Dialog, { kind: "create" } | { kind: "edit" } | { kind: "import" }>, reason: string): Promise<boolean> =>
    action.run(async () => {
      if (d.kind === "enable") {
        await app.clients.devices.setDeviceEnabled({ id: d.device.id, enabled: d.enabled, reason });
        done(`${d.device.id} ${d.enabled ? "enabled" : "disabled"}.`);
      } else if (d.kind === "rotate") {
        const r = await app.clients.devices.rotateCredentials({ id: d.device.id });
        if (r.credentials) setSecret({ deviceId: d.device.id, credentials: r.credentials });
        done(`New credentials for ${d.device.id}: the old password stops working once the broker has the new one.`);
      } else {
        await app.clients.devices.deleteDevice({ id: d.device.id });
        done(`${d.device.id} deleted (its stored readings stay).`);
      }
    });

  return (
    <div class="page" data-testid="page-devices">
      <div class="page-head">
        <h1>Devices</h1>
        <span class="form-row">
          <ActionButton permission={app.can("importDevices")} onClick={() => setDialog({ kind: "import" })} testid="device-import">
            Import CSV
          </ActionButton>
          <ActionButton variant="primary" permission={app.can("createDevice")} onClick={() => setDialog({ kind: "create" })} testid="device-create">
            Register a device
          </ActionButton>
        </span>
      </div>
      {secret && <SecretOnce deviceId={secret.deviceId} credentials={secret.credentials} onDismiss={() => setSecret(undefined)} />}
      {importSecrets && <SecretsOnce secrets={importSecrets.secrets} csv={importSecrets.csv} onDismiss={() => setImportSecrets(undefined)} />}
      {imported && <ImportResults results={imported} onDismiss={() => setImported(undefined)} />}
      <Notice text={notice} testid="devices-notice" onDismiss={() => setNotice(undefined)} />
      <div class="filters" role="search" aria-label="Filter devices">
        <label class="field-inline">
          Id prefix <input class="input" value={prefix} data-testid="devices-prefix" onInput={(e) => setPrefix(e.currentTarget.value)} />
        </label>
        <label class="field-inline">
          Type <input class="input" value={type} data-testid="devices-type" onInput={(e) => setType(e.currentTarget.value)} />
        </label>
        <label class="field-inline">
          Labels <input class="input" value={label} placeholder="site=berlin" aria-invalid={labelFilter.ok ? undefined : "true"} data-testid="devices-label" onInput={(e) => setLabel(e.currentTarget.value)} />
        </label>
        <label class="field-inline">
          State
          <select class="input" value={route.enabled} data-testid="devices-enabled" onChange={(e) => navigate({ ...route, enabled: e.currentTarget.value as EnabledFilter }, { replace: true })}>
            {ENABLED_FILTERS.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
      </div>
      {!labelFilter.ok && <p class="warn-text">Labels filter: {labelFilter.error}</p>}
      <ErrorBanner error={list.error} title="Listing devices failed" testid="devices-error" onRetry={list.reload} />
      {list.data === undefined && list.loading ? (
        <Loading what="devices" testid="devices-loading" />
      ) : (
        <>
          <p class="muted" role="status" data-testid="devices-total">
            {formatInt(list.data?.total ?? 0n)} matching
          </p>
          <DataTable columns={columns} rows={devices} rowKey={(d) => d.id} caption="Registered devices" testid="devices-table" empty="No registered device matches." />
          <Pager pageNumber={list.pageNumber} hasPrevious={list.hasPrevious} hasNext={list.hasNext} onPrevious={list.previous} onNext={list.next} testid="devices-pager" />
        </>
      )}
      {dialog?.kind === "create" && (
        <CreateDeviceDialog
          pending={action.pending}
          error={action.error}
          onClose={close}
          onCreate={(d) =>
            action.run(async () => {
              const r = await app.clients.devices.createDevice({ id: d.id, type: d.type, labels: d.labels, disabled: d.disabled });
              if (r.credentials) setSecret({ deviceId: d.id, credentials: r.credentials });
              done(`${d.id} registered.`);
            })
          }
        />
      )}
      {dialog?.kind === "edit" && (
        <EditDeviceDialog
          device={dialog.device}
          pending={action.pending}
          error={action.error}
          onClose={close}
          onSave={(labels, type) =>
            action.run(async () => {
              const { setLabels, removeLabels } = labelChanges(dialog.device.labels, labels);
              await app.clients.devices.updateDevice({ id: dialog.device.id, setLabels, removeLabels, ...(type !== dialog.device.type ? { type } : {}), expectedRevision: dialog.device.revision });
              done(`${dialog.device.id} updated.`);
            })
          }
        />
      )}
      {dialog?.kind === "import" && <ImportDevicesDialog pending={action.pending} progress={progress} error={action.error} onClose={close} onImport={importRows} />}
      {dialog && dialog.kind !== "create" && dialog.kind !== "edit" && dialog.kind !== "import" && (
        <ConfirmDialog
          title={dialog.kind === "enable" ? `${dialog.enabled ? "Enable" : "Disable"} ${dialog.device.id}?` : dialog.kind === "rotate" ? `New credentials for ${dialog.device.id}?` : `Delete ${dialog.device.id}?`}
          confirmLabel={dialog.kind === "enable" ? (dialog.enabled ? "Enable" : "Disable") : dialog.kind === "rotate" ? "Rotate" : "Delete"}
          danger={dialog.kind !== "enable" || !dialog.enabled}
          pending={action.pending}
          error={action.error}
          testid="device-confirm"
          {...(dialog.kind === "enable" ? { reason: { label: "Reason (recorded in the audit log)" } } : {})}
          onConfirm={(reason) => confirm(dialog, reason)}
          onClose={close}
        >
          <p>
            {dialog.kind === "enable"
              ? dialog.enabled
                ? "The broker accepts the device's credentials again."
                : "The broker drops the device's connection and refuses it; in strict registry mode its readings are dead-lettered."
              : dialog.kind === "rotate"
                ? "Shoal generates a new password and shows it once; the device must be given it."
                : "The device and its broker account are removed. Its stored readings stay."}
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
