/**
 * SUBSCRIBE [MQTT-3.8], SUBACK [MQTT-3.9], UNSUBSCRIBE [MQTT-3.10], UNSUBACK [MQTT-3.11] at protocol level 5:
 * properties after the packet identifier, Subscription Options instead of a QoS byte, reason codes in the
 * acknowledgements; shared subscription filters `$share/NAME/FILTER` checked as §4.8.2 says.
 */
import { Err } from "../errors";
import { Bytes, T } from "../mqtt/types";
import { checkFilter } from "../mqtt/topic";
import { packetSize, r8, rId, rLeft, rRest, rStart, rStr, start, strSize, varSize, w16, w8, wStr } from "../mqtt/wire";
import { propsLength, propsOf, readProps, writeProps } from "./props";
import { reasonValid } from "./reason";
import { In, Packet5, Props } from "./types";

function filtersLength(filters: Bytes[], perFilter: number, pl: number): number {
  let rl = 2 + varSize(pl) + pl;
  for (let i = 0; i < filters.length; i++) rl += strSize(filters[i]!) + perFilter;
  return rl;
}

/** Size of a level-5 SUBSCRIBE with these filters and properties, or an Err. */
export function subscribe5Size(filters: Bytes[], props?: Props): number {
  const pl = propsLength(props, In.SUBSCRIBE);
  return pl < 0 ? pl : packetSize(filtersLength(filters, 1, pl));
}

/** Size of a level-5 UNSUBSCRIBE with these filters and properties, or an Err. */
export function unsubscribe5Size(filters: Bytes[], props?: Props): number {
  const pl = propsLength(props, In.UNSUBSCRIBE);
  return pl < 0 ? pl : packetSize(filtersLength(filters, 0, pl));
}

/**
 * A Subscription Options byte (§3.8.3.1): Err.Qos for QoS 3 or not a number, Err.ReservedFlag for bits 6-7
 * [MQTT-3.8.3-5], Err.Range for Retain Handling 3 (a Protocol Error), else Err.Ok.
 */
export function checkOpts(o: number): number {
  if (!(o >= 0 && o < 256) || (o & 3) == 3) return Err.Qos;
  if (o & 0xc0) return Err.ReservedFlag;
  return (o >> 4 & 3) == 3 ? Err.Range : Err.Ok;
}

function encodeFilters(b: Uint8Array, off: number, t: T, id: number, filters: Bytes[], opts: number[] | null, props?: Props): number {
  if (!filters.length) return Err.NoFilters;
  if (!(id > 0 && id < 65536)) return Err.PacketId;
  for (let i = 0; opts && i < filters.length; i++) {
    const c = checkOpts(opts[i]!);
    if (c) return c;
  }
  const pl = propsLength(props, 1 << t);
  if (pl < 0) return pl;
  const n = start(b, off, t << 4 | 2, filtersLength(filters, opts ? 1 : 0, pl));
  if (n < 0) return n;
  w16(id);
  writeProps(props, pl);
  for (let i = 0; i < filters.length; i++) {
    wStr(filters[i]!);
    if (opts) w8(opts[i]!);
  }
  return n;
}

/**
 * Writes a level-5 SUBSCRIBE (fixed flags 0010 [MQTT-3.8.1-1]) asking for `filters[i]` with Subscription
 * Options `opts[i]` (QoS | Opt.NO_LOCAL | Opt.RETAIN_AS_PUBLISHED | retain handling << 4). Returns its size,
 * or Err.NoFilters [MQTT-3.8.3-2], Err.PacketId, an options error (checkOpts), a property error, Err.NoMemory,
 * Err.TooLarge. Filters are written as given: the client checks them before.
 */
export function encodeSubscribe5(b: Uint8Array, off: number, id: number, filters: Bytes[], opts: number[], props?: Props): number {
  return encodeFilters(b, off, T.SUBSCRIBE, id, filters, opts, props);
}

/** Writes a level-5 UNSUBSCRIBE (fixed flags 0010 [MQTT-3.10.1-1]); errors as encodeSubscribe5 [MQTT-3.10.3-2]. */
export function encodeUnsubscribe5(b: Uint8Array, off: number, id: number, filters: Bytes[], props?: Props): number {
  return encodeFilters(b, off, T.UNSUBSCRIBE, id, filters, null, props);
}

function encodeCodes(b: Uint8Array, off: number, t: T, id: number, codes: ArrayLike<number>, props?: Props): number {
  if (!codes.length) return Err.NoFilters;
  if (!(id > 0 && id < 65536)) return Err.PacketId;
  for (let i = 0; i < codes.length; i++) if (!reasonValid(t, codes[i]!)) return Err.ReturnCode;
  const pl = propsLength(props, 1 << t);
  if (pl < 0) return pl;
  const n = start(b, off, t << 4, 2 + varSize(pl) + pl + codes.length);
  if (n < 0) return n;
  w16(id);
  writeProps(props, pl);
  for (let i = 0; i < codes.length; i++) w8(codes[i]!);
  return n;
}

/** Size of a level-5 SUBACK or UNSUBACK with `count` codes and these properties, or an Err. */
export function codes5Size(t: T, count: number, props?: Props): number {
  const pl = propsLength(props, 1 << t);
  return pl < 0 ? pl : packetSize(2 + varSize(pl) + pl + count);
}

/** Writes a level-5 SUBACK: one Subscribe Reason Code per filter [MQTT-3.9.3-2] (else Err.ReturnCode). */
export function encodeSuback5(b: Uint8Array, off: number, id: number, codes: ArrayLike<number>, props?: Props): number {
  return encodeCodes(b, off, T.SUBACK, id, codes, props);
}

/** Writes a level-5 UNSUBACK: one Unsubscribe Reason Code per filter [MQTT-3.11.3-2] (else Err.ReturnCode). */
export function encodeUnsuback5(b: Uint8Array, off: number, id: number, codes: ArrayLike<number>, props?: Props): number {
  return encodeCodes(b, off, T.UNSUBACK, id, codes, props);
}

/** "$share/" */
const SHARE = [36, 115, 104, 97, 114, 101, 47];

/** Whether `f` is a shared subscription's filter: it starts with "$share/" (§4.8.2). */
export function isShared(f: Uint8Array): boolean {
  if (f.length < 7) return false;
  for (let i = 0; i < 7; i++) if (f[i] != SHARE[i]) return false;
  return true;
}

/**
 * A topic filter [MQTT-3.8.3-1] [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1]; when shared, a ShareName of at
 * least one character without "+" or "#" [MQTT-4.8.2-1] [MQTT-4.8.2-2] (Err.EmptyTopic, Err.FilterWildcard),
 * then "/" and a filter.
 */
function checkFilter5(f: Uint8Array): number {
  const c = checkFilter(f, 0, f.length);
  if (c || !isShared(f)) return c;
  let i = 7;
  for (; i < f.length && f[i] != 47; i++) if (f[i] == 43 || f[i] == 35) return Err.FilterWildcard;
  return i == 7 || i + 1 >= f.length ? Err.EmptyTopic : Err.Ok;
}

/** The filters of a SUBSCRIBE (with an options byte each) or an UNSUBSCRIBE, after the properties. */
function readFilters(p: Packet5, withOpts: boolean): number {
  const fs = p.filters || (p.filters = []);
  const qs = p.qoss || (p.qoss = []);
  const os = p.opts || (p.opts = []);
  // not `fs.length = 0`: assigning an array's length throws on Espruino ("Assignment to a constant")
  while (fs.length) fs.pop();
  while (qs.length) qs.pop();
  while (os.length) os.pop();
  while (rLeft()) {
    const f = rStr(true);
    if (typeof f == "number") return f;
    const c = checkFilter5(f);
    if (c) return c;
    fs.push(f);
    if (!withOpts) continue;
    const o = r8();
    if (o < 0) return Err.Length;
    const e = checkOpts(o);
    if (e) return e;
    if (o & 4 && isShared(f)) return Err.Protocol; // No Local on a shared subscription [MQTT-3.8.3-4]
    qs.push(o & 3);
    os.push(o);
  }
  return fs.length ? Err.Ok : Err.NoFilters;
}

function parseFilters(p: Packet5, b: Uint8Array, s: number, e: number, withOpts: boolean): number {
  rStart(b, s, e);
  const id = rId();
  if (id < 0) return id;
  const r = readProps(propsOf(p), 1 << p.type);
  if (r) return r;
  p.id = id;
  return readFilters(p, withOpts);
}

/**
 * Level-5 SUBSCRIBE body: packet identifier [MQTT-2.2.1-3]; properties (props.ts; one Subscription Identifier
 * at most); at least one filter [MQTT-3.8.3-2], each UTF-8 and well formed (checkFilter5), each with a
 * Subscription Options byte: reserved bits 0 [MQTT-3.8.3-5], QoS not 3 and Retain Handling not 3 (§3.8.3.1),
 * No Local not on a shared subscription [MQTT-3.8.3-4].
 */
export function parseSubscribe5(p: Packet5, b: Uint8Array, s: number, e: number): number {
  return parseFilters(p, b, s, e, true);
}

/** Level-5 UNSUBSCRIBE body: as SUBSCRIBE without options bytes [MQTT-3.10.3-1] [MQTT-3.10.3-2]. */
export function parseUnsubscribe5(p: Packet5, b: Uint8Array, s: number, e: number): number {
  return parseFilters(p, b, s, e, false);
}

/**
 * Level-5 SUBACK and UNSUBACK body: packet identifier, properties, then at least one reason code, each valid
 * for the type [MQTT-3.9.3-2] [MQTT-3.11.3-2].
 */
export function parseCodes5(p: Packet5, b: Uint8Array, s: number, e: number): number {
  rStart(b, s, e);
  const id = rId();
  if (id < 0) return id;
  const r = readProps(propsOf(p), 1 << p.type);
  if (r) return r;
  const codes = rRest();
  if (!codes.length) return Err.NoFilters;
  for (let i = 0; i < codes.length; i++) if (!reasonValid(p.type, codes[i]!)) return Err.ReturnCode;
  p.id = id;
  p.codes = codes;
  return Err.Ok;
}
