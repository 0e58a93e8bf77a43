/**
 * Passwords embedded in URLs (`nats://user:password@host`, also inside a comma list or a longer
 * text): found and masked in one linear pass. The one rule for the logger, the config redaction
 * and the audit log (a regular expression for it backtracks quadratically on long strings: a
 * 40,000-character value took over a second).
 */

/** Ends the authority part of a URL: whitespace, a path, or the userinfo's `@`. */
function isStop(c: number): boolean {
  return c === 0x2f /* / */ || c === 0x40 /* @ */ || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

/** A scheme character before `://` (`[a-z0-9+.-]`, either case). */
function isSchemeChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2e || c === 0x2d;
}

/** Each `[start, end)` of a non-empty password of a URL in `s`, in order. */
function passwords(s: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let i = s.indexOf("://");
  while (i >= 0) {
    const from = i + 3;
    let k = from;
    let colon = -1;
    if (i > 0 && isSchemeChar(s.charCodeAt(i - 1))) {
      while (k < s.length && !isStop(s.charCodeAt(k))) {
        if (colon < 0 && s.charCodeAt(k) === 0x3a /* : */) colon = k;
        k++;
      }
      if (k < s.length && s.charCodeAt(k) === 0x40 && colon >= 0 && k > colon + 1) out.push([colon + 1, k]);
    }
    // A scan stops at the next "://" at the latest (its "/"): scans never overlap, the pass is linear.
    i = s.indexOf("://", from);
  }
  return out;
}

/** Whether `s` holds a URL with a password. */
export function hasUrlCredentials(s: string): boolean {
  return s.includes("@") && passwords(s).length > 0;
}

/** `s` with the password of every URL in it replaced by `mask` (user names stay). */
export function redactUrlPasswords(s: string, mask: string): string {
  if (!s.includes("@")) return s;
  const found = passwords(s);
  if (found.length === 0) return s;
  let out = "";
  let at = 0;
  for (const [a, b] of found) {
    out += s.slice(at, a) + mask;
    at = b;
  }
  return out + s.slice(at);
}
