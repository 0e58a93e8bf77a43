/** 32-bit FNV-1a over the UTF-16 code units of `s` (ids are ASCII by validation). Partition assignments are persisted: never change it. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
