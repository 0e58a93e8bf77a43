import type { DeviceCredentials } from "../../gen/shoal/v1/device_pb.js";

/**
 * A device's new password, shown this once (the registry keeps only a salted hash): the operator
 * copies it now or rotates again later. Dismissing it forgets it.
 */
export function SecretOnce({ deviceId, credentials, onDismiss }: { readonly deviceId: string; readonly credentials: DeviceCredentials; readonly onDismiss: () => void }) {
  return (
    <div class="banner banner-info" role="alert" data-testid="device-secret">
      <div class="banner-text">
      <p>
        <strong>Copy the password of {deviceId} now.</strong> It is shown only this once: Shoal keeps only a hash of it. If it is lost, rotate the credentials.
      </p>
      <dl class="facts">
        <div class="fact">
          <dt>MQTT username</dt>
          <dd>
            <code data-testid="device-secret-username">{credentials.username}</code>
          </dd>
        </div>
        <div class="fact">
          <dt>Password</dt>
          <dd>
            <code data-testid="device-secret-password">{credentials.password}</code>{" "}
            <button type="button" class="btn btn-small" data-testid="device-secret-copy" onClick={() => void navigator.clipboard?.writeText(credentials.password).catch(() => undefined)}>
              Copy
            </button>
          </dd>
        </div>
      </dl>
      </div>
      <button type="button" class="btn btn-small" data-testid="device-secret-dismiss" onClick={onDismiss}>
        I have copied it
      </button>
    </div>
  );
}
