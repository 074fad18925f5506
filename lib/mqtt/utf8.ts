/**
 * UTF-8 without TextEncoder/TextDecoder (Espruino has neither). Lengths are byte counts, never
 * `string.length` (STYLE.md rule 6). JS strings are taken as UTF-16 code units; a lone surrogate is encoded as
 * U+FFFD, as TextEncoder does, so what is written is always well-formed [MQTT-1.5.3-1].
 */
import { Err } from "../errors";

/** UTF-8 byte length of a JS string. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n++;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && isLow(s.charCodeAt(i + 1))) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c < 0xe000;
}

/** Writes `s` as UTF-8 at `b[p]`; returns the position after it. The caller has checked the room. */
export function writeUtf8(b: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) { b[p++] = c; continue; }
    if (c < 0x800) { b[p++] = 0xc0 | c >> 6; }
    else {
      if (c >= 0xd800 && c < 0xe000) {
        const d = s.charCodeAt(i + 1);
        if (c < 0xdc00 && isLow(d)) {
          c = 0x10000 + ((c & 0x3ff) << 10) + (d & 0x3ff); i++;
          b[p++] = 0xf0 | c >> 18; b[p++] = 0x80 | c >> 12 & 63;
        } else c = 0xfffd;
      }
      if (c < 0x10000) b[p++] = 0xe0 | c >> 12;
      b[p++] = 0x80 | c >> 6 & 63;
    }
    b[p++] = 0x80 | c & 63;
  }
  return p;
}

const MIN = [0, 0x80, 0x800, 0x10000];

/**
 * Checks `b[s..e)` is well-formed UTF-8 with no surrogate code points [MQTT-1.5.3-1] and no U+0000
 * [MQTT-1.5.3-2]. Returns `Err.Ok` or `Err.Utf8`. Allocates nothing.
 */
export function checkUtf8(b: Uint8Array, s: number, e: number): Err {
  while (s < e) {
    const c = b[s++]!;
    if (c < 0x80) { if (!c) return Err.Utf8; continue; }
    const n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    if (!n || s + n > e) return Err.Utf8;
    let cp = c & 0x3f >> n;
    for (let k = 0; k < n; k++) {
      const d = b[s++]!;
      if ((d & 0xc0) != 0x80) return Err.Utf8;
      cp = cp << 6 | d & 63;
    }
    if (cp < MIN[n]! || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return Err.Utf8;
  }
  return Err.Ok;
}

/**
 * Decodes UTF-8 bytes (already checked, or trusted) into a JS string. Invalid sequences become U+FFFD.
 * For topics and short text: on Espruino string building is not linear, so large payloads should stay bytes.
 */
export function utf8Decode(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length;) {
    const c = b[i++]!;
    let n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    let cp = n ? c & 0x3f >> n : c < 0x80 ? c : 0xfffd;
    for (; n > 0 && i < b.length; n--) cp = cp << 6 | b[i++]! & 63;
    if (cp > 0xffff) { cp -= 0x10000; s += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff)); }
    else s += String.fromCharCode(cp);
  }
  return s;
}
