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

/**
 * The passwords of many new devices (a CSV import), shown this once like {@link SecretOnce}: a
 * table of username and password per device and a download of them as CSV (id,username,password,
 * as `shoal devices import` writes it); the file is made in the browser, nothing is fetched.
 * Dismissing it forgets them.
 */
export function SecretsOnce({ secrets, csv, onDismiss }: { readonly secrets: ReadonlyArray<{ readonly id: string; readonly password: string }>; readonly csv: string; readonly onDismiss: () => void }) {
  return (
    <div class="banner banner-info" role="alert" data-testid="device-secrets">
      <div class="banner-text">
        <p>
          <strong>Save the passwords of the {secrets.length} new device(s) now.</strong> They are shown only this once: Shoal keeps only hashes of them. A lost one needs a rotation.
        </p>
        <a class="btn btn-small btn-primary" href={`data:text/csv;charset=utf-8,${encodeURIComponent(csv)}`} download="device-credentials.csv" data-testid="device-secrets-download">
          Download as CSV
        </a>
        <table class="table">
          <caption class="visually-hidden">New device credentials</caption>
          <thead>
            <tr>
              <th scope="col">MQTT username</th>
              <th scope="col">Password</th>
            </tr>
          </thead>
          <tbody>
            {secrets.map((s) => (
              <tr key={s.id} data-testid="device-secrets-row" data-key={s.id}>
                <td>
                  <code>{s.id}</code>
                </td>
                <td>
                  <code data-testid="device-secrets-password">{s.password}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <button type="button" class="btn btn-small" data-testid="device-secrets-dismiss" onClick={onDismiss}>
        I have saved them
      </button>
    </div>
  );
}
