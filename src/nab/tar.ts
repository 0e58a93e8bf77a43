/** Minimal reader of (gzipped) ustar archives, enough for NAB's published results tarballs. */
import { gunzipSync } from "node:zlib";

/**
 * Returns the regular files of a tar archive (gunzipped first when it starts with the gzip magic),
 * keyed by path without a leading `./`.
 */
export function readTar(bytes: Uint8Array): Map<string, Uint8Array> {
  const buf = bytes[0] === 0x1f && bytes[1] === 0x8b ? new Uint8Array(gunzipSync(bytes)) : bytes;
  const out = new Map<string, Uint8Array>();
  const dec = new TextDecoder();
  const field = (off: number, len: number): string => {
    let end = off;
    while (end < off + len && buf[end] !== 0) end++;
    return dec.decode(buf.subarray(off, end));
  };
  let longName: string | undefined;
  let off = 0;
  while (off + 512 <= buf.length) {
    if (buf[off] === 0) break; // end-of-archive block
    let name = field(off, 100);
    const prefix = field(off + 345, 155);
    if (prefix.length > 0 && field(off + 257, 6).startsWith("ustar")) name = `${prefix}/${name}`;
    const size = parseInt(field(off + 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(buf[off + 156] ?? 48);
    const body = buf.subarray(off + 512, off + 512 + size);
    if (type === "L") longName = dec.decode(body).replace(/\0+$/, "");
    else {
      if (type === "0" || type === "\0") out.set((longName ?? name).replace(/^\.\//, ""), body);
      longName = undefined;
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
