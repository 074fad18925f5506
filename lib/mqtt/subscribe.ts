/** SUBSCRIBE [MQTT-3.8], SUBACK [MQTT-3.9], UNSUBSCRIBE [MQTT-3.10]; UNSUBACK is in ack.ts. */
import { Err } from "../errors";
import { Bytes, Packet, T } from "./types";
import { packetSize, r8, rId, rLeft, rRest, rStart, rStr, start, strSize, w16, w8, wStr } from "./wire";
import { checkFilter } from "./topic";

function filtersLength(filters: Bytes[], perFilter: number): number {
  let rl = 2;
  for (let i = 0; i < filters.length; i++) rl += strSize(filters[i]!) + perFilter;
  return rl;
}

/** Size of a SUBSCRIBE with these filters, or Err.TooLarge. */
export function subscribeSize(filters: Bytes[]): number {
  return packetSize(filtersLength(filters, 1));
}

/**
 * Writes a SUBSCRIBE (fixed flags 0010 [MQTT-3.8.1-1]) asking for `filters[i]` at `qoss[i]`. Returns its
 * size, or Err.NoFilters (none) [MQTT-3.8.3-3], Err.Qos, Err.PacketId, Err.NoMemory, Err.TooLarge.
 * Filters are written as given: the client checks them before (checkFilter).
 */
export function encodeSubscribe(b: Uint8Array, off: number, id: number, filters: Bytes[], qoss: number[]): number {
  return encodeFilters(b, off, T.SUBSCRIBE, id, filters, qoss);
}

/** Size of an UNSUBSCRIBE with these filters, or Err.TooLarge. */
export function unsubscribeSize(filters: Bytes[]): number {
  return packetSize(filtersLength(filters, 0));
}

/** Writes an UNSUBSCRIBE (fixed flags 0010 [MQTT-3.10.1-1]); errors as encodeSubscribe [MQTT-3.10.3-2]. */
export function encodeUnsubscribe(b: Uint8Array, off: number, id: number, filters: Bytes[]): number {
  return encodeFilters(b, off, T.UNSUBSCRIBE, id, filters, null);
}

function encodeFilters(b: Uint8Array, off: number, t: T, id: number, filters: Bytes[], qoss: number[] | null): number {
  if (!filters.length) return Err.NoFilters;
  if (!(id > 0 && id < 65536)) return Err.PacketId;
  for (let i = 0; qoss && i < filters.length; i++) if (!(qoss[i]! >= 0 && qoss[i]! < 3)) return Err.Qos;
  const n = start(b, off, t << 4 | 2, filtersLength(filters, qoss ? 1 : 0));
  if (n < 0) return n;
  w16(id);
  for (let i = 0; i < filters.length; i++) {
    wStr(filters[i]!);
    if (qoss) w8(qoss[i]!);
  }
  return n;
}

/** Writes a SUBACK with one return code per filter: 0, 1, 2 or 0x80 [MQTT-3.9.3-2]. */
export function encodeSuback(b: Uint8Array, off: number, id: number, codes: ArrayLike<number>): number {
  if (!codes.length) return Err.NoFilters;
  if (!(id > 0 && id < 65536)) return Err.PacketId;
  for (let i = 0; i < codes.length; i++) if (!(codes[i]! >= 0 && codes[i]! < 3) && codes[i] !== 0x80) return Err.ReturnCode; // [MQTT-3.9.3-2]
  const n = start(b, off, T.SUBACK << 4, 2 + codes.length);
  if (n < 0) return n;
  w16(id);
  for (let i = 0; i < codes.length; i++) w8(codes[i]!);
  return n;
}

/**
 * SUBSCRIBE body: packet identifier [MQTT-2.3.1-1]; at least one filter [MQTT-3.8.3-3]; each filter UTF-8
 * [MQTT-3.8.3-1], not empty [MQTT-4.7.3-1], wildcards placed right [MQTT-4.7.1-2] [MQTT-4.7.1-3]; each
 * requested QoS byte 0..2 with its reserved bits 0 [MQTT-3.8.3-4].
 */
export function parseSubscribe(p: Packet, b: Uint8Array, s: number, e: number): number {
  return parseFilters(p, b, s, e, true);
}

/** UNSUBSCRIBE body: as SUBSCRIBE without QoS bytes [MQTT-3.10.3-1] [MQTT-3.10.3-2]. */
export function parseUnsubscribe(p: Packet, b: Uint8Array, s: number, e: number): number {
  return parseFilters(p, b, s, e, false);
}

function parseFilters(p: Packet, b: Uint8Array, s: number, e: number, withQos: boolean): number {
  rStart(b, s, e);
  const id = rId();
  if (id < 0) return id;
  const fs = p.filters || (p.filters = []);
  const qs = p.qoss || (p.qoss = []);
  // not `fs.length = 0`: assigning an array's length throws on Espruino ("Assignment to a constant")
  while (fs.length) fs.pop();
  while (qs.length) qs.pop();
  while (rLeft()) {
    const f = rStr(true);
    if (typeof f == "number") return f;
    const c = checkFilter(f, 0, f.length);
    if (c) return c;
    fs.push(f);
    if (!withQos) continue;
    const q = r8();
    if (q < 0) return Err.Length;
    if (q > 2) return Err.Qos;
    qs.push(q);
  }
  if (!fs.length) return Err.NoFilters;
  p.id = id;
  return Err.Ok;
}

/** SUBACK body: packet identifier, then at least one return code, each 0, 1, 2 or 0x80 [MQTT-3.9.3-2]. */
export function parseSuback(p: Packet, b: Uint8Array, s: number, e: number): number {
  rStart(b, s, e);
  const id = rId();
  if (id < 0) return id;
  const codes = rRest();
  if (!codes.length) return Err.NoFilters;
  for (let i = 0; i < codes.length; i++) if (codes[i]! > 2 && codes[i] != 0x80) return Err.ReturnCode;
  p.id = id;
  p.codes = codes;
  return Err.Ok;
}
