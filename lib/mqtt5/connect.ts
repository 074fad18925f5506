/**
 * CONNECT [MQTT-3.1] and CONNACK [MQTT-3.2] at protocol level 5: size, encode into a caller buffer, and body
 * parsers; `parseConnectAny` takes a CONNECT of either level, for a server that speaks both.
 */
import { Err } from "../errors";
import { parseConnect } from "../mqtt/connect";
import { Bytes, T } from "../mqtt/types";
import { checkTopic } from "../mqtt/topic";
import { packetSize, r16, r8, rLeft, rStart, rStr, start, strSize, varSize, w16, w8, wStr } from "../mqtt/wire";
import { clearProps, given, newProps, propsLength, propsOf, readProps, writeProps } from "./props";
import { reasonValid } from "./reason";
import { In, Packet5, Props } from "./types";

/** What a level-5 CONNECT carries. `clean` (Clean Start) defaults to true, `keepalive` to 60 s. */
export interface Connect5Fields {
  clientId: Bytes;
  clean?: boolean;
  keepalive?: number;
  username?: Bytes;
  password?: Bytes;
  will?: Will5Fields;
  props?: Props;
}

export interface Will5Fields {
  topic: Bytes;
  payload: Bytes;
  qos?: number;
  retain?: boolean;
  /** Will Properties (§3.1.3.2). */
  props?: Props;
}

/** Protocol name "MQTT" with its length prefix [MQTT-3.1.2-1]. */
const NAME = [0, 4, 77, 81, 84, 84];

/** Remaining length of a CONNECT whose property blocks have lengths `pl` and `wl`. */
function connectLength(o: Connect5Fields, pl: number, wl: number): number {
  const w = o.will;
  return 10 + varSize(pl) + pl + strSize(o.clientId) + (w ? varSize(wl) + wl + strSize(w.topic) + strSize(w.payload) : 0) +
    (given(o.username) ? strSize(o.username!) : 0) + (given(o.password) ? strSize(o.password!) : 0);
}

/** The two property lengths of a CONNECT (packet, will), or an Err in the first. */
function connectProps(o: Connect5Fields): number[] {
  const pl = propsLength(o.props, In.CONNECT);
  const wl = o.will ? propsLength(o.will.props, In.WILL) : 0;
  return [pl < 0 ? pl : wl < 0 ? wl : pl, wl];
}

/** Size of a level-5 CONNECT, or an Err (Err.TooLarge, or a property error: see props.ts). */
export function connect5Size(o: Connect5Fields): number {
  const l = connectProps(o);
  return l[0]! < 0 ? l[0]! : packetSize(connectLength(o, l[0]!, l[1]!));
}

/**
 * Writes a CONNECT at protocol level 5 at `b[off]`. Returns its size, or Err.NoMemory (does not fit),
 * Err.TooLarge, Err.WillFlags (will QoS 3) [MQTT-3.1.2-12], Err.Argument (keepalive outside 0..65535), or a
 * property error (props.ts). A password without a user name is allowed at level 5 (§3.1.2.9). Nothing is
 * written on error.
 */
export function encodeConnect5(b: Uint8Array, off: number, o: Connect5Fields): number {
  const w = o.will;
  const ka = o.keepalive ?? 60;
  const wq = w ? w.qos ?? 0 : 0;
  if (!(wq >= 0 && wq < 3)) return Err.WillFlags;
  if (!(ka >= 0 && ka < 65536)) return Err.Argument;
  const l = connectProps(o);
  if (l[0]! < 0) return l[0]!;
  const n = start(b, off, T.CONNECT << 4, connectLength(o, l[0]!, l[1]!));
  if (n < 0) return n;
  for (let i = 0; i < 6; i++) w8(NAME[i]!);
  w8(5);
  w8((given(o.username) ? 128 : 0) | (given(o.password) ? 64 : 0) | (w ? 4 | wq << 3 | (w.retain ? 32 : 0) : 0) |
    (o.clean ?? true ? 2 : 0));
  w16(ka);
  writeProps(o.props, l[0]!);
  wStr(o.clientId);
  if (w) { writeProps(w.props, l[1]!); wStr(w.topic); wStr(w.payload); }
  if (given(o.username)) wStr(o.username!);
  if (given(o.password)) wStr(o.password!);
  return n;
}

/** Size of a level-5 CONNACK with these properties, or an Err. */
export function connack5Size(props?: Props): number {
  const pl = propsLength(props, In.CONNACK);
  return pl < 0 ? pl : packetSize(2 + varSize(pl) + pl);
}

/**
 * Writes a level-5 CONNACK: `code` a Connect Reason Code [MQTT-3.2.2-8] (else Err.ReturnCode); session
 * present forced to 0 with a non-zero code [MQTT-3.2.2-6].
 */
export function encodeConnack5(b: Uint8Array, off: number, sessionPresent: boolean, code: number, props?: Props): number {
  if (!reasonValid(T.CONNACK, code)) return Err.ReturnCode;
  const pl = propsLength(props, In.CONNACK);
  if (pl < 0) return pl;
  const n = start(b, off, T.CONNACK << 4, 2 + varSize(pl) + pl);
  if (n < 0) return n;
  w8(sessionPresent && !code ? 1 : 0);
  w8(code);
  writeProps(props, pl);
  return n;
}

function is(v: unknown): v is number {
  return typeof v == "number";
}

function sameName(v: Uint8Array): boolean {
  return v.length == 4 && v[0] == 77 && v[1] == 81 && v[2] == 84 && v[3] == 84;
}

/** The will of a CONNECT: Will Properties (§3.1.3.2), topic (UTF-8, a topic name: §3.1.3.3, [MQTT-3.3.2-2]), payload. */
function parseWill(p: Packet5): number {
  const r = readProps(p.willProps || (p.willProps = newProps()), In.WILL);
  if (r) return r;
  const t = rStr(true);
  if (is(t)) return t;
  const c = checkTopic(t, 0, t.length);
  if (c) return c;
  const m = rStr(false);
  if (is(m)) return m;
  p.willTopic = t; p.willPayload = m;
  return Err.Ok;
}

/** User name (UTF-8, §3.1.3.5) and password, as the flags say [MQTT-3.1.2-16] .. [MQTT-3.1.2-19]. */
function parseCredentials(p: Packet5, f: number): number {
  if (f & 128) {
    const u = rStr(true);
    if (is(u)) return u;
    p.username = u;
  }
  if (f & 64) {
    const pw = rStr(false);
    if (is(pw)) return pw;
    p.password = pw;
  }
  return rLeft() ? Err.Length : Err.Ok; // §3.1.3: nothing after the payload's fields
}

/**
 * Level-5 CONNECT body: protocol name "MQTT" [MQTT-3.1.2-1] and level 5 [MQTT-3.1.2-2] (else
 * Err.ProtocolName / Err.ProtocolLevel); reserved flag [MQTT-3.1.2-3]; will flags [MQTT-3.1.2-11]
 * [MQTT-3.1.2-12] [MQTT-3.1.2-13]; properties valid for a CONNECT (props.ts); UTF-8 client id [MQTT-3.1.3-4];
 * will properties, topic and payload when the will flag is set [MQTT-3.1.2-9]; user name and password as their
 * flags say (at level 5 a password may come alone, §3.1.2.9).
 */
export function parseConnect5(p: Packet5, b: Uint8Array, s: number, e: number): number {
  rStart(b, s, e);
  const name = rStr(false);
  if (is(name)) return name;
  if (!sameName(name)) return Err.ProtocolName;
  const level = r8();
  const f = r8();
  const ka = r16();
  if (ka < 0) return Err.Length;
  if (level != 5) return Err.ProtocolLevel;
  if (f & 1) return Err.ReservedFlag;
  const will = (f & 4) != 0;
  const wq = f >> 3 & 3;
  if (will ? wq == 3 : wq || f & 32) return Err.WillFlags;
  p.level = level; p.clean = (f & 2) != 0; p.keepalive = ka; p.will = will;
  p.willQos = wq; p.willRetain = (f & 32) != 0; p.username = p.password = null;
  const r = readProps(propsOf(p), In.CONNECT);
  if (r) return r;
  const id = rStr(true);
  if (is(id)) return id;
  p.clientId = id;
  if (will) {
    const w = parseWill(p);
    if (w) return w;
  } else if (p.willProps) clearProps(p.willProps);
  return parseCredentials(p, f);
}

/**
 * A CONNECT of level 5 (parseConnect5) or of any other level (lib/mqtt/connect.ts parseConnect: level 4, or
 * Err.ProtocolLevel for 3 and "MQIsdp"), for a server that takes both: it looks at the level byte only when
 * the protocol name is "MQTT".
 */
export function parseConnectAny(p: Packet5, b: Uint8Array, s: number, e: number): number {
  const level5 = e - s > 6 && b[s] == 0 && b[s + 1] == 4 && b[s + 6] == 5;
  return level5 ? parseConnect5(p, b, s, e) : parseConnect(p, b, s, e);
}

/**
 * Level-5 CONNACK body: acknowledge flags bits 7-1 reserved [MQTT-3.2.2-1]; a Connect Reason Code
 * [MQTT-3.2.2-8]; session present 0 with a non-zero code [MQTT-3.2.2-6]; properties valid for a CONNACK
 * (the Property Length is not optional here, §3.2.2.3.1); nothing after them.
 */
export function parseConnack5(p: Packet5, b: Uint8Array, s: number, e: number): number {
  rStart(b, s, e);
  const f = r8();
  const c = r8();
  if (c < 0) return Err.Length;
  if (f & 254) return Err.ReservedFlag;
  if (!reasonValid(T.CONNACK, c)) return Err.ReturnCode;
  if (f && c) return Err.SessionPresent;
  const r = readProps(propsOf(p), In.CONNACK);
  if (r) return r;
  p.sessionPresent = f == 1;
  p.code = c;
  return rLeft() ? Err.Length : Err.Ok;
}
