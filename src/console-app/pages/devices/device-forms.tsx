import { useState } from "preact/hooks";
import type { RegisteredDevice } from "../../../gen/shoal/v1/device_pb.js";
import type { CallError } from "../../api/errors.js";
import { ConfirmDialog } from "../../components/confirm-dialog.js";
import type { Parsed } from "../../lib/registry-model.js";
import { formatLabels, parseDeviceId, parseLabels } from "../../lib/registry-model.js";

/** What the create form sends (CreateDeviceRequest's fields). */
export interface NewDevice {
  readonly id: string;
  readonly type: string;
  readonly labels: Record<string, string>;
  readonly disabled: boolean;
}

/** A text field of a dialog with its error beside it. */
function Field(props: { readonly label: string; readonly value: string; readonly onInput: (v: string) => void; readonly error?: string; readonly testid: string; readonly placeholder?: string; readonly autofocus?: boolean }) {
  const id = `${props.testid}-input`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input id={id} class="input" value={props.value} placeholder={props.placeholder} aria-invalid={props.error ? "true" : undefined} data-testid={props.testid} {...(props.autofocus ? { "data-autofocus": true } : {})} onInput={(e) => props.onInput(e.currentTarget.value)} />
      {props.error && (
        <span class="warn-text" data-testid={`${props.testid}-error`}>
          {props.error}
        </span>
      )}
    </div>
  );
}

const errorOf = <T,>(p: Parsed<T>, touched: boolean) => (touched && !p.ok ? p.error : undefined);

/** Register a device: id, type, labels, enabled; the answer's password is shown by the page, once. */
export function CreateDeviceDialog(props: { readonly onCreate: (d: NewDevice) => Promise<boolean>; readonly onClose: () => void; readonly pending: boolean; readonly error: CallError | undefined }) {
  const [id, setId] = useState("");
  const [type, setType] = useState("");
  const [labels, setLabels] = useState("");
  const [disabled, setDisabled] = useState(false);
  const [touched, setTouched] = useState(false);
  const pid = parseDeviceId(id);
  const plabels = parseLabels(labels);
  return (
    <ConfirmDialog
      title="Register a device"
      confirmLabel="Create"
      testid="device-create-dialog"
      pending={props.pending}
      error={props.error}
      onClose={props.onClose}
      onConfirm={async () => {
        setTouched(true);
        if (!pid.ok || !plabels.ok) return false;
        return props.onCreate({ id: pid.value, type: type.trim(), labels: plabels.value, disabled });
      }}
    >
      <p>Shoal generates the device's MQTT password and shows it once.</p>
      <Field label="Device id" value={id} onInput={setId} error={errorOf(pid, touched || id !== "")} testid="device-create-id" placeholder="e.g. boiler-17" autofocus />
      <Field label="Type" value={type} onInput={setType} testid="device-create-type" placeholder="e.g. thermostat" />
      <Field label="Labels" value={labels} onInput={setLabels} error={errorOf(plabels, true)} testid="device-create-labels" placeholder="site=berlin, floor=2" />
      <label class="check">
        <input type="checkbox" checked={disabled} data-testid="device-create-disabled" onChange={(e) => setDisabled(e.currentTarget.checked)} /> Create it disabled
      </label>
    </ConfirmDialog>
  );
}

/** Edit a device's labels and type (UpdateDevice with the record's revision, so a concurrent change is not overwritten). */
export function EditDeviceDialog(props: { readonly device: RegisteredDevice; readonly onSave: (labels: Record<string, string>, type: string) => Promise<boolean>; readonly onClose: () => void; readonly pending: boolean; readonly error: CallError | undefined }) {
  const [labels, setLabels] = useState(formatLabels(props.device.labels));
  const [type, setType] = useState(props.device.type);
  const plabels = parseLabels(labels);
  return (
    <ConfirmDialog
      title={`Edit ${props.device.id}`}
      confirmLabel="Save"
      testid="device-edit-dialog"
      pending={props.pending}
      error={props.error}
      onClose={props.onClose}
      onConfirm={async () => (plabels.ok ? props.onSave(plabels.value, type.trim()) : false)}
    >
      <Field label="Type" value={type} onInput={setType} testid="device-edit-type" />
      <Field label="Labels" value={labels} onInput={setLabels} error={errorOf(plabels, true)} testid="device-edit-labels" autofocus />
    </ConfirmDialog>
  );
}
