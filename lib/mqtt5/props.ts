/**
 * MQTT 5 properties (§2.2.2) and the Variable Byte Integer (§1.5.5): the property table (identifier, data type,
 * the packets it may appear in: Table 2-4), the size of a property block, writing one, and reading one into
 * a reused record. Values are validated both ways with the same errors:
 *
 * - an unknown identifier, or one not valid for the packet (or the will): a Malformed Packet (§2.2.2.2),
 *   Err.ReservedFlag;
 * - a property that may not repeat, included twice: a Protocol Error (each property's section, e.g.
 *   §3.1.2.11.2), Err.Protocol; only User Property, and Subscription Identifier in a PUBLISH, repeat;
 * - a value outside what the spec allows: Payload Format Indicator and the other byte properties other than
 *   0 or 1 (§3.3.2.3.2, §3.1.2.11.6, §3.2.2.3.4, ...), Receive Maximum 0 (§3.1.2.11.3, §3.2.2.3.3), Maximum
 *   Packet Size 0 (§3.1.2.11.4), Topic Alias 0 [MQTT-3.3.2-8], Subscription Identifier 0 (§3.3.2.3.8): a
 *   Protocol Error, Err.Range;
 * - a Variable Byte Integer over 4 bytes (§1.5.5), Err.RemainingLength; a property length or value that runs
 *   past the packet, Err.Length; a string that is not well-formed UTF-8 [MQTT-1.5.4-1] [MQTT-1.5.4-2] or a
 *   pair with such a string [MQTT-1.5.7-1], Err.Utf8; a Response Topic with a wildcard [MQTT-3.3.2-14],
 *   Err.TopicWildcard.
 *
 * The reader fills the record's fields and two reused lists: no allocation per packet. Like wire.ts, it is
 * used synchronously, one packet at a time.
 */
import { Err } from "../errors";
import { Bytes } from "../mqtt/types";
import { checkTopic } from "../mqtt/topic";
import { r16, r8, rLeft, rStr, strSize, varSize, w16, w8, wStr } from "../mqtt/wire";
import { In, Packet5, ParsedProps, Props } from "./types";

// data types (§2.2.2.2); NZ: the value 0 is a Protocol Error. Const enums, so the tables below are literal
// numbers: a bundle that does not read properties drops them (a table naming module-level consts is kept)
const enum K {
  BYTE = 1,
  U16 = 2,
  U32 = 3,
  VBI = 4,
  STR = 5,
  BIN = 6,
  PAIR = 7,
  NZ = 8,
}

// (literal numbers: esbuild inlines a const enum member whose value is a literal; these are the In bits)
const enum W {
  PUB = 9, // In.PUBLISH | In.WILL
  ACKS = 240, // In.PUBACK | In.PUBREC | In.PUBREL | In.PUBCOMP
  CC = 6, // In.CONNECT | In.CONNACK
}

/** Property identifiers, ascending: the order the writer uses (any order is valid, §2.2.2.2). */
const IDS = [0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1c, 0x1f,
  0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a];

/** The Props field of each identifier. */
const NAMES = ["payloadFormat", "messageExpiry", "contentType", "responseTopic", "correlationData", "subIds",
  "sessionExpiry", "assignedClientId", "serverKeepAlive", "authMethod", "authData", "requestProblemInfo", "willDelay",
  "requestResponseInfo", "responseInfo", "serverReference", "reasonString", "receiveMax", "topicAliasMax",
  "topicAlias", "maxQos", "retainAvailable", "userProps", "maxPacketSize", "wildcardAvailable", "subIdAvailable",
  "sharedAvailable"];

/** Data type of each identifier (Table 2-4). */
const KIND = [K.BYTE, K.U32, K.STR, K.STR, K.BIN, K.VBI | K.NZ, K.U32, K.STR, K.U16, K.STR, K.BIN, K.BYTE, K.U32, K.BYTE, K.STR, K.STR, K.STR, K.U16 | K.NZ, K.U16,
  K.U16 | K.NZ, K.BYTE, K.BYTE, K.PAIR, K.U32 | K.NZ, K.BYTE, K.BYTE, K.BYTE];

/**
 * Where each identifier may appear (Table 2-4), with the direction bits: a PUBLISH to a server takes what any
 * PUBLISH takes but a Subscription Identifier [MQTT-3.3.4-6]; a DISCONNECT to a client, what any DISCONNECT
 * takes but a Session Expiry Interval [MQTT-3.14.2-2]. Made by a call marked pure, as AT below.
 */
function where(): number[] {
  const w = [W.PUB, W.PUB, W.PUB, W.PUB, W.PUB, In.PUBLISH | In.SUBSCRIBE, W.CC | In.DISCONNECT, In.CONNACK, In.CONNACK,
  W.CC | In.AUTH, W.CC | In.AUTH, In.CONNECT, In.WILL, In.CONNECT, In.CONNACK, In.CONNACK | In.DISCONNECT,
  In.CONNACK | W.ACKS | In.SUBACK | In.UNSUBACK | In.DISCONNECT | In.AUTH, W.CC, W.CC, In.PUBLISH, In.CONNACK, In.CONNACK,
  W.CC | W.PUB | W.ACKS | In.SUBSCRIBE | In.SUBACK | In.UNSUBSCRIBE | In.UNSUBACK | In.DISCONNECT | In.AUTH, W.CC, In.CONNACK,
  In.CONNACK, In.CONNACK];
  for (let i = 0; i < w.length; i++) {
    if (w[i]! & In.PUBLISH && i != 5) w[i] = w[i]! | In.PUBLISH_TO_SERVER; // (5: Subscription Identifier)
    if (w[i]! & In.DISCONNECT && i != 6) w[i] = w[i]! | In.DISCONNECT_TO_CLIENT; // (6: Session Expiry Interval)
  }
  return w;
}

const WHERE = /* @__PURE__ */ where();

const COUNT = 27;
const SUBIDS = 5;
const RESPONSE_TOPIC = 3;
const USER = 22;

/**
 * Table row of an identifier + 1 (0: unknown identifier). Made by a call marked pure, so that a bundle that
 * imports this module without reading properties (the 3.1.1 device broker, whose level-5 paths the build
 * removes) drops it.
 */
function rows(): Uint8Array {
  const at = new Uint8Array(43);
  for (let i = 0; i < COUNT; i++) at[IDS[i]!] = i + 1;
  return at;
}

const AT = /* @__PURE__ */ rows();

/** Largest value a Variable Byte Integer holds (§1.5.5): 268,435,455. */
export const MAX_VBI = 268435455;

/**
 * Whether an optional field is given: not `v != null`, which on Espruino first turns a Uint8Array into a
 * string (see lib/mqtt/connect.ts).
 */
export function given(v: unknown): boolean {
  return typeof v != "undefined" && v !== null;
}

// ---------------------------------------------------------------- Variable Byte Integer, 4-byte integer

/** Writes a Variable Byte Integer (§1.5.5), in the fewest bytes [MQTT-1.5.5-1]. */
export function wVar(v: number): void {
  do {
    let d = v & 127;
    v >>>= 7;
    if (v) d |= 128;
    w8(d);
  } while (v);
}

/** Writes a Four Byte Integer (§1.5.3), big-endian. */
export function w32(v: number): void {
  w16(v >>> 16);
  w16(v & 65535);
}

/**
 * Reads a Variable Byte Integer (§1.5.5): Err.Length when it runs past the body, Err.RemainingLength when a
 * fourth byte still has its continuation bit. Non-minimal encodings are read (the minimum [MQTT-1.5.5-1] binds
 * the sender).
 */
export function rVar(): number {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 4; k++) {
    const d = r8();
    if (d < 0) return Err.Length;
    v += (d & 127) * mul;
    if (!(d & 128)) return v;
    mul *= 128;
  }
  return Err.RemainingLength;
}

/** Reads a Four Byte Integer (§1.5.3), or -1 when fewer than 4 bytes remain. */
function r32(): number {
  if (rLeft() < 4) return -1;
  const hi = r16();
  return hi * 65536 + r16();
}

// ---------------------------------------------------------------- writing

function isInt(v: unknown, min: number, max: number): boolean {
  return typeof v == "number" && v >= min && v <= max && v % 1 == 0;
}

/** Bytes one value of kind `k` takes with its identifier, or an Err (Err.Range for a value out of range). */
function valueSize(v: unknown, k: number): number {
  const t = k & 7;
  const min = k & K.NZ ? 1 : 0;
  if (t >= K.STR) return typeof v == "string" || v instanceof Uint8Array ? 1 + strSize(v) : Err.Argument;
  const max = t == K.BYTE ? 1 : t == K.U16 ? 65535 : t == K.U32 ? 4294967295 : MAX_VBI;
  if (!isInt(v, min, max)) return Err.Range;
  return 1 + (t == K.BYTE ? 1 : t == K.U16 ? 2 : t == K.U32 ? 4 : varSize(v as number));
}

/** Bytes of the User Property pairs (§3.1.2.11.8), or an Err (Err.Argument for an odd count). */
function pairsSize(v: Bytes[]): number {
  if (v.length & 1) return Err.Argument;
  let n = 0;
  for (let j = 0; j < v.length; j += 2) n += 1 + strSize(v[j]!) + strSize(v[j + 1]!);
  return n;
}

function idsSize(v: number[]): number {
  let n = 0;
  for (let j = 0; j < v.length; j++) {
    if (!isInt(v[j], 1, MAX_VBI)) return Err.Range;
    n += 1 + varSize(v[j]!);
  }
  return n;
}

/**
 * Length of the properties in `pr` (without the Property Length itself) for a packet whose bit is `where`
 * (`In`), or an Err: Err.ReservedFlag for a property not valid there (§2.2.2.2), Err.Range for a value the spec
 * does not allow, Err.Protocol for several Subscription Identifiers outside a PUBLISH, Err.Argument for a value
 * of the wrong type. Empty lists count as absent.
 */
export function propsLength(pr: Props | undefined, where: number): number {
  if (!pr) return 0;
  const o = pr as unknown as { [k: string]: unknown };
  let n = 0;
  for (let i = 0; i < COUNT; i++) {
    const v = o[NAMES[i]!];
    if (!given(v) || (i == SUBIDS || i == USER) && !(v as unknown[]).length) continue;
    if (!(WHERE[i]! & where)) return Err.ReservedFlag;
    let m: number;
    if (i == USER) m = pairsSize(v as Bytes[]);
    else if (i == SUBIDS) m = (v as number[]).length > 1 && !(where & In.PUBLISH) ? Err.Protocol : idsSize(v as number[]);
    else m = valueSize(v, KIND[i]!);
    if (m < 0) return m;
    n += m;
  }
  return n;
}

/** Size of the property block (Property Length included) of `pr` for `where`, or an Err (see propsLength). */
export function propsSize(pr: Props | undefined, where: number): number {
  const n = propsLength(pr, where);
  return n < 0 ? n : varSize(n) + n;
}

function writeValue(id: number, k: number, v: unknown): void {
  w8(id);
  if (k >= K.STR) wStr(v as Bytes);
  else if (k == K.BYTE) w8(v as number);
  else if (k == K.U16) w16(v as number);
  else if (k == K.U32) w32(v as number);
  else wVar(v as number);
}

/**
 * Writes the property block of `pr` whose length `propsLength` gave as `n` (checked there): the Property
 * Length, then each property in identifier order [MQTT-2.2.2-1] (no properties: a single 0).
 */
export function writeProps(pr: Props | undefined, n: number): void {
  wVar(n);
  if (!n || !pr) return;
  const o = pr as unknown as { [k: string]: unknown };
  for (let i = 0; i < COUNT; i++) {
    const v = o[NAMES[i]!];
    if (!given(v)) continue;
    const k = KIND[i]! & 7;
    if (i == USER || i == SUBIDS) {
      const l = v as Bytes[];
      for (let j = 0; j < l.length; j += i == USER ? 2 : 1) {
        writeValue(IDS[i]!, k, l[j]);
        if (i == USER) wStr(l[j + 1]!);
      }
    } else writeValue(IDS[i]!, k, v);
  }
}

// ---------------------------------------------------------------- reading

/** A new record for the parser (one per packet record, made once). */
export function newProps(): ParsedProps {
  return { subIds: [], userProps: [], seen_: 0 };
}

/** The packet record's properties, made once per record. */
export function propsOf(p: Packet5): ParsedProps {
  return p.props || (p.props = newProps());
}

/** Forgets the properties a previous parse left in `pr`. */
export function clearProps(pr: ParsedProps): void {
  const o = pr as unknown as { [k: string]: unknown };
  const seen = pr.seen_;
  // not `list.length = 0`: assigning an array's length throws on Espruino
  if (seen) for (let i = 0; i < COUNT; i++) if (seen & 1 << i && i != SUBIDS && i != USER) o[NAMES[i]!] = undefined;
  pr.seen_ = 0;
  while (pr.subIds.length) pr.subIds.pop();
  while (pr.userProps.length) pr.userProps.pop();
}

/** A string property, a binary one, or a User Property pair: views, checked as the kind says. */
function readBytes(pr: ParsedProps, i: number, k: number): number {
  const s = rStr(k != K.BIN);
  if (typeof s == "number") return s;
  if (k == K.PAIR) {
    const v = rStr(true); // [MQTT-1.5.7-1]
    if (typeof v == "number") return v;
    pr.userProps.push(s, v);
    return Err.Ok;
  }
  if (i == RESPONSE_TOPIC) {
    const c = checkTopic(s, 0, s.length); // [MQTT-3.3.2-14]; a topic name is not empty [MQTT-4.7.3-1]
    if (c) return c;
  }
  (pr as unknown as { [k: string]: unknown })[NAMES[i]!] = s;
  return Err.Ok;
}

/** One property: identifier (a Variable Byte Integer, §2.2.2.2), then its value. */
function readProp(pr: ParsedProps, where: number): number {
  const id = rVar();
  if (id < 0) return id;
  const i = id < 43 ? AT[id]! - 1 : -1;
  if (i < 0 || !(WHERE[i]! & where)) return Err.ReservedFlag; // §2.2.2.2: a Malformed Packet
  const bit = 1 << i;
  if (pr.seen_ & bit && i != USER && !(i == SUBIDS && where & In.PUBLISH)) return Err.Protocol;
  pr.seen_ |= bit;
  const k = KIND[i]!;
  const t = k & 7;
  if (t >= K.STR) return readBytes(pr, i, t);
  const v = t == K.BYTE ? r8() : t == K.U16 ? r16() : t == K.U32 ? r32() : rVar();
  if (v < 0) return t == K.VBI ? v : Err.Length;
  if (t == K.BYTE ? v > 1 : k & K.NZ && !v) return Err.Range;
  if (i == SUBIDS) pr.subIds.push(v);
  else (pr as unknown as { [k: string]: unknown })[NAMES[i]!] = v;
  return Err.Ok;
}

/**
 * Reads a property block (Property Length, then the properties) at the reader's position into `pr`, for a
 * packet whose bit is `where` (`In`). Returns Err.Ok or the error (see the top of this file); a block that
 * runs past the packet, or a property that runs past its block, is Err.Length.
 */
export function readProps(pr: ParsedProps, where: number): number {
  clearProps(pr);
  const len = rVar();
  if (len < 0) return len;
  const left = rLeft();
  if (len > left) return Err.Length;
  const end = left - len;
  while (rLeft() > end) {
    const e = readProp(pr, where);
    if (e) return e;
    if (rLeft() < end) return Err.Length;
  }
  return Err.Ok;
}
