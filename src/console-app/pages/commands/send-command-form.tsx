import { useEffect, useState } from "preact/hooks";
import type { DeviceCommand } from "../../../gen/shoal/v1/command_pb.js";
import { useApp } from "../../app-context.js";
import { ErrorBanner } from "../../components/error-banner.js";
import { useAction } from "../../hooks/use-call.js";
import { parseCommandName, parseDeviceId, parsePayload, parseTtl } from "../../lib/registry-model.js";

/**
 * Send a command to a device (SendCommand): device, name, JSON payload, TTL, each checked before
 * the request. Shown to callers who may send; `onSent` gets the queued command (status pending).
 */
export function SendCommandForm({ device, onSent }: { readonly device: string; readonly onSent: (c: DeviceCommand) => void }) {
  const app = useApp();
  const [deviceId, setDeviceId] = useState(device);
  // The device the list below shows is the one to send to, unless typed over.
  useEffect(() => setDeviceId(device), [device]);
  const [name, setName] = useState("");
  const [payload, setPayload] = useState("{}");
  const [ttl, setTtl] = useState("");
  const [touched, setTouched] = useState(false);
  const action = useAction();
  const pid = parseDeviceId(deviceId);
  const pname = parseCommandName(name);
  const ppayload = parsePayload(payload);
  const pttl = parseTtl(ttl);
  const err = (p: { ok: boolean; error?: string }, testid: string) =>
    touched && !p.ok ? (
      <span class="warn-text" data-testid={testid}>
        {p.error}
      </span>
    ) : null;
  return (
    <form
      class="section"
      aria-label="Send a command"
      data-testid="command-send-form"
      onSubmit={(e) => {
        e.preventDefault();
        setTouched(true);
        if (!pid.ok || !pname.ok || !ppayload.ok || !pttl.ok) return;
        void action.run(async () => {
          const r = await app.clients.commands.sendCommand({ deviceId: pid.value, name: pname.value, payloadJson: ppayload.value, ttlMs: BigInt(pttl.value) });
          if (r.command) onSent(r.command);
          setTouched(false);
        });
      }}
    >
      <h2>Send a command</h2>
      <div class="form-row">
        <label class="field-inline">
          Device <input class="input" value={deviceId} data-testid="command-device" onInput={(e) => setDeviceId(e.currentTarget.value)} />
        </label>
        {err(pid, "command-device-error")}
        <label class="field-inline">
          Command <input class="input" value={name} placeholder="reboot" data-testid="command-name" onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        {err(pname, "command-name-error")}
        <label class="field-inline">
          TTL <input class="input" value={ttl} placeholder="default" size={8} data-testid="command-ttl" onInput={(e) => setTtl(e.currentTarget.value)} />
        </label>
        {err(pttl, "command-ttl-error")}
      </div>
      <div class="field">
        <label for="command-payload">Payload (a JSON object)</label>
        <textarea id="command-payload" class="input mono" rows={3} value={payload} data-testid="command-payload" onInput={(e) => setPayload(e.currentTarget.value)} />
        {err(ppayload, "command-payload-error")}
      </div>
      <ErrorBanner error={action.error} title="The command was not queued" testid="command-send-error" />
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={action.pending} data-testid="command-send">
          {action.pending ? "Sending…" : "Send"}
        </button>
      </div>
    </form>
  );
}
