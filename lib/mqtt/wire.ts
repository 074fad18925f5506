/**
 * The low-level field reader and writer that every packet family shares. Both keep their cursor in module
 * state, so the per-packet code is short and allocates nothing; they are used synchronously, one packet at a
 * time (JS is single-threaded, and nothing here calls out).
 */
import { Err } from "../errors";
import { Bytes, MAX_REMAINING } from "./types";
import { checkUtf8, utf8Length, writeUtf8 } from "./utf8";

// ---------------------------------------------------------------- writing

let W: Uint8Array;
let WP = 0;

/** Byte length of a string (as UTF-8) or of bytes. */
export function byteLength(s: Bytes): number {
  return typeof s == "string" ? utf8Length(s) : s.length;
}

/**
 * Size of a length-prefixed string field [MQTT-1.5.3]. A string over 65,535 bytes yields a size larger than
 * any packet can be, so the packet's size check (`start`) refuses it with `Err.TooLarge`.
 */
export function strSize(s: Bytes): number {
  const n = byteLength(s);
  return n > 65535 ? MAX_REMAINING + 1 : n + 2;
}

/** Bytes the remaining-length field takes for `n` [MQTT-2.2.3]. */
export function varSize(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/** Whole packet size for a remaining length, or Err.TooLarge past the 4-byte limit. */
export function packetSize(rl: number): number {
  return rl > MAX_REMAINING ? Err.TooLarge : 1 + varSize(rl) + rl;
}

/**
 * Starts a packet: checks it fits in `b` from `off` (else Err.NoMemory, nothing written) and writes the fixed
 * header [MQTT-2.2]. Returns the total packet size, or an error.
 */
export function start(b: Uint8Array, off: number, byte1: number, rl: number): number {
  const n = packetSize(rl);
  if (n < 0) return n;
  if (off < 0 || off + n > b.length) return Err.NoMemory;
  W = b; WP = off;
  W[WP++] = byte1;
  do {
    let d = rl & 127;
    rl >>>= 7;
    if (rl) d |= 128;
    W[WP++] = d;
  } while (rl);
  return n;
}

export function w8(v: number): void {
  W[WP++] = v;
}

export function w16(v: number): void {
  W[WP++] = v >> 8;
  W[WP++] = v & 255;
}

/** Writes bytes or a string (UTF-8), without a length prefix. */
export function wRaw(s: Bytes): void {
  if (typeof s == "string") WP = writeUtf8(W, WP, s);
  else { W.set(s, WP); WP += s.length; }
}

/**
 * Writes a length-prefixed string field [MQTT-1.5.3]: the bytes first, then their count into the prefix, so a
 * string is walked once here (its size was checked by `start`).
 */
export function wStr(s: Bytes): void {
  const p = WP;
  WP += 2;
  wRaw(s);
  const n = WP - p - 2;
  W[p] = n >> 8;
  W[p + 1] = n & 255;
}

// ---------------------------------------------------------------- reading

let R: Uint8Array;
let RP = 0;
let RE = 0;

/** Starts reading the body `b[s..e)`. */
export function rStart(b: Uint8Array, s: number, e: number): void {
  R = b; RP = s; RE = e;
}

/** Bytes left in the body. */
export function rLeft(): number {
  return RE - RP;
}

/** One byte, or -1 when the body is exhausted. */
export function r8(): number {
  return RP < RE ? R[RP++]! : -1;
}

/** A 16-bit big-endian number, or -1 when fewer than 2 bytes remain [MQTT-1.5.2]. */
export function r16(): number {
  if (RE - RP < 2) return -1;
  RP += 2;
  return R[RP - 2]! << 8 | R[RP - 1]!;
}

/** The rest of the body as a view. */
export function rRest(): Uint8Array {
  const v = R.subarray(RP, RE);
  RP = RE;
  return v;
}

/**
 * A length-prefixed field as a view [MQTT-1.5.3], or an error: Err.Length when it runs past the body,
 * Err.Utf8 when `utf8` is set and it is not well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2].
 */
export function rStr(utf8: boolean): Uint8Array | Err {
  const n = r16();
  if (n < 0 || RP + n > RE) return Err.Length;
  RP += n;
  if (utf8 && checkUtf8(R, RP - n, RP)) return Err.Utf8;
  return R.subarray(RP - n, RP);
}

/** A packet identifier: Err.Length when missing, Err.PacketId when 0 [MQTT-2.3.1-1]. */
export function rId(): number {
  const id = r16();
  return id < 0 ? Err.Length : id ? id : Err.PacketId;
}
