/**
 * UTF-8 without TextEncoder/TextDecoder (Espruino has neither). Lengths are byte counts, never
 * `string.length` (STYLE.md rule 6). JS strings are taken as UTF-16 code units; a lone surrogate is encoded as
 * U+FFFD, as TextEncoder does, so what is written is always well-formed [MQTT-1.5.3-1]. Espruino builds with
 * Unicode strings (the Linux build; not the ESP32/ESP8266 firmware) hand out a whole code point from
 * `charCodeAt`, over 0xFFFF for "\uD83D\uDE00": that is encoded as the pair would be.
 */
import { Err } from "../errors";

/**
 * Any character that is not ASCII. Espruino's RegExp handles this class correctly (checked on 2v29, 64-bit and
 * ESP8266-shaped builds; it gets longer patterns wrong), and one native test costs about what one turn of a JS
 * loop costs there (25,000 instructions against about 45,000 per character).
 */
const NON_ASCII = /[^\x00-\x7f]/;

/** UTF-8 byte length of a JS string. */
export function utf8Length(s: string): number {
  if (!NON_ASCII.test(s)) return s.length; // the common case, without a loop
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n++;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && isLow(s.charCodeAt(i + 1))) { n += 4; i++; }
    else n += c > 0xffff ? 4 : 3;
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
        if (c < 0xdc00 && isLow(d)) { c = 0x10000 + ((c & 0x3ff) << 10) + (d & 0x3ff); i++; }
        else c = 0xfffd;
      }
      if (c > 0xffff) { b[p++] = 0xf0 | c >> 18; b[p++] = 0x80 | c >> 12 & 63; }
      else b[p++] = 0xe0 | c >> 12;
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
    // lead bytes 0xf8..0xff start no UTF-8 sequence (RFC 3629 §3); 0xf9..0xfc would decode in range
    const n = c >= 0xf8 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
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

let DP = 0; // utf8Decode's cursor (module state, as in wire.ts: no allocation, used synchronously)

/**
 * The code point of the sequence at `b[DP]` led by `c` with `n` continuation bytes, advancing DP past it; -1
 * when it is ill-formed (overlong, surrogate, over U+10FFFF, truncated), with DP left at the offending byte.
 */
function sequence(b: Uint8Array, c: number, n: number): number {
  let cp = c & 0x3f >> n;
  let lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
  let hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
  for (let k = 0; k < n; k++) {
    const d = DP < b.length ? b[DP]! : -1;
    if (d < lo || d > hi) return -1;
    cp = cp << 6 | d & 63;
    DP++; lo = 0x80; hi = 0xbf;
  }
  return cp;
}

/**
 * Decodes UTF-8 bytes (already checked, or trusted) into a JS string. Each ill-formed sequence becomes one
 * U+FFFD, as TextDecoder does (WHATWG Encoding, "maximal subpart"), so the result never holds a lone surrogate.
 * For topics and short text: on Espruino string building is not linear, so large payloads should stay bytes.
 */
export function utf8Decode(b: Uint8Array): string {
  let s = "";
  DP = 0;
  while (DP < b.length) {
    const c = b[DP++]!;
    const n = c >= 0xf5 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : 0;
    const cp = c < 0x80 ? c : n ? sequence(b, c, n) : -1;
    if (cp > 0xffff) s += String.fromCharCode(0xd7c0 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    else s += String.fromCharCode(cp < 0 ? 0xfffd : cp);
  }
  return s;
}

/**
 * Decodes UTF-8 known to be well-formed: checked by checkUtf8, as every topic name the decoder hands out is
 * [MQTT-3.3.2-1]. The same string as utf8Decode gives for such bytes, in less code (the client's bundle carries
 * this one); anything else must go through utf8Decode.
 */
export function utf8Text(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length;) {
    let c = b[i++]!;
    if (c > 0x7f) {
      const n = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
      c &= 0x3f >> n;
      for (let k = 0; k < n; k++) c = c << 6 | b[i++]! & 63;
    }
    s += c > 0xffff ? String.fromCharCode(0xd7c0 + (c >> 10), 0xdc00 + (c & 0x3ff)) : String.fromCharCode(c);
  }
  return s;
}
